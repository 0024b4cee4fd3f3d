"""Selection and pricing effects valued with the twin's offer oracle and the lifetime model."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from creditfactory.data import SimulationConfig, offer_outcomes, simulate
from creditfactory.decision import selection_and_pricing
from creditfactory.pricing import DEFAULT_ECONOMICS, loan_value


@pytest.fixture(scope="module")
def book():
    return simulate(SimulationConfig(n_applications=4_000, seed=12))


def approvals(book) -> pd.DataFrame:
    inc = book.incumbent_decisions
    inc = inc[inc["decision"] == "approve"]
    return pd.DataFrame(
        {
            "application_id": inc["application_id"].to_numpy(),
            "amount": inc["amount_approved"].to_numpy(float),
            "term": inc["term"].to_numpy(np.int64),
        }
    )


def test_cells_are_the_oracle_valued_with_the_lifetime_model(book) -> None:
    sel = approvals(book)
    low = lambda s: np.full(len(s), 0.10)  # noqa: E731
    high = lambda s: np.full(len(s), 0.40)  # noqa: E731  (capped at 24%)
    out = selection_and_pricing(book, {"inc": sel}, {"low": low, "high": high})
    rows = {r["pricing"]: r for r in out.iter_rows(named=True)}
    for name, apr in (("low", 0.10), ("high", 0.24)):
        offers = sel.assign(apr=apr)
        truth = offer_outcomes(book, offers)
        per_loan = dataclasses.replace(DEFAULT_ECONOMICS, cost_per_application=0.0)
        npv = loan_value(sel["amount"].to_numpy(), apr, sel["term"].to_numpy(float),
                         truth["pd_12m"].to_numpy(), per_loan).npv  # fmt: skip
        take = truth["take_up"].to_numpy()
        r = rows[name]
        assert r["approved"] == len(sel)
        assert r["expected_loans"] == pytest.approx(take.sum())
        assert r["mean_apr"] == pytest.approx(apr)
        assert r["bad_rate"] == pytest.approx((take * truth["pd_12m"]).sum() / take.sum())
        expected = (take * npv).sum() - 30.0 * len(book.applications)
        assert r["expected_profit"] == pytest.approx(expected)
    # the twin's take-up falls with the price, and dearer loans default more
    assert rows["high"]["expected_loans"] < rows["low"]["expected_loans"]
    assert rows["high"]["bad_rate"] > rows["low"]["bad_rate"]


def test_unpriced_rows_are_not_lent(book) -> None:
    sel = approvals(book)
    half = lambda s: np.where(np.arange(len(s)) % 2 == 0, 0.15, np.nan)  # noqa: E731
    out = selection_and_pricing(book, {"inc": sel}, {"half": half}).row(0, named=True)
    assert out["priced"] == (len(sel) + 1) // 2
