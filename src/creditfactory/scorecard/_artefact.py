"""The scorecard artefact: one versioned, checksummed JSON file in a directory.

No pickles: the file holds the bins, WOE, coefficients, points, metadata and the training
distributions needed for PSI. :func:`load` refuses a file that is corrupt, tampered with or
written by a newer format version, rather than score wrongly.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import numpy as np

import creditfactory
from creditfactory._artefacts import read_artefact as _read
from creditfactory._artefacts import write_artefact
from creditfactory._schema import input_schema_of, legacy_schema
from creditfactory.exceptions import ArtefactError
from creditfactory.scorecard._binning_table import BinningTable
from creditfactory.scorecard._scorecard import Scorecard
from creditfactory.scorecard._selection import SelectionReport

__all__ = ["ARTEFACT_FILE", "FORMAT", "FORMAT_VERSION", "load", "save"]

FORMAT = "creditfactory.scorecard"
FORMAT_VERSION = 1
ARTEFACT_FILE = "scorecard.json"


def _clean(v: Any) -> Any:
    """JSON-safe copy: NumPy scalars to Python, NaN to None."""
    if isinstance(v, dict):
        return {str(k): _clean(x) for k, x in v.items()}
    if isinstance(v, list | tuple | np.ndarray):
        return [_clean(x) for x in v]
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def to_artefact_dict(sc: Scorecard) -> dict[str, Any]:
    """The artefact content (without the checksum)."""
    features = []
    for i, f in enumerate(sc.selected_features_):
        t = sc.binning_tables_[f]
        features.append(
            {
                "name": f,
                "code": sc.reason_code_of(f),
                "coefficient": float(sc.coef_[i]),
                "std_error": float(sc.bse_[i + 1]),
                "p_value": float(sc.pvalues_[i + 1]),
                "binning": t.to_dict(),
                "points": [float(p) for p in sc.bin_points_[f]],
            }
        )
    body = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "library_version": creditfactory.__version__,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "params": sc.get_params(),
        "columns": list(sc._columns),
        "fitted_on_frame": hasattr(sc, "feature_names_in_"),
        "kinds": sc.kinds_,
        "input_schema": input_schema_of(sc),
        "scaling": {
            "base_points": sc.base_points,
            "base_odds": sc.base_odds,
            "pdo": sc.pdo,
            "factor": sc.scaling.factor,
            "offset": sc.scaling.offset,
        },
        "intercept": sc.intercept_,
        "intercept_std_error": float(sc.bse_[0]),
        "intercept_p_value": float(sc.pvalues_[0]),
        "features": features,
        "candidates": {f: t.to_dict() for f, t in sc.binning_tables_.items()},
        "selection_report": sc.selection_report_.records,
        "training": {
            "column_stats": sc.column_stats_,
            "score_edges": list(sc.train_score_edges_),
            "score_counts": [int(c) for c in sc.train_score_counts_],
        },
    }
    return _clean(body)


def save(sc: Scorecard, path: str | Path) -> Path:
    """Write ``scorecard.json`` (with a SHA-256 checksum of its content) into ``path``."""
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(sc, "coef_")
    return write_artefact(Path(path) / ARTEFACT_FILE, to_artefact_dict(sc))


def read_artefact(path: str | Path) -> dict[str, Any]:
    """Read and verify an artefact file (or the directory holding it)."""
    p = Path(path)
    if p.is_dir():
        p = p / ARTEFACT_FILE
    return _read(p, FORMAT, FORMAT_VERSION, "scorecard")


def load(path: str | Path) -> Scorecard:
    """Load a scorecard saved with :meth:`Scorecard.save`; it scores identically.

    Raises
    ------
    ArtefactError
        The file is missing, corrupt, edited, or written by a newer format version.
    """
    body = read_artefact(path)
    try:
        sc = Scorecard(**body["params"])
        sc._columns = list(body["columns"])
        sc.n_features_in_ = len(sc._columns)
        if body["fitted_on_frame"]:
            sc.feature_names_in_ = np.asarray(sc._columns, dtype=object)
        sc.kinds_ = dict(body["kinds"])
        sc.binning_tables_ = {f: BinningTable.from_dict(d) for f, d in body["candidates"].items()}
        # written before the schema was recorded: inferred from the bins (see _schema)
        sc.input_schema_ = dict(body.get("input_schema") or {}) or {
            f: legacy_schema(d) for f, d in body["candidates"].items()
        }
        feats = body["features"]
        sc.selected_features_ = [d["name"] for d in feats]
        for d in feats:
            sc.binning_tables_[d["name"]] = BinningTable.from_dict(d["binning"])
        sc.intercept_ = float(body["intercept"])
        sc.coef_ = np.array([d["coefficient"] for d in feats], dtype=float)
        sc.bse_ = np.array(
            [body["intercept_std_error"], *(d["std_error"] for d in feats)], dtype=float
        )
        sc.pvalues_ = np.array(
            [body["intercept_p_value"], *(d["p_value"] for d in feats)], dtype=float
        )
        sc.classes_ = np.array([0, 1])
        sc.selection_report_ = SelectionReport(records=list(body["selection_report"]))
        sc.column_stats_ = dict(body["training"]["column_stats"])
        sc.train_score_edges_ = np.asarray(body["training"]["score_edges"], dtype=float)
        sc.train_score_counts_ = np.asarray(body["training"]["score_counts"], dtype=np.int64)
        sc._build_points()
    except (KeyError, TypeError, ValueError) as exc:
        raise ArtefactError(f"{path}: artefact content is incomplete or invalid ({exc})") from exc
    for d in feats:
        stored = np.asarray(d["points"], dtype=float)
        if stored.shape != sc.bin_points_[d["name"]].shape or not np.allclose(
            stored, sc.bin_points_[d["name"]], rtol=0, atol=1e-9
        ):
            raise ArtefactError(f"{path}: stored points of '{d['name']}' do not match its model")
    return sc
