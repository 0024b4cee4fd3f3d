"""Delinquency by months on book, vintage curves and roll rates."""

from __future__ import annotations

import pandas as pd
import pytest

from creditfactory.data import SimulationConfig, simulate
from creditfactory.exceptions import DataError
from creditfactory.servicing import delinquency_by_mob, roll_rates, vintage_curves


@pytest.fixture(scope="module")
def toy() -> pd.DataFrame:
    # loan a: M0, M1, M2, M3; loan b: M0, M1, M0 (cured), closes
    return pd.DataFrame(
        {
            "loan_id": ["a", "a", "a", "a", "b", "b", "b"],
            "mob": [1, 2, 3, 4, 1, 2, 3],
            "dpd": [0, 30, 60, 90, 0, 30, 0],
            "bucket": ["M0", "M1", "M2", "M3", "M0", "M1", "M0"],
            "closed": [False, False, False, False, False, False, True],
        }
    )


def test_delinquency_by_mob_on_a_toy_book(toy: pd.DataFrame) -> None:
    out = delinquency_by_mob(toy)
    assert out["accounts"].tolist() == [2, 2, 2, 1]
    assert out["dpd30_rate"].tolist() == [0.0, 1.0, 0.5, 1.0]
    assert out["ever_rate"].tolist() == [0.0, 0.0, 0.0, 1.0]


def test_roll_rates_on_a_toy_book(toy: pd.DataFrame) -> None:
    rr = roll_rates(toy)
    assert rr.loc["M1", "M2"] == 0.5
    assert rr.loc["M1", "closed"] == 0.5
    assert rr.loc["M2", "M3"] == 1.0
    assert rr.loc["M0", "M1"] == 1.0


def test_missing_columns_are_named() -> None:
    with pytest.raises(DataError, match=r"missing column\(s\) \['dpd'"):
        delinquency_by_mob(pd.DataFrame({"loan_id": [], "mob": [], "bucket": []}))


def test_vintage_curves_rise_and_later_vintages_are_worse() -> None:
    book = simulate(SimulationConfig(n_applications=20_000, seed=3))
    curves = vintage_curves(book.performance, book.loans, by="Q")
    for _, row in curves.iterrows():
        values = row.dropna().to_numpy()
        assert (values[1:] >= values[:-1] - 1e-12).all()
    # the macro shock (2025-07) makes genuine loans of 2025Q2, in the downturn from their 4th
    # month on book, worse at 6 months on book than those of 2024Q2 (fraud, which defaults
    # whatever the economy and arrives in bursts, left out)
    genuine = book.loans.merge(book.truth[["application_id", "is_fraud"]])
    genuine = genuine[~genuine["is_fraud"]]
    perf = book.performance[book.performance["loan_id"].isin(genuine["loan_id"])]
    curves = vintage_curves(perf, genuine, by="Q")
    assert curves.loc["2025Q2", 6] > curves.loc["2024Q2", 6]
