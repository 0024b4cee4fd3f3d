"""Pricing formulas: cross-checked against numpy-financial and across floats/NumPy/Polars."""

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


def test_risk_based_apr_breaks_even() -> None:
    pd_, lgd, cof, opex, tgt = 0.08, 0.7, 0.04, 0.03, 0.02
    apr = pr.risk_based_apr(pd_, lgd, cof, opex, tgt)
    # performing loans earn apr, defaults lose lgd; the margin equals the target return
    assert (1 - pd_) * apr - pd_ * lgd - cof - opex == pytest.approx(tgt)
    assert pr.risk_based_apr(0.01) < pr.risk_based_apr(0.05) < pr.risk_based_apr(0.2)


def test_expected_profit_zero_at_break_even_without_target() -> None:
    # one-period loan (term 12 has balance factor 13/24, so use the same factor to break even)
    pd_, lgd = 0.05, 0.75
    # the balance factor from its definition, not the code under test: the mean share of the
    # principal outstanding over 12 months when 1/12 is repaid each month (12/12, 11/12 ... 1/12)
    f = sum((12 - k) / 12 for k in range(12)) / 12
    assert f == pytest.approx(13 / 24)
    assert pr.balance_factor(12) == pytest.approx(13 / 24)
    apr = (pd_ * lgd / f + 0.07) / (1 - pd_)
    assert pr.expected_profit(10_000.0, apr, 12, pd_, lgd, 0.04, 0.03) == pytest.approx(0, abs=1e-6)
    # off break-even by 1 point of APR: the profit is the extra interest on the average balance
    extra = 10_000.0 * 0.01 * f * (1 - pd_)
    assert pr.expected_profit(10_000.0, apr + 0.01, 12, pd_, lgd, 0.04, 0.03) == pytest.approx(
        extra
    )


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
    pd_ = np.array([0.01, 0.05, 0.2, 0.5])
    income = np.array([3_000.0, 8_000.0, 20_000.0, 5_000.0])
    scalar = [pr.risk_based_apr(p) for p in pd_]
    np.testing.assert_allclose(pr.risk_based_apr(pd_), scalar)
    df = pl.DataFrame({"pd": pd_, "income": income})
    out = df.select(
        apr=pr.risk_based_apr(pl.col("pd")),
        lim=pr.assign_limit(pl.col("income"), 500.0, 0.18, 12, 3.0, 50_000.0),
    )
    np.testing.assert_allclose(out["apr"].to_numpy(), scalar)
    np.testing.assert_allclose(
        out["lim"].to_numpy(), pr.assign_limit(income, 500.0, 0.18, 12, 3.0, 50_000.0)
    )
    assert pr.expected_loss(0.1, 0.5, 1000.0) == pytest.approx(50.0)
