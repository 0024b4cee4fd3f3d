"""The challenger artefact: ``challenger.json`` (metadata) + ``model.txt`` (LightGBM text)."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

import numpy as np

import creditfactory
from creditfactory._artefacts import read_artefact, write_artefact
from creditfactory._schema import legacy_schema
from creditfactory.exceptions import ArtefactError

__all__ = ["FORMAT", "FORMAT_VERSION", "load_challenger", "save_challenger"]

FORMAT = "creditfactory.challenger.lightgbm"
FORMAT_VERSION = 1
META_FILE = "challenger.json"
MODEL_FILE = "model.txt"


def save_challenger(model: Any, path: str | Path) -> Path:
    """Write the model text and its metadata (with checksums of both) into ``path``."""
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(model, "booster_")
    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    text = model.booster_.model_to_string()
    (out / MODEL_FILE).write_text(text, encoding="utf-8")
    body = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "library_version": creditfactory.__version__,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "params": model.get_params(),
        "columns": list(model._columns),
        "fitted_on_frame": hasattr(model, "feature_names_in_"),
        "kinds": model.kinds_,
        "categories": model.categories_,
        "input_schema": input_schema_of(model),
        "monotone": model.monotone_,
        "dropped": model.dropped_,
        "model_file": MODEL_FILE,
        "model_sha256": hashlib.sha256(text.encode()).hexdigest(),
    }
    return write_artefact(out / META_FILE, body)


def input_schema_of(model: Any) -> dict[str, dict[str, Any]]:
    """The type and domain of each input of a fitted challenger (its ``input_schema_``, or the
    schema inferred from its kinds and categories when it has none)."""
    return dict(getattr(model, "input_schema_", None) or _legacy(model))


def _legacy(model: Any) -> dict[str, dict[str, Any]]:
    """A challenger saved before the schema was recorded: numbers over an unknown range, and
    categories as kept at fit (``bool`` when they are exactly ``True``/``False``)."""
    out = {}
    for f, kind in model.kinds_.items():
        groups = [[c] for c in model.categories_.get(f, [])]
        out[f] = legacy_schema({"kind": kind, "groups": groups, "special_codes": []})
    return out


def load_challenger(path: str | Path) -> Any:
    """Load a challenger saved with :meth:`GBMChallenger.save`; it scores identically.

    Raises
    ------
    ArtefactError
        Missing files, corrupt or edited content, or a newer format version.
    """
    import lightgbm as lgb

    from creditfactory.models._challenger import GBMChallenger

    p = Path(path)
    meta = p / META_FILE
    body = read_artefact(meta, FORMAT, FORMAT_VERSION, "challenger")
    model_path = p / body["model_file"]
    if not model_path.exists():
        raise ArtefactError(f"{model_path}: the LightGBM model file is missing")
    text = model_path.read_text(encoding="utf-8")
    if hashlib.sha256(text.encode()).hexdigest() != body["model_sha256"]:
        raise ArtefactError(f"{model_path}: checksum mismatch; the model file is corrupt")
    try:
        m = GBMChallenger(**body["params"])
        m._columns = list(body["columns"])
        m.n_features_in_ = len(m._columns)
        if body["fitted_on_frame"]:
            m.feature_names_in_ = np.asarray(m._columns, dtype=object)
        m.kinds_ = dict(body["kinds"])
        m.categories_ = {k: list(v) for k, v in body["categories"].items()}
        m.input_schema_ = dict(body.get("input_schema") or {}) or _legacy(m)
        m.monotone_ = {k: int(v) for k, v in body["monotone"].items()}
        m.dropped_ = dict(body["dropped"])
        m.booster_ = lgb.Booster(model_str=text)
        m.classes_ = np.array([0, 1])
    except (KeyError, TypeError, ValueError, lgb.basic.LightGBMError) as exc:
        raise ArtefactError(f"{meta}: artefact content is incomplete or invalid ({exc})") from exc
    return m
