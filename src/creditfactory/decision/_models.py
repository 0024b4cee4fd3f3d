"""What a ``model`` step needs from a model, one fast model kind, and a registry by name/version.

A decision model scores one row (online) and a frame (batch) and gives, for each row, a score
(higher = safer), a probability of bad and its reason codes (costliest first). Any object with
the attributes and methods of :class:`DecisionModel` works; :class:`PointsModel` evaluates a
points-based scorecard spec (``creditfactory.scoring_spec`` format, as written by
``creditfactory.scorecard.to_scoring_spec``) in pure Python per row and in NumPy per frame.
"""

from __future__ import annotations

import json
import math
from bisect import bisect_right
from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import polars as pl
import pyarrow as pa

from creditfactory._schema import TYPES, legacy_schema, value_key
from creditfactory.decision._domain import PL_TYPES, Domain
from creditfactory.exceptions import ArtefactError

SPEC_FORMAT = "creditfactory.scoring_spec"


@runtime_checkable
class DecisionModel(Protocol):
    """The protocol of a model usable in a strategy's ``model`` step."""

    name: str
    version: str

    @property
    def features(self) -> dict[str, str]:
        """Input name -> kind wanted (``"numeric"`` or ``"categorical"``)."""
        ...

    # Optional, used when present: ``input_schema`` (input -> the schema of
    # ``creditfactory.scorecard.column_schema``: type, categories, range seen), against which
    # the loader checks declarations, and ``domain`` (a :class:`Domain`), with which the model
    # step counts unseen values and applies the strategy's ``unseen`` policy.

    def score_row(self, row: Mapping[str, Any], n_reasons: int) -> tuple[float, float, list[str]]:
        """``(score, probability of bad, reason codes)`` of one row (``None`` = missing)."""
        ...

    def score_frame(self, frame: pl.DataFrame, n_reasons: int) -> pl.DataFrame:
        """Columns ``score`` (f64), ``pd`` (f64), ``reasons`` (list[str]), one row per input."""
        ...


class PointsModel:
    """A points scorecard evaluated from its scoring spec.

    Each characteristic contributes the points of the bin its value falls in: numeric values go
    to the first bin whose upper edge exceeds them, categorical values to their group (a value
    is looked up as the type the model was fitted on says: ``True`` is the group of ``"True"``);
    missing values and unseen categories take the missing points; declared special values take
    theirs. A characteristic's ``input`` (its schema) is inferred from its bins when the spec
    has none (see ``creditfactory.scorecard.legacy_schema``).
    ``pd = 1 / (1 + exp((score - offset) / factor))``. Reason codes are the characteristics that
    lose most points against their best bin (ties in characteristic order).

    Examples
    --------
    >>> spec = {"format": "creditfactory.scoring_spec", "format_version": 1,
    ...         "scaling": {"factor": 28.85, "offset": 487.1},
    ...         "characteristics": [{"name": "age", "kind": "numerical", "code": "R001",
    ...             "missing_points": 10.0, "special": [], "upper_edges": [25.0, 40.0],
    ...             "points": [20.0, 40.0, 60.0]}]}
    >>> m = PointsModel("tiny", "1", spec)
    >>> m.score_row({"age": 30}, 4)[0], m.score_row({"age": 30}, 4)[2]
    (40.0, ['R001'])
    """

    def __init__(self, name: str, version: str, spec: Mapping[str, Any]):
        if spec.get("format") != SPEC_FORMAT:
            raise ArtefactError(
                f"model {name!r}: not a {SPEC_FORMAT} (format={spec.get('format')!r})"
            )
        self.name, self.version = name, str(version)
        self.factor = float(spec["scaling"]["factor"])
        self.offset = float(spec["scaling"]["offset"])
        self._chars: list[tuple[Any, ...]] = []
        self.input_schema: dict[str, dict[str, Any]] = {}
        for c in spec["characteristics"]:
            schema = _input_schema(name, c)
            self.input_schema[c["name"]] = schema
            pts = [float(p) for p in c["points"]]
            special = {s["value"]: float(s["points"]) for s in c.get("special", [])}
            missing = float(c["missing_points"])
            # the reference reason codes measure against: the spec's (the best points among
            # bins that held training data) when it says, else the best bin of all
            best = float(c.get("best_points", max([*pts, missing, *special.values()])))
            if c["kind"] == "numerical":
                table: Any = [float(e) for e in c["upper_edges"]]
            else:
                # keyed by the typed value (True, 5, "own"): what a strategy input holds
                typed = ((value_key(schema["type"], str(v)), i) for i, g in enumerate(c["groups"])
                         for v in g)  # fmt: skip
                table = {v: i for v, i in typed if v is not None}
            self._chars.append(
                (c["name"], c["kind"] == "numerical", table, pts, missing, special, best, c["code"])
            )
        self._codes = [c[7] for c in self._chars]
        self._dtypes = [PL_TYPES[self.input_schema[c[0]]["type"]] for c in self._chars]
        self.domain = Domain(
            {n: s["type"] for n, s in self.input_schema.items()},
            {c[0]: [str(v) for v in c[2]] for c in self._chars if not c[1]},
        )
        #: reason code -> characteristic name (for explanations)
        self.reason_texts = {c[7]: c[0] for c in self._chars}
        # the per-row path maps categories straight to points
        self._row_chars = [
            (n, num, t if num else {v: pts[i] for v, i in t.items()}, pts, miss, sp, b, code)
            for n, num, t, pts, miss, sp, b, code in self._chars
        ]

    @property
    def features(self) -> dict[str, str]:
        return {c[0]: "numeric" if c[1] else "categorical" for c in self._chars}

    def score_row(
        self, row: Mapping[str, Any], n_reasons: int = 4
    ) -> tuple[float, float, list[str]]:
        score = 0.0
        lost = []
        get = row.get
        for name, numeric, table, pts, missing, special, best, _ in self._row_chars:
            v = get(name)
            if v is None:
                p = missing
            elif special and v in special:
                p = special[v]
            elif numeric:
                p = pts[bisect_right(table, v)] if v == v else missing
            else:
                p = table.get(v, missing)  # categorical: value -> points, unseen -> missing
            score += p
            lost.append(best - p)
        z = (score - self.offset) / self.factor
        pd_ = 1.0 / (1.0 + math.exp(z)) if z < 700 else 0.0
        if not n_reasons:
            return score, pd_, []
        # a stable sort, descending: ties keep the characteristics' order (as the scorecard does)
        order = sorted(range(len(lost)), key=lost.__getitem__, reverse=True)[:n_reasons]
        codes = self._codes
        return score, pd_, [codes[j] for j in order if lost[j] > 1e-9]

    def points_of(self, row: Mapping[str, Any]) -> list[tuple[str, str, float, float]]:
        """``(code, characteristic, points, best points)`` of each characteristic for one row,
        as :meth:`score_row` scores it (their sum is the score): what a reason code cost.

        >>> spec = {"format": "creditfactory.scoring_spec", "format_version": 1,
        ...         "scaling": {"factor": 28.85, "offset": 487.1},
        ...         "characteristics": [{"name": "age", "kind": "numerical", "code": "R001",
        ...             "missing_points": 10.0, "special": [], "upper_edges": [25.0, 40.0],
        ...             "points": [20.0, 40.0, 60.0]}]}
        >>> PointsModel("tiny", "1", spec).points_of({"age": 30})
        [('R001', 'age', 40.0, 60.0)]
        """
        out = []
        for name, numeric, table, pts, missing, special, best, code in self._row_chars:
            v = row.get(name)
            if v is None:
                p = missing
            elif special and v in special:
                p = special[v]
            elif numeric:
                p = pts[bisect_right(table, v)] if v == v else missing
            else:
                p = table.get(v, missing)
            out.append((code, name, p, best))
        return out

    def score_frame(self, frame: pl.DataFrame, n_reasons: int = 4) -> pl.DataFrame:
        n, k = frame.height, len(self._chars)
        pts = np.empty((n, k), order="F")  # filled and summed by column
        for j, (name, _, table, p, missing, special, _, _) in enumerate(self._chars):
            pts[:, j] = self._column_points(
                frame[name], table, p, missing, special, self._dtypes[j]
            )
        score = np.zeros(n)
        for j in range(k):  # sequential sum, bit-identical to the per-row path
            score += pts[:, j]
        z = (score - self.offset) / self.factor
        with np.errstate(over="ignore"):
            pd_ = 1.0 / (1.0 + np.exp(z))
        if n_reasons and n:
            lost = np.asarray([c[6] for c in self._chars])[None, :] - pts
            order = np.argsort(-lost, axis=1, kind="stable")[:, :n_reasons]
            keep = np.take_along_axis(lost, order, axis=1) > 1e-9
            flat = order[keep]
            counts = keep.sum(axis=1)
        else:
            flat, counts = np.zeros(0, dtype=np.int64), np.zeros(n, dtype=np.int64)
        # codes travel as indices and become text in one gather (no Python strings per row)
        values = pl.Series(self._codes, dtype=pl.String).gather(flat.astype(np.int64))
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        reasons = pa.LargeListArray.from_arrays(offsets, values.to_arrow().cast(pa.large_string()))
        return pl.DataFrame({"score": score, "pd": pd_, "reasons": pl.Series(values=reasons)})

    @staticmethod
    def _column_points(
        s: pl.Series,
        table: list[float] | dict[Hashable, int],  # upper edges (numeric), or value -> bin
        pts: list[float],
        missing: float,
        special: dict[Hashable, float],
        dtype: type[pl.DataType] = pl.String,
    ) -> np.ndarray:
        if isinstance(table, list):  # numeric (the constructor makes a list iff numerical)
            # null and NaN become NaN, which sorts past every edge: a valid index whose points
            # are then replaced by the missing points
            x = s.cast(pl.Float64).to_numpy()
            out = np.asarray(pts, dtype=float)[np.searchsorted(np.asarray(table), x, "right")]
            nan = np.isnan(x)
            if nan.any():
                out = np.where(nan, missing, out)
        else:  # value -> its bin's points in one pass; unseen values and null -> missing
            values = list(table)
            points = [float(pts[table[v]]) for v in values]
            out = (
                s.cast(dtype, strict=False)  # the type the model was fitted on: True, not "true"
                .replace_strict(
                    pl.Series(values, dtype=dtype),
                    points,
                    default=missing,
                    return_dtype=pl.Float64,
                )
                .fill_null(missing)
                .to_numpy()
            )
        if special:
            out = np.array(out, dtype=float)  # writable
            for value, p in special.items():
                out[(s == value).fill_null(False).to_numpy()] = p
        return out


def _input_schema(model: str, c: Mapping[str, Any]) -> dict[str, Any]:
    """A characteristic's recorded input schema, checked, or the one its bins imply."""
    schema = c.get("input")
    if schema is None:
        return legacy_schema(c)
    kind = c["kind"]
    allowed = ("int", "float", "bool") if kind == "numerical" else TYPES
    if (
        not isinstance(schema, Mapping)
        or schema.get("type") not in allowed
        or schema.get("kind", kind) != kind
    ):
        raise ArtefactError(
            f"model {model!r}: characteristic {c.get('name')!r}: input must give a type "
            f"({', '.join(allowed)}) and the kind {kind!r}"
        )
    return {**schema, "kind": kind}


class ModelRegistry:
    """Models by ``(name, version)``; strategies resolve their ``models:`` section here.

    >>> reg = ModelRegistry()
    >>> ("tiny", "1") in reg
    False
    """

    def __init__(self, models: Sequence[DecisionModel] = ()):
        self._models: dict[tuple[str, str], DecisionModel] = {}
        for m in models:
            self.register(m)

    def register(self, model: DecisionModel) -> DecisionModel:
        """Add ``model`` under its own name and version (replacing an older entry)."""
        if not isinstance(model, DecisionModel):
            raise ArtefactError(f"{model!r} does not satisfy the DecisionModel protocol")
        self._models[(model.name, str(model.version))] = model
        return model

    def get(self, name: str, version: str) -> DecisionModel:
        try:
            return self._models[(name, str(version))]
        except KeyError:
            have = ", ".join(f"{n}@{v}" for n, v in sorted(self._models)) or "none"
            raise ArtefactError(
                f"model {name}@{version} is not registered (have: {have})"
            ) from None

    def __contains__(self, key: tuple[str, str]) -> bool:
        return (key[0], str(key[1])) in self._models

    def __len__(self) -> int:
        return len(self._models)


def load_model(path: str | Path, name: str, version: str) -> DecisionModel:
    """Load a model artefact from a directory (a scorecard or a challenger) or a scoring spec.

    A directory holding ``scorecard.json`` is read with ``creditfactory.scorecard.load`` and
    turned into its scoring spec (a fast :class:`PointsModel`); one holding ``challenger.json``
    with ``creditfactory.models.load_challenger`` (an ``EstimatorModel``); a ``.json`` file must
    be a scoring spec.
    """
    path = Path(path)
    if path.is_dir() and (path / "challenger.json").exists():
        from creditfactory.decision._estimator import EstimatorModel
        from creditfactory.models import load_challenger

        return EstimatorModel(name, version, load_challenger(path))
    if path.is_dir() and (path / "scorecard.json").exists():
        from creditfactory.scorecard import load, to_scoring_spec

        return PointsModel(name, version, to_scoring_spec(load(path)))
    if path.is_file():
        try:
            spec = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ArtefactError(f"model {name}@{version}: cannot read {path}: {exc}") from exc
        return PointsModel(name, version, spec)
    raise ArtefactError(f"model {name}@{version}: no artefact at {path}")
