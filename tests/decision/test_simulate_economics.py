"""Simulation economics checked by hand on a two-loan book."""

from __future__ import annotations

import pandas as pd
import pytest

from creditfactory.decision import Strategy
from creditfactory.pricing import expected_profit

TEXT = """
strategy: flat
version: "1"
inputs: {application_id: str, amount_requested: float, channel: str}
flow:
  - assign: {set: {limit: "10000", apr: "0.18", term: "12"}}
"""


def test_two_loans_by_hand() -> None:
    s = Strategy.from_yaml(TEXT)
    history = pd.DataFrame(
        {
            "application_id": ["a", "b"],
            "amount_requested": [20_000.0, 5_000.0],  # a is capped at the 10,000 limit
            "channel": ["app", "app"],
            "bad": [0, 1],
        }
    )
    report = s.simulate(history, lgd=0.8, cost_of_funds=0.04, operating_cost=0.03)
    total = report.summary.filter(report.summary["segment"] == "total").row(0, named=True)
    years = (13 / 24) * 12 / 12
    assert total["exposure"] == pytest.approx(15_000.0)
    assert total["revenue"] == pytest.approx(10_000 * 0.18 * years)  # the bad loan earns nothing
    assert total["realised_loss"] == pytest.approx(0.8 * 5_000)
    carry = 15_000 * 0.07 * years
    assert total["profit"] == pytest.approx(10_000 * 0.18 * years - carry - 4_000)
    # the same as pricing.expected_profit with the realised outcome as the probability
    by_loan = expected_profit(10_000.0, 0.18, 12, 0.0, 0.8, 0.04, 0.03) + expected_profit(
        5_000.0, 0.18, 12, 1.0, 0.8, 0.04, 0.03
    )
    assert total["profit"] == pytest.approx(by_loan)
    assert total["bad_rate_true"] == pytest.approx(0.5)
    assert total["approval_rate"] == 1.0
