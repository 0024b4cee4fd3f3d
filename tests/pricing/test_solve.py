"""The fast solvers (``pricing._solve``): the online price is the full model's answer.

The APR of ``risk_based_apr`` is checked against the month-by-month simulation of the loan in
``test_lifetime.py`` (its own hazard calibration by bisection, schedules from numpy-financial):
the return that simulation gives is below the target 1e-6 under the price and above it 1e-6
over it, so the price is the root within 1e-6 (the return rises with the APR), over terms
1-36, PDs 0.001-0.6, amounts 500-200,000, targets and every field of ``LoanEconomics``. Floats
(online) and arrays (batch) take the same steps and agree to rounding; the price itself comes
from a table verified within 1e-7 of the exact solve where it holds (``test_table.py``).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from tests.pricing.test_lifetime import reference

import creditfactory.pricing as pr
from creditfactory.pricing import _solve


def random_economics(rng: np.random.Generator) -> pr.LoanEconomics:
    """Every field of LoanEconomics drawn over (and beyond) the ranges of DOMAIN.md."""
    firsts = sorted({1, *rng.choice(np.arange(2, 31), size=rng.integers(0, 5), replace=False)})
    return pr.LoanEconomics(
        cost_of_funds=float(rng.uniform(0.0, 0.12)),
        lgd=float(rng.uniform(0.3, 1.0)),
        recovery_lag=int(rng.integers(1, 7)),
        recovery_months=int(rng.integers(1, 25)),
        prepayment=float(rng.choice([0.0, rng.uniform(0.0, 0.08)])),
        cost_per_loan=float(rng.uniform(0.0, 200.0)),
        cost_per_month=float(rng.uniform(0.0, 15.0)),
        cost_per_application=float(rng.uniform(0.0, 80.0)),
        take_up=float(rng.uniform(0.2, 1.0)),
        fee_upfront=float(rng.choice([0.0, rng.uniform(0.0, 0.03)])),
        fee_monthly=float(rng.choice([0.0, rng.uniform(0.0, 0.004)])),
        default_timing=tuple((int(f), float(rng.uniform(0.2, 2.5))) for f in firsts),
    )


def draws(seed: int, n: int) -> list[tuple[float, float, float, float, pr.LoanEconomics]]:
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        eco = pr.LoanEconomics() if k % 4 == 0 else random_economics(rng)
        pd_ = float(np.exp(rng.uniform(math.log(0.001), math.log(0.6))))
        amount = float(np.exp(rng.uniform(math.log(500.0), math.log(200_000.0))))
        term = float(rng.integers(1, 37))
        target = float(rng.uniform(0.0, 0.25))
        out.append((pd_, amount, term, target, eco))
    return out


CASES = draws(11, 120)


@pytest.mark.parametrize(("pd_", "amount", "term", "target", "eco"), CASES)
def test_price_is_the_month_by_month_models_root(pd_, amount, term, target, eco) -> None:
    apr = pr.risk_based_apr(pd_, amount, term, target, eco)
    assert isinstance(apr, float)
    n = int(term)
    if apr >= pr.APR_SEARCH_MAX:  # unpriceable: the target is out of reach at the cap
        assert reference(amount, pr.APR_SEARCH_MAX, n, pd_, eco)["annual_return"] < target
        return
    if apr <= _solve.APR_SEARCH_MIN:  # fees alone beat the target: the least APR searched
        assert reference(amount, apr, n, pd_, eco)["annual_return"] > target
        return
    below = reference(amount, apr - 1e-6, n, pd_, eco)["annual_return"]
    above = reference(amount, apr + 1e-6, n, pd_, eco)["annual_return"]
    assert below < target < above
    # and far closer than that: the exact solve's return is the target to 1e-9, and the price
    # (from the verified table where it holds, pricing._table) is within 1e-7 of that solve
    exact = _solve.apr_float(pd_, amount, term, target, eco)
    assert reference(amount, exact, n, pd_, eco)["annual_return"] == pytest.approx(target, abs=1e-9)
    assert apr == pytest.approx(exact, abs=1e-7)


def test_every_term_and_pd_on_a_grid_against_the_month_by_month_model() -> None:
    eco = pr.LoanEconomics()
    for n in range(1, 37):
        for pd_ in (0.001, 0.03, 0.15, 0.6):
            for amount in (500.0, 200_000.0):
                apr = pr.risk_based_apr(pd_, amount, n, 0.05, eco)
                exact = _solve.apr_float(pd_, amount, float(n), 0.05, eco)
                assert apr == pytest.approx(exact, abs=1e-7), (n, pd_, amount)
                if apr >= pr.APR_SEARCH_MAX:
                    continue
                got = reference(amount, exact, n, pd_, eco)["annual_return"]
                assert got == pytest.approx(0.05, abs=1e-9), (n, pd_, amount)


def test_floats_and_arrays_take_the_same_steps() -> None:
    rows = draws(12, 400)
    by_eco: dict[int, list[int]] = {}
    for k, row in enumerate(rows):
        by_eco.setdefault(id(row[4]), []).append(k)
    for ks in by_eco.values():
        eco = rows[ks[0]][4]
        cols = [np.array([rows[k][j] for k in ks]) for j in range(4)]
        # the exact solves (the online price's table is checked against them, test_table.py)
        batch = _solve.apr_array(*cols, eco)
        online = [_solve.apr_float(*rows[k][:4], eco) for k in ks]
        # rounding only: the solves stop where the error left is below 1e-12
        np.testing.assert_allclose(batch, online, rtol=1e-11, atol=1e-13)


def test_the_levels_table_gives_the_calibrated_pd() -> None:
    # the level from the table plus one Newton step reproduces pd within the 12-month window
    # (bisection on the month-by-month model in the reference, 1e-9 relative)
    for eco in (pr.LoanEconomics(), pr.LoanEconomics(prepayment=0.3, default_timing=((1, 1.0),))):
        for n in (1, 5, 12, 36):
            for pd_ in (1e-6, 0.001, 0.2, 0.9):  # the reference bisects levels up to 50
                apr = 0.2
                got = pr.loan_value(10_000.0, apr, n, pd_, eco)
                ref = reference(10_000.0, apr, n, pd_, eco)
                assert ref["pd_window"] == pytest.approx(pd_, rel=1e-9)
                assert got.lifetime_pd == pytest.approx(ref["lifetime_pd"], rel=1e-7)
                assert got.npv == pytest.approx(ref["npv"], rel=1e-7, abs=1e-6)


def test_zero_and_bad_arguments() -> None:
    assert pr.risk_based_apr(0.05, 0.0, 12) == pr.APR_SEARCH_MAX  # nothing lent: no return
    for bad in (-1.0, math.nan, math.inf):
        with pytest.raises(ValueError, match="amount"):
            pr.risk_based_apr(0.05, bad, 12)
    with pytest.raises(ValueError, match="pd"):
        pr.risk_based_apr(math.nan, 1_000.0, 12)
    with pytest.raises(ValueError, match="target_return"):
        pr.risk_based_apr(0.05, 1_000.0, 12, math.inf)
    out = pr.risk_based_apr(
        np.array([0.05, 0.05, 0.05, math.nan, 0.05]),
        np.array([1_000.0, 0.0, -1.0, 1_000.0, 1_000.0]),
        np.array([12.0, 12.0, 12.0, 12.0, 2.5]),
    )
    assert out[0] == pytest.approx(pr.risk_based_apr(0.05, 1_000.0, 12), rel=1e-12)
    assert out[1] == pr.APR_SEARCH_MAX
    assert np.isnan(out[2:]).all()
    # a NaN PD values to NaN, floats and arrays alike
    assert math.isnan(pr.loan_value(1_000.0, 0.2, 12, math.nan).npv)
    assert np.isnan(pr.loan_value(1_000.0, 0.2, 12, np.array([math.nan])).npv).all()
    # NumPy floats (subclasses of float) take the float path and give floats
    assert isinstance(pr.risk_based_apr(np.float64(0.05), 1_000.0, 12), float)


def test_plans_are_kept_per_economics_and_term() -> None:
    eco = pr.LoanEconomics(lgd=0.61)
    first = _solve.plan(eco, 12.0)
    assert _solve.plan(eco, 12.0) is first
    assert pr.LoanEconomics(lgd=0.61) == eco  # the cache is not part of equality or hash
    assert hash(pr.LoanEconomics(lgd=0.61)) == hash(eco)
