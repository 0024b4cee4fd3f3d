"""Simulation economics checked on a small book against the lifetime model loan by loan."""

from __future__ import annotations

import pandas as pd
import pytest

from creditfactory.decision import Strategy
from creditfactory.pricing import LoanEconomics, loan_value

TEXT = """
strategy: flat
version: "1"
inputs: {application_id: str, amount_requested: float, channel: str}
flow:
  - assign: {set: {limit: "10000", apr: "0.18", term: "12"}}
"""

ECO = LoanEconomics(lgd=0.8, cost_per_application=25.0)


def test_three_loans_by_hand() -> None:
    s = Strategy.from_yaml(TEXT)
    history = pd.DataFrame(
        {
            "application_id": ["a", "b", "c"],
            "amount_requested": [20_000.0, 5_000.0, 8_000.0],  # a is capped at the 10,000 limit
            "channel": ["app", "app", "web"],
            "bad": [0, 1, 0],
            "pd_true": [0.02, 0.3, 0.1],
        }
    )
    report = s.simulate(history, economics=ECO)
    total = report.summary.filter(report.summary["segment"] == "total").row(0, named=True)
    no_acq = LoanEconomics(lgd=0.8, cost_per_application=0.0)
    va = loan_value(10_000.0, 0.18, 12, 0.02, no_acq)
    vb = loan_value(5_000.0, 0.18, 12, 0.3, no_acq)
    vc = loan_value(8_000.0, 0.18, 12, 0.1, no_acq)
    assert total["exposure"] == pytest.approx(23_000.0)
    # a bad loan is worth its NPV given a default (it paid instalments first), a good one its
    # NPV given none; every application costs 25 CNY whether approved or not
    profit = va.value_if_good + vb.value_if_bad + vc.value_if_good - 3 * 25.0
    assert total["profit"] == pytest.approx(profit)
    # the loss is lgd x the exposure at default, below lgd x the amount lent
    assert total["realised_loss"] == pytest.approx(0.8 * vb.ead_if_bad)
    assert 0.8 * vb.ead_if_bad < 0.8 * 5_000.0
    assert total["expected_loss_true"] == pytest.approx(
        va.expected_loss + vb.expected_loss + vc.expected_loss
    )
    assert total["expected_profit_true"] == pytest.approx(va.npv + vb.npv + vc.npv - 75.0)
    assert total["expected_loss_model"] is None  # the strategy has no model PD
    assert vb.value_if_bad < 0 < va.value_if_good
    assert total["bad_rate_true"] == pytest.approx(1 / 3)
    assert total["approval_rate"] == 1.0
    by_seg = report.summary.filter(report.summary["segment"] != "total")
    assert by_seg["profit"].sum() == pytest.approx(total["profit"])


def test_expected_and_realised_profit_agree_on_average() -> None:
    """Over many loans with outcomes drawn at pd_true, the realised profit converges to the
    expected one (the conditional values are consistent with the lifetime NPV)."""
    import numpy as np

    rng = np.random.default_rng(3)
    n = 20_000
    pd_true = rng.uniform(0.01, 0.3, n)
    history = pd.DataFrame(
        {
            "application_id": [f"x{i}" for i in range(n)],
            "amount_requested": rng.uniform(1_000, 9_000, n).round(),
            "channel": "app",
            "bad": (rng.random(n) < pd_true).astype(int),
            "pd_true": pd_true,
        }
    )
    total = Strategy.from_yaml(TEXT).simulate(history).summary.row(-1, named=True)
    v = loan_value(history["amount_requested"].to_numpy(), 0.18, 12, pd_true)
    spread = np.sqrt(np.sum(pd_true * (1 - pd_true) * (v.value_if_good - v.value_if_bad) ** 2))
    # sampling error of the realised total: 4 standard deviations
    assert abs(total["profit"] - total["expected_profit_true"]) < 4 * spread
