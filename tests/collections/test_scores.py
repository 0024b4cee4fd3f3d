"""Collection scores: discriminating and calibrated out of time, and the same as decision models."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from creditfactory.collections import CollectionScores, account_months
from creditfactory.data import Portfolio
from creditfactory.exceptions import DataError


@pytest.fixture(scope="module")
def split(
    accounts: pd.DataFrame, scores: CollectionScores
) -> tuple[pd.DataFrame, pd.DataFrame, CollectionScores]:
    """The session's scores, fitted on the months before the last six; those six held out."""
    cut = sorted(accounts["month"].unique())[-6]
    train = accounts[accounts["month"] < cut]
    test = accounts[accounts["month"] >= cut].reset_index(drop=True)
    return train, test, scores


def test_late_stage_scores_rank_out_of_time(split: tuple) -> None:
    _, test, scores = split
    pred = scores.predict(test)
    late = test["bucket_number"] >= 2
    # cures after M2 depend on the bucket, the amount and the borrower: a real ranking
    assert roc_auc_score(test.loc[late, "cured"], pred.loc[late, "p_cure"]) > 0.7
    assert roc_auc_score(test.loc[late, "paid"], pred.loc[late, "p_pay"]) > 0.6
    # early cures are mostly the payer's type, which nothing observed reveals well
    early = ~late
    assert roc_auc_score(test.loc[early, "cured"], pred.loc[early, "p_cure"]) > 0.5


def test_scores_are_calibrated_by_bucket(split: tuple) -> None:
    _, test, scores = split
    pred = scores.predict(test)
    for bucket, rows in test.groupby("bucket").groups.items():
        n = len(rows)
        if n < 100:
            continue
        observed = test.loc[rows, "cured"].mean()
        expected = pred.loc[rows, "p_cure"].mean()
        # the months after the fit are a little worse (the shock's drift): within 4 s.e. + 5 pts
        se = np.sqrt(expected * (1 - expected) / n)
        assert abs(observed - expected) < 4 * se + 0.05, bucket
    assert (pred["p_pay"] >= pred["p_cure"]).all()


def test_registry_models_score_like_the_scorecards(split: tuple) -> None:
    _, test, scores = split
    registry = scores.registry()
    model = registry.get("collection_cure_late", "1")
    late = test[test["bucket_number"] >= 2].reset_index(drop=True).head(50)
    import polars as pl

    wanted = list(model.features)
    frame = pl.from_pandas(late[wanted])
    points = model.score_frame(frame, 0)["score"].to_numpy()
    direct = scores.models_[("late", "cure")].predict_points(late[wanted])
    assert np.allclose(points, direct, atol=1e-6)


def test_too_little_history_is_refused(book: Portfolio) -> None:
    acc = account_months(book)
    tiny = acc[acc["month"] == acc["month"].min()]
    with pytest.raises(DataError, match="too few early-stage account-months"):
        CollectionScores().fit(tiny)
    with pytest.raises(DataError, match=r"missing column\(s\) \['cured'\]"):
        CollectionScores().fit(acc.drop(columns=["cured"]))
