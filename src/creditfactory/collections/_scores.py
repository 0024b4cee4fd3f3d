"""Collection (C) scores: the probability that a delinquent account cures, and that it pays
anything, within the month (30 days), early-stage (M1) and late-stage (M2+) apart.

Each of the four is a :class:`creditfactory.scorecard.Scorecard` (binning, WOE, selection,
logistic regression, points) fitted on past account-months. The scorecard's "bad" is the
account *not* curing (not paying), so that a higher score is a better account, as with every
other score of the house; ``p_cure = 1 - pd``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.utils.validation import check_is_fitted

from creditfactory.collections._accounts import FEATURES
from creditfactory.decision import ModelRegistry, PointsModel
from creditfactory.exceptions import DataError
from creditfactory.scorecard import Scorecard, to_scoring_spec

STAGES: dict[str, tuple[int, int]] = {"early": (1, 1), "late": (2, 6)}
"""Stage -> the buckets (1 = M1 ... 6 = M6+) it scores."""
TARGETS: dict[str, str] = {"cure": "cured", "pay": "paid"}
"""Score -> the 0/1 outcome column it predicts."""


class CollectionScores(BaseEstimator):  # type: ignore[misc]
    """Early- and late-stage cure and payment scores.

    Parameters
    ----------
    scorecard : Scorecard, optional
        The scorecard to clone for each of the four scores (default: ``Scorecard()`` with
        ``min_bin_n_bad=10``, since late-stage samples are small).
    features : sequence of str, optional
        Characteristics to offer the scorecards (default: every one of
        :data:`creditfactory.collections.FEATURES` present in the data).

    Attributes
    ----------
    models_ : dict
        ``(stage, score)`` -> fitted :class:`Scorecard`, for stage ``early``/``late`` and score
        ``cure``/``pay``.
    features_ : list of str
    """

    def __init__(self, *, scorecard: Scorecard | None = None, features: Any = None) -> None:
        self.scorecard = scorecard
        self.features = features

    def fit(self, accounts: pd.DataFrame, y: Any = None) -> CollectionScores:
        """Fit the four scores on past account-months (:func:`account_months` rows with their
        outcomes ``cured`` and ``paid``)."""
        _check(accounts, ("bucket_number", *TARGETS.values()))
        wanted = list(self.features) if self.features is not None else list(FEATURES)
        missing = [f for f in wanted if f not in accounts.columns]
        if self.features is not None and missing:
            raise DataError(f"accounts: missing feature column(s) {missing}")
        self.features_ = [f for f in wanted if f in accounts.columns]
        base = self.scorecard if self.scorecard is not None else Scorecard(min_bin_n_bad=10)
        self.models_: dict[tuple[str, str], Scorecard] = {}
        for stage, rows in _stage_rows(accounts).items():
            for score, target in TARGETS.items():
                y_bad = 1 - accounts[target].to_numpy()[rows]
                if len(rows) < 200 or min(y_bad.sum(), len(rows) - y_bad.sum()) < 20:
                    raise DataError(
                        f"accounts: too few {stage}-stage account-months to fit the {score} "
                        f"score ({len(rows)} rows, {int(y_bad.sum())} without a {score}); "
                        "give a longer history"
                    )
                x = accounts.iloc[rows][self.features_].reset_index(drop=True)
                # a column constant within the stage (the bucket, early) tells it nothing
                x = x.loc[:, x.nunique(dropna=False) > 1]
                model = clone(base)
                model.fit(x, y_bad)
                self.models_[(stage, score)] = model
        return self

    def predict(self, accounts: pd.DataFrame) -> pd.DataFrame:
        """``cure_score`` (points, higher = more likely to cure), ``p_cure``, ``pay_score`` and
        ``p_pay`` of each account-month, by its stage's models; row-aligned with ``accounts``.
        """
        check_is_fitted(self, "models_")
        _check(accounts, ("bucket_number", *self.features_))
        out = pd.DataFrame(
            index=accounts.index,
            data={
                "cure_score": np.nan,
                "p_cure": np.nan,
                "pay_score": np.nan,
                "p_pay": np.nan,
            },
        )
        for stage, rows in _stage_rows(accounts).items():
            if len(rows) == 0:
                continue
            x = accounts.iloc[rows][self.features_].reset_index(drop=True)
            for score in TARGETS:
                model = self.models_[(stage, score)]
                out.iloc[rows, out.columns.get_loc(f"{score}_score")] = model.predict_points(x)
                p_bad = model.predict_proba(x)[:, 1]
                out.iloc[rows, out.columns.get_loc(f"p_{score}")] = 1.0 - p_bad
        # paying anything includes curing: keep the two estimates coherent
        out["p_pay"] = np.maximum(out["p_pay"], out["p_cure"])
        return out

    def registry(self, version: str = "1") -> ModelRegistry:
        """The four scores as decision models (``collection_<score>_<stage>``), for a strategy
        that calls them in ``model`` steps."""
        check_is_fitted(self, "models_")
        return ModelRegistry(
            [
                PointsModel(f"collection_{score}_{stage}", version, to_scoring_spec(model))
                for (stage, score), model in self.models_.items()
            ]
        )


def _stage_rows(accounts: pd.DataFrame) -> dict[str, np.ndarray]:
    b = accounts["bucket_number"].to_numpy()
    return {s: np.flatnonzero((b >= lo) & (b <= hi)) for s, (lo, hi) in STAGES.items()}


def _check(frame: object, columns: tuple[str, ...]) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"accounts: expected a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"accounts: missing column(s) {missing}")
