"""The lifetime cash-flow model against a month-by-month simulation of the loan written here
from its description (schedules from numpy-financial), and the APR solver against it."""

from __future__ import annotations

import math

import numpy as np
import numpy_financial as npf
import pytest

import creditfactory.pricing as pr
from creditfactory.exceptions import ConfigError

ECO = pr.LoanEconomics()
FEES = pr.LoanEconomics(fee_upfront=0.01, fee_monthly=0.002, prepayment=0.03, lgd=0.6)


def month_weights(eco: pr.LoanEconomics, months: int) -> list[float]:
    """Relative default intensity of months 1..months, normalised over months 1-12."""

    def intensity(m: int) -> float:
        return [w for first, w in eco.default_timing if first <= m][-1]

    span = sum(intensity(m) for m in range(1, 13))
    return [intensity(m) / span for m in range(1, months + 1)]


def reference(amount: float, apr: float, n: int, pd: float, eco: pr.LoanEconomics) -> dict:
    """The loan followed month by month, every path weighted by its probability."""
    i = apr / 12.0
    pmt = float(npf.pmt(i, n, -amount))
    balance = [float(npf.fv(i, t, pmt, -amount)) for t in range(n + 1)]
    w = month_weights(eco, n)
    window = min(n, 12)

    def default_by(lam: float, months: int) -> float:
        alive, hit = 1.0, 0.0
        for t in range(months):
            d = 1.0 - math.exp(-lam * w[t])
            hit += alive * d
            alive *= (1.0 - d) * (1.0 - eco.prepayment)
        return hit

    lo, hi = 0.0, 50.0  # bisection on the hazard level: P(default within the window) = pd
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if default_by(mid, window) < pd else (lo, mid)
    lam = 0.5 * (lo + hi)
    v = 1.0 / (1.0 + eco.cost_of_funds / 12.0)
    rec_factor = sum(v ** (eco.recovery_lag + j) for j in range(eco.recovery_months))
    rec_factor /= eco.recovery_months
    upfront = -amount * (1.0 - eco.fee_upfront) - eco.cost_per_loan - eco.acquisition_per_loan
    npv, by, pd_life, ead, alive = upfront, 0.0, 0.0, 0.0, 1.0
    bad_mass, bad_value, bad_ead = 0.0, 0.0, 0.0
    instalment = pmt + eco.fee_monthly * amount
    for t in range(1, n + 1):
        d = 1.0 - math.exp(-lam * w[t - 1])
        vt = v**t
        npv -= eco.cost_per_month * alive * vt
        by += alive * balance[t - 1] * vt / 12.0
        dflt = alive * d
        pd_life += dflt
        ead += dflt * balance[t - 1]
        recovery = (1.0 - eco.lgd) * balance[t - 1] * vt * rec_factor
        npv += dflt * recovery
        if t <= window:  # this path goes bad: it paid months 1..t-1, then recoveries
            path = upfront + sum(instalment * v**u for u in range(1, t)) + recovery
            path -= eco.cost_per_month * sum(v**u for u in range(1, t + 1))
            bad_mass += dflt
            bad_value += dflt * path
            bad_ead += dflt * balance[t - 1]
        pays = alive * (1.0 - d)
        npv += pays * instalment * vt + pays * eco.prepayment * balance[t] * vt
        alive = pays * (1.0 - eco.prepayment)
    return {
        "npv": npv,
        "annual_return": npv / by,
        "lifetime_pd": pd_life,
        "expected_ead": ead,
        "balance_years": by,
        "value_if_bad": bad_value / bad_mass,
        "value_if_good": (npv - bad_value) / (1.0 - bad_mass),
        "pd_window": bad_mass,
        "ead_if_bad": bad_ead / bad_mass,
    }


CASES = [
    (amount, apr, n, pd_, eco)
    for amount, apr, n, pd_, eco in [
        (10_000.0, 0.18, 12, 0.05, ECO),
        (3_000.0, 0.24, 3, 0.02, ECO),
        (50_000.0, 0.12, 36, 0.01, ECO),
        (20_000.0, 0.30, 24, 0.2, FEES),
        (8_000.0, 0.09, 6, 0.001, FEES),
        (120_000.0, 0.15, 36, 0.4, ECO),
    ]
]


@pytest.mark.parametrize(("amount", "apr", "n", "pd_", "eco"), CASES)
def test_closed_form_matches_month_by_month(amount, apr, n, pd_, eco) -> None:
    ref = reference(amount, apr, n, pd_, eco)
    got = pr.loan_value(amount, apr, n, pd_, eco)
    assert ref["pd_window"] == pytest.approx(pd_, rel=1e-9)  # the reference's own calibration
    for name in ("npv", "annual_return", "lifetime_pd", "expected_ead", "balance_years"):
        assert getattr(got, name) == pytest.approx(ref[name], rel=1e-7, abs=1e-6), name
    assert got.value_if_bad == pytest.approx(ref["value_if_bad"], rel=1e-7)
    assert got.value_if_good == pytest.approx(ref["value_if_good"], rel=1e-7)
    assert got.ead_if_bad == pytest.approx(ref["ead_if_bad"], rel=1e-7)
    assert got.expected_loss == pytest.approx(eco.lgd * ref["expected_ead"], rel=1e-7)


def test_riskless_costless_loan_returns_apr_less_funding() -> None:
    free = pr.LoanEconomics(
        cost_per_loan=0.0, cost_per_month=0.0, cost_per_application=0.0, prepayment=0.05
    )
    for n in (3, 12, 36):
        got = pr.loan_value(10_000.0, 0.15, n, 0.0, free)
        # pd 0 is floored at 1e-9: the return is APR - cost of funds to about 1e-8
        assert got.annual_return == pytest.approx(0.15 - 0.04, abs=1e-7)


@pytest.mark.parametrize("n", [3, 6, 12, 24, 36])
@pytest.mark.parametrize("pd_", [0.002, 0.02, 0.08, 0.25])
@pytest.mark.parametrize("amount", [2_000.0, 30_000.0])
def test_priced_loan_meets_its_target_over_its_own_term(n: int, pd_: float, amount: float) -> None:
    apr = pr.risk_based_apr(pd_, amount, n, 0.06)
    assert 0 < apr < pr.APR_SEARCH_MAX
    assert reference(amount, apr, n, pd_, ECO)["annual_return"] == pytest.approx(0.06, abs=1e-8)


def test_price_rises_with_risk_shorter_terms_and_smaller_amounts() -> None:
    apr = pr.risk_based_apr
    assert apr(0.01, 10_000.0, 12) < apr(0.05, 10_000.0, 12) < apr(0.2, 10_000.0, 12)
    assert apr(0.05, 50_000.0, 12) < apr(0.05, 5_000.0, 12)  # fixed costs per loan
    # the same 12-month PD over 3 months is a far higher annual loss rate
    assert apr(0.05, 10_000.0, 36) < apr(0.05, 10_000.0, 12) < apr(0.05, 10_000.0, 3)
    assert apr(0.99, 1_000.0, 3) == pr.APR_SEARCH_MAX  # unpriceable: above any cap


def test_lifetime_pd_grows_with_term_beyond_the_window() -> None:
    life = {n: pr.loan_value(10_000.0, 0.18, n, 0.08).lifetime_pd for n in (3, 6, 12, 24, 36)}
    for n in (3, 6, 12):
        assert life[n] == pytest.approx(0.08, rel=1e-9)  # pd is the PD within min(term, 12)
    assert 0.08 < life[24] < life[36] < 0.2
    curve = pr.default_curve(0.08, 36)
    assert np.all(np.diff(curve) > 0)  # cumulative: never falls
    assert curve[11] == pytest.approx(0.08, rel=1e-9)
    assert curve[35] == pytest.approx(life[36], rel=1e-9)
    # steep first months: more than half of the first year's defaults by month 6
    assert curve[5] > 0.5 * curve[11]


def test_arrays_give_the_floats_answers() -> None:
    rng = np.random.default_rng(5)
    pd_ = rng.uniform(0.001, 0.4, 200)
    amount = rng.uniform(1_000, 200_000, 200)
    term = rng.choice([3, 6, 12, 24, 36], 200).astype(float)
    apr = pr.risk_based_apr(pd_, amount, term, 0.05)
    one = [
        pr.risk_based_apr(float(p), float(a), int(n), 0.05)
        for p, a, n in zip(pd_, amount, term, strict=True)
    ]
    # online prices come from a table verified within 1e-7 of the solve (pricing._table)
    np.testing.assert_allclose(apr, one, rtol=0, atol=1e-7)
    value = pr.loan_value(amount, apr, term, pd_)
    np.testing.assert_allclose(value.annual_return, 0.05, atol=1e-9)
    np.testing.assert_allclose(
        pd_ * value.value_if_bad + (1 - pd_) * value.value_if_good, value.npv, rtol=1e-9, atol=1e-6
    )
    assert np.all(value.value_if_bad < value.value_if_good)


def test_invalid_terms_and_economics() -> None:
    with pytest.raises(ValueError, match="term"):
        pr.loan_value(1_000.0, 0.1, 0, 0.05)
    with pytest.raises(ValueError, match="term"):
        pr.risk_based_apr(0.05, 1_000.0, 6.5)
    out = pr.risk_based_apr(np.array([0.05, 0.05]), 1_000.0, np.array([12.0, 0.0]))
    assert np.isfinite(out[0])
    assert np.isnan(out[1])  # arrays: that row only is NaN
    with pytest.raises(ConfigError, match="lgd"):
        pr.LoanEconomics(lgd=1.5)
    with pytest.raises(ConfigError, match="take_up"):
        pr.LoanEconomics(take_up=0.0)
    with pytest.raises(ConfigError, match="default_timing"):
        pr.LoanEconomics(default_timing=((2, 1.0),))


def test_comprehensive_cost_is_the_borrowers_irr() -> None:
    assert pr.comprehensive_cost(10_000.0, 0.18, 12) == pytest.approx(0.18, abs=1e-12)
    eco = pr.LoanEconomics(fee_upfront=0.02, fee_monthly=0.003)
    for amount, apr, n in [(10_000.0, 0.18, 12), (50_000.0, 0.10, 36), (2_000.0, 0.20, 3)]:
        pay = -npf.pmt(apr / 12, n, amount) + 0.003 * amount
        flows = [amount * (1 - 0.02)] + [-pay] * n
        expected = 12 * npf.irr(flows)
        assert pr.comprehensive_cost(amount, apr, n, eco) == pytest.approx(expected, abs=1e-9)
    # fees count against the 24% line: an APR under it can carry a comprehensive cost above it
    assert pr.comprehensive_cost(10_000.0, 0.20, 12, eco) > pr.MAX_APR
    costs = pr.comprehensive_cost(np.array([10_000.0, 50_000.0]), np.array([0.18, 0.1]), 12, eco)
    assert costs[0] == pytest.approx(pr.comprehensive_cost(10_000.0, 0.18, 12, eco))


def test_large_arrays_go_in_chunks_with_the_same_answers(monkeypatch) -> None:
    import creditfactory.pricing._lifetime as lifetime

    rng = np.random.default_rng(9)
    pd_, amount = rng.uniform(0.01, 0.3, 50), rng.uniform(1_000, 50_000, 50)
    term = rng.choice([3, 12, 36], 50).astype(float)
    whole = pr.risk_based_apr(pd_, amount, term)
    value = pr.loan_value(amount, whole, term, pd_)
    monkeypatch.setattr(lifetime, "CHUNK", 7)
    np.testing.assert_array_equal(pr.risk_based_apr(pd_, amount, term), whole)
    chunked = pr.loan_value(amount.reshape(5, 10), whole.reshape(5, 10), term.reshape(5, 10),
                            pd_.reshape(5, 10))  # fmt: skip
    np.testing.assert_array_equal(chunked.npv.ravel(), value.npv)
