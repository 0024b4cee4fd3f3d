"""Any fitted frame-scoring estimator as a decision model (e.g. the GBM challenger).

The estimator needs ``predict_proba(X)`` (column 1 = bad), ``predict_points(X)``,
``reason_codes(X, n)`` (the long layout of ``Scorecard.reason_codes``: ``row``, ``rank``,
``code``) and ``kinds_`` (column -> ``"numerical"`` or ``"categorical"``). Online it scores a
one-row pandas frame, so it is far slower than :class:`PointsModel` (milliseconds, not
microseconds); batch scores the whole frame at once.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import polars as pl

from creditfactory._schema import legacy_schema
from creditfactory.decision._batch_lists import empty_lists
from creditfactory.decision._domain import Domain


def _categories(estimator: Any, feature: str) -> list[str]:
    """The category texts the estimator can place (its ``categories_``, or its bins' groups)."""
    cats = getattr(estimator, "categories_", None)
    if isinstance(cats, Mapping) and feature in cats:
        return [str(c) for c in cats[feature]]
    tables = getattr(estimator, "binning_tables_", None)
    if isinstance(tables, Mapping) and feature in tables:
        return [str(c) for g in tables[feature].groups for c in g]
    return []


def _schema_of(estimator: Any, kinds: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """The estimator's ``input_schema_``, or one inferred from its kinds and categories."""
    recorded = getattr(estimator, "input_schema_", None) or {}
    out = {}
    for f, kind in kinds.items():
        groups = [[c] for c in _categories(estimator, f)]
        out[f] = dict(recorded.get(f) or legacy_schema({"kind": kind, "groups": groups}))
    return out


class EstimatorModel:
    """Adapt a fitted estimator (``GBMChallenger``, ``Scorecard`` ...) to ``DecisionModel``."""

    def __init__(self, name: str, version: str, estimator: Any):
        self.name, self.version = name, str(version)
        self.estimator = estimator
        kinds = getattr(estimator, "kinds_", None)
        if not isinstance(kinds, Mapping):
            raise TypeError(f"model {name!r}: the estimator has no kinds_ (is it fitted?)")
        self._features = {
            f: "numeric" if k == "numerical" else "categorical" for f, k in kinds.items()
        }
        self.reason_texts = {estimator.reason_code_of(f): f for f in self._features}
        self.input_schema = _schema_of(estimator, kinds)
        self.domain = Domain(
            {f: sc["type"] for f, sc in self.input_schema.items()},
            {f: _categories(estimator, f) for f, k in kinds.items() if k == "categorical"},
        )

    @property
    def features(self) -> dict[str, str]:
        return dict(self._features)

    def _score(self, frame: pd.DataFrame, n: int) -> tuple[np.ndarray, np.ndarray, list[list[str]]]:
        with warnings.catch_warnings():
            # unseen categories score as missing, by design; one warning per decision is noise
            warnings.filterwarnings("ignore", message="unseen categories")
            points = np.asarray(self.estimator.predict_points(frame), dtype=float)
            pd_ = np.asarray(self.estimator.predict_proba(frame), dtype=float)[:, 1]
            reasons: list[list[str]] = [[] for _ in range(len(frame))]
            if n:
                long = self.estimator.reason_codes(frame, n=n)
                for row, code in zip(long["row"].to_numpy(), long["code"].to_numpy(), strict=True):
                    reasons[int(row)].append(str(code))
        return points, pd_, reasons

    def score_row(
        self, row: Mapping[str, Any], n_reasons: int = 4
    ) -> tuple[float, float, list[str]]:
        frame = pd.DataFrame({f: [row.get(f)] for f in self._features})
        points, pd_, reasons = self._score(frame, n_reasons)
        return float(points[0]), float(pd_[0]), reasons[0]

    def score_frame(self, frame: pl.DataFrame, n_reasons: int = 4) -> pl.DataFrame:
        pdf = frame.select(list(self._features)).to_pandas()
        points, pd_, reasons = self._score(pdf, n_reasons)
        col = (
            pl.Series("reasons", reasons, dtype=pl.List(pl.String))
            if n_reasons
            else empty_lists(len(pdf), "reasons")
        )
        return pl.DataFrame({"score": points, "pd": pd_, "reasons": col})
