"""Closed-form pricing formulas: against numpy-financial and across floats/NumPy/Polars."""

from __future__ import annotations

import numpy as np
import numpy_financial as npf
import polars as pl
import pytest

import creditfactory.pricing as pr


@pytest.mark.parametrize(("amount", "apr", "term"), [(12_000, 0.12, 12), (50_000, 0.236, 36)])
def test_annuity_matches_numpy_financial(amount: float, apr: float, term: int) -> None:
    assert pr.annuity_payment(amount, apr, term) == pytest.approx(-npf.pmt(apr / 12, term, amount))
    pmt = pr.annuity_payment(amount, apr, term)
    assert pr.annuity_amount(pmt, apr, term) == pytest.approx(amount)


def test_zero_rate() -> None:
    assert pr.annuity_payment(1200.0, 0.0, 12) == pytest.approx(100.0)
    assert pr.annuity_amount(100.0, 0.0, 12) == pytest.approx(1200.0)


def test_affordable_limit_and_assign_limit() -> None:
    assert pr.affordable_limit(10_000.0, 6_000.0, 0.12, 12) == 0.0
    room = 0.5 * 10_000 - 2_000
    assert pr.affordable_limit(10_000.0, 2_000.0, 0.12, 12) == pytest.approx(
        npf.pv(0.01, 12, -room)
    )
    assert pr.assign_limit(8_000.0, 1_000.0, 0.18, 12, 3.0, 50_000.0) == 24_000.0
    assert pr.assign_limit(80_000.0, 0.0, 0.18, 12, 3.0, 50_000.0) == 50_000.0  # product cap
    assert pr.assign_limit(8_000.0, 3_900.0, 0.18, 12, 3.0, 50_000.0) == 1_000.0  # DTI binds


def test_same_formula_floats_numpy_polars() -> None:
    income = np.array([3_000.0, 8_000.0, 20_000.0, 5_000.0])
    apr = np.array([0.08, 0.12, 0.2, 0.24])
    scalar = [pr.annuity_payment(10_000.0, a, 12) for a in apr]
    np.testing.assert_allclose(pr.annuity_payment(10_000.0, apr, 12), scalar)
    df = pl.DataFrame({"apr": apr, "income": income})
    out = df.select(
        pmt=pr.annuity_payment(10_000.0, pl.col("apr"), 12),
        lim=pr.assign_limit(pl.col("income"), 500.0, 0.18, 12, 3.0, 50_000.0),
    )
    np.testing.assert_allclose(out["pmt"].to_numpy(), scalar)
    np.testing.assert_allclose(
        out["lim"].to_numpy(), pr.assign_limit(income, 500.0, 0.18, 12, 3.0, 50_000.0)
    )
    assert pr.expected_loss(0.1, 0.5, 1000.0) == pytest.approx(50.0)
