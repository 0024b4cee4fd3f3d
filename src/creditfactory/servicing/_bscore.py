"""The behaviour score (B-score): a scorecard on behaviour features, judged out of time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from creditfactory.exceptions import ConfigError
from creditfactory.scorecard import Scorecard, auc, gini, ks
from creditfactory.servicing._behaviour import _timestamp, behaviour_dataset

# identifiers and the outcome: never characteristics
_NOT_FEATURES = ("loan_id", "as_of", "bad", "customer_id")


@dataclass(frozen=True)
class BehaviourScore:
    """A fitted B-score and how it did in time and out of time.

    Attributes
    ----------
    scorecard : the fitted :class:`creditfactory.scorecard.Scorecard` (points: higher = safer).
    horizon : months ahead the score predicts 90+ DPD or charge-off.
    train_as_of, test_as_of : the snapshot dates it was fitted and tested on.
    strictly_out_of_time : every test date is at least ``horizon`` months after the last
        training date, so the model could have been built, outcomes known, by the first test
        date.
    metrics : per sample (``train``, ``test``) and date: rows, bads, bad rate, AUC, Gini, KS.
    train, test : the datasets (features, ``bad``, ``b_score``, ``b_pd``).
    """

    scorecard: Scorecard
    horizon: int
    train_as_of: tuple[pd.Timestamp, ...]
    test_as_of: tuple[pd.Timestamp, ...]
    strictly_out_of_time: bool
    metrics: pd.DataFrame
    train: pd.DataFrame
    test: pd.DataFrame

    def score(self, features: pd.DataFrame) -> pd.DataFrame:
        """``b_score`` (points) and ``b_pd`` (probability of 90+ within the horizon) for
        behaviour features (:func:`behaviour_features`), in their order."""
        X = features[list(self.scorecard.feature_names_in_)]
        return pd.DataFrame(
            {
                "b_score": self.scorecard.predict_points(X),
                "b_pd": self.scorecard.predict_proba(X)[:, 1],
            },
            index=features.index,
        )


def _metrics(sample: str, frame: pd.DataFrame) -> list[dict[str, Any]]:
    rows = []
    groups = [("all", frame), *((str(d.date()), g) for d, g in frame.groupby("as_of"))]
    for label, g in groups:
        y = g["bad"].to_numpy(int)
        p = g["b_pd"].to_numpy(float)
        both = 0 < y.sum() < len(y)
        rows.append(
            {
                "sample": sample,
                "as_of": label,
                "rows": len(g),
                "bads": int(y.sum()),
                "bad_rate": float(y.mean()) if len(y) else np.nan,
                "auc": auc(y, p) if both else np.nan,
                "gini": gini(y, p) if both else np.nan,
                "ks": ks(y, p) if both else np.nan,
            }
        )
    return rows


def fit_behaviour_score(
    performance: pd.DataFrame,
    loans: pd.DataFrame,
    train_as_of: Sequence[object],
    test_as_of: Sequence[object],
    horizon: int = 12,
    **scorecard_params: Any,
) -> BehaviourScore:
    """Fit a B-score on behaviour snapshots at ``train_as_of`` and test it on later ones.

    The target is 90+ DPD or charge-off within ``horizon`` months of each snapshot (loans
    already 90+ are left out). Every test date must come after every training date (else a
    ``ConfigError``): a B-score judged on the months it was fitted on flatters itself.
    ``strictly_out_of_time`` says whether the test dates are also at least ``horizon`` months
    later, so that none of the training outcomes had yet to happen at a test date.
    ``scorecard_params`` go to :class:`creditfactory.scorecard.Scorecard` (default: its
    defaults; text columns such as ``product`` are binned as categories).
    """
    train_dates = tuple(_timestamp(d, "train_as_of") for d in train_as_of)
    test_dates = tuple(_timestamp(d, "test_as_of") for d in test_as_of)
    if not train_dates or not test_dates:
        raise ConfigError("train_as_of, test_as_of: give at least one date each")
    if min(test_dates) <= max(train_dates):
        raise ConfigError(
            f"test_as_of: {min(test_dates).date()} is not after the last training date "
            f"{max(train_dates).date()}: test a B-score out of time"
        )
    train = behaviour_dataset(performance, loans, train_dates, horizon)
    test = behaviour_dataset(performance, loans, test_dates, horizon)
    features = [c for c in train.columns if c not in _NOT_FEATURES]
    sc = Scorecard(**scorecard_params)
    sc.fit(train[features], train["bad"].to_numpy(int))
    for frame in (train, test):
        frame["b_score"] = sc.predict_points(frame[features])
        frame["b_pd"] = sc.predict_proba(frame[features])[:, 1]
    lag = pd.DateOffset(months=horizon)
    metrics = pd.DataFrame([*_metrics("train", train), *_metrics("test", test)])
    return BehaviourScore(
        scorecard=sc,
        horizon=horizon,
        train_as_of=train_dates,
        test_as_of=test_dates,
        strictly_out_of_time=bool(min(test_dates) >= max(train_dates) + lag),
        metrics=metrics,
        train=train,
        test=test,
    )
