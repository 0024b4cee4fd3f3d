"""The life-of-loan cash-flow model: one valuation for pricing, limits and simulation.

A loan of ``amount`` at ``apr`` over ``term`` monthly equal instalments (等额本息) is followed
month by month until default, prepayment or maturity:

- in month ``t`` a loan still open and performing stops paying (defaults) with the monthly
  default probability of that month, else pays its instalment (and any monthly fee) and then
  repays its whole outstanding balance early with the monthly ``prepayment`` probability;
- a default's exposure (EAD) is the principal still outstanding after the last instalment
  paid; ``1 - lgd`` of it comes back as recoveries, in equal parts over ``recovery_months``
  months starting ``recovery_lag`` months after the default;
- the lender pays ``cost_per_loan`` when it books the loan, ``cost_per_month`` for every month
  the loan is open, and ``cost_per_application / take_up`` for acquisition and bureau data
  (every application costs that, and ``take_up`` of them become loans);
- cash flows are discounted at the monthly cost of funds, so the NPV is the expected profit
  after funding the outstanding balance, in money of the booking date.

The **return** of a loan is its NPV per unit of discounted balance-years (the outstanding
balance times the years it is out): a riskless, costless loan at APR ``r`` returns ``r -
cost_of_funds``. ``risk_based_apr`` solves for the APR that gives a target return, so every
term and amount is priced on the same footing.

The **default curve**: ``pd`` is the probability that the loan, at its own term, defaults within
its first 12 months on book (the usual bad definition; what a scorecard trained on it and the
twin's ``pd_true`` mean). Month by month the default probability follows a piecewise-constant
hazard whose relative intensity is ``default_timing`` (high in the first months, lower later,
so vintage curves rise steeply and flatten, as in practice); its level is set so that the
probability of default within ``min(term, 12)`` months, with prepayment competing, is ``pd``.
Months after the 12th carry on at the curve's later intensity, so a 36-month loan has a higher
lifetime PD than a 12-month loan with the same ``pd``.

Every function takes floats (the online path: plain ``math``, a few microseconds) or NumPy
arrays (batch: one vectorised pass per solver step, no loop over loans or months); the solvers
(the curve's level, the APR) are in ``_solve``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from creditfactory.pricing._economics import BAD_WINDOW, DEFAULT_ECONOMICS, LoanEconomics
from creditfactory.pricing._formulas import TARGET_RETURN
from creditfactory.pricing._solve import (
    hazard_array,
    hazard_float,
    plan,
)
from creditfactory.pricing._table import apr_batch, price_float

CHUNK = 65_536  # rows per vectorised pass over large arrays
_NUMBER = frozenset({float, int})  # exact types of the online fast path

# --------------------------------------------------------------------------- float / array ops


class _Ops:
    """Element-wise operations: ``math`` for floats (fast online), NumPy for arrays."""

    exp: Any
    log1p: Any
    expm1: Any
    minimum: Any
    maximum: Any

    def __init__(self, scalar: bool) -> None:
        self.scalar = scalar
        if scalar:
            self.exp, self.log1p, self.expm1 = math.exp, math.log1p, math.expm1
            self.minimum, self.maximum = min, max
        else:
            self.exp, self.log1p, self.expm1 = np.exp, np.log1p, np.expm1
            self.minimum, self.maximum = np.minimum, np.maximum

    def where(self, cond: Any, a: Any, b: Any) -> Any:
        if self.scalar:
            return a if cond else b
        return np.where(cond, a, b)

    def abs(self, x: Any) -> Any:
        return abs(x) if self.scalar else np.abs(x)


_FLOAT = _Ops(True)
_ARRAY = _Ops(False)


def _ops_for(*xs: Any) -> tuple[_Ops, list[Any]]:
    if all(isinstance(x, float | int) and not isinstance(x, bool) for x in xs):
        return _FLOAT, [float(x) for x in xs]
    arrays = np.broadcast_arrays(*[np.asarray(x, dtype=float) for x in xs])
    return _ARRAY, [np.array(a, dtype=float) for a in arrays]


def _geo(o: _Ops, y: Any, n: Any) -> Any:
    """``1 + y + ... + y**(n-1)`` (0 for ``n = 0``), stable for ``y`` near 1."""
    d = 1.0 - y
    if o.scalar:
        return n - 0.5 * n * (n - 1.0) * d if abs(d) < 1e-9 else (1.0 - y**n) / d
    out = (1.0 - y**n) / d
    near = np.abs(d) < 1e-9
    if near.any():  # rare: the closed form loses digits (or divides by 0) there
        series = n - 0.5 * n * (n - 1.0) * d
        out = np.where(near, series, out)
    return out


# --------------------------------------------------------------------------- the default curve


def _weights(eco: LoanEconomics) -> tuple[tuple[int, float, float], ...]:
    return eco._segments


class _Curve:
    """Per segment of the default curve over a horizon: first month, length within the
    horizon, survival from default ``sig``, survival from default and prepayment ``r``, and the
    probability ``q`` of being open and performing at the segment's first month."""

    def __init__(self, o: _Ops, lam: Any, horizon: Any, eco: LoanEconomics) -> None:
        keep = 1.0 - eco.prepayment
        self.o = o
        self.segments: list[tuple[int, Any, Any, Any, Any]] = []
        q: Any = 1.0
        for first, last, w in _weights(eco):
            if o.scalar:
                n = max(min(horizon, last) - first + 1.0, 0.0)
                if n == 0.0:
                    break
                s = math.exp(-lam * w)
            else:
                n = np.maximum(np.minimum(horizon, last) - first + 1.0, 0.0)
                if not np.any(n > 0):
                    break
                s = np.exp(-lam * w)
            r = s * keep
            self.segments.append((first, n, s, r, q))
            q = q * r**n

    def sums(self, x: Any) -> tuple[Any, Any, Any]:
        """``sum_t q_t c_t x**t`` over the horizon for ``c`` = 1 (open), sigma (pays) and
        1 - sigma (defaults)."""
        open_: Any = 0.0
        pays: Any = 0.0
        if self.o.scalar:  # the online path, inlined: a few microseconds
            for first, n, s, r, q in self.segments:
                y = r * x
                d = 1.0 - y
                geo = n - 0.5 * n * (n - 1.0) * d if abs(d) < 1e-9 else (1.0 - y**n) / d
                base = q * x**first * geo
                open_ += base
                pays += base * s
            return open_, pays, open_ - pays
        o = self.o
        for first, n, s, r, q in self.segments:
            base = q * x**first * _geo(o, r * x, n)
            open_ = open_ + base
            pays = pays + base * s
        return open_, pays, open_ - pays


def _hazard_level(o: _Ops, pd: Any, term: Any, eco: LoanEconomics) -> Any:
    """Level of the cumulative default hazard that makes the probability of default within
    ``min(term, 12)`` months, prepayment competing, equal to ``pd`` (Newton steps in
    ``_solve``)."""
    if o.scalar:
        return hazard_float(pd, plan(eco, term))
    return hazard_array(pd, term, eco)


def default_curve(pd: float, term: int, economics: LoanEconomics = DEFAULT_ECONOMICS) -> np.ndarray:
    """Cumulative probability of default by month on book 1..``term`` (prepayment competing):
    the loan's lifetime PD month by month.

    >>> curve = default_curve(0.08, 36)
    >>> round(float(curve[11]), 6), bool(curve[35] > curve[11])
    (0.08, True)
    """
    lam = _hazard_level(_FLOAT, float(pd), float(term), economics)
    return np.array(
        [_Curve(_FLOAT, lam, float(m), economics).sums(1.0)[2] for m in range(1, term + 1)]
    )


# --------------------------------------------------------------------------- the loan's value


@dataclass(frozen=True)
class LoanValue:
    """The lifetime model's answer for one loan (floats) or many (arrays).

    ``npv``: expected profit after funding, losses and costs, discounted at the cost of funds;
    ``annual_return``: ``npv`` per discounted balance-year; ``lifetime_pd``: probability of
    default before maturity; ``expected_ead``: expected exposure at default (undiscounted, CNY);
    ``expected_loss``: ``lgd x expected_ead``; ``balance_years``: discounted outstanding balance
    times years; ``value_if_bad`` / ``value_if_good``: the NPV given that the loan does / does
    not default within 12 months on book (so ``npv = pd x value_if_bad + (1 - pd) x
    value_if_good``), to value a realised outcome.
    """

    npv: Any
    annual_return: Any
    lifetime_pd: Any
    expected_ead: Any
    expected_loss: Any
    balance_years: Any
    value_if_bad: Any
    value_if_good: Any
    ead_if_bad: Any


class _Loan:
    """What does not depend on the APR, computed once per loan (the solver varies the APR)."""

    def __init__(self, o: _Ops, pd: Any, amount: Any, term: Any, eco: LoanEconomics) -> None:
        self.o, self.amount, self.term, self.eco = o, amount, term, eco
        lam = _hazard_level(o, pd, term, eco)
        self.life = _Curve(o, lam, term, eco)
        c = eco.cost_of_funds / 12.0
        self.v = v = 1.0 / (1.0 + c)
        self.open_v, self.pay_v, self.def_v = self.life.sums(v)
        self.pd_life = self.life.sums(1.0)[2]
        if o.scalar and term <= BAD_WINDOW:  # the window is the whole life: the same sums
            self.window, self.pd_w, self.def_v_w = self.life, self.pd_life, self.def_v
        else:
            self.window = _Curve(o, lam, o.minimum(term, float(BAD_WINDOW)), eco)
            self.pd_w = self.window.sums(1.0)[2]
            self.def_v_w = self.window.sums(v)[2]
        self.recovery_pv = v**eco.recovery_lag * _geo(_FLOAT, v, float(eco.recovery_months))
        self.recovery_pv /= eco.recovery_months
        self.fixed = eco.cost_per_loan + eco.acquisition_per_loan + eco.cost_per_month * self.open_v
        # sum over default months t <= 12 of q_t (1 - sigma_t) (v + ... + v**(t-1)): the
        # discounted instalments a loan paid before it defaulted
        ce = max(c, 1e-9)
        ve = 1.0 / (1.0 + ce)
        def_ve_w = self.window.sums(ve)[2] if ce != c else self.def_v_w
        self.paid_before_default = (ve * self.pd_w - def_ve_w) / (1.0 - ve)

    def value(self, apr: Any) -> tuple[Any, Any, Any, Any, Any]:
        """NPV and return at ``apr``, with what ``full`` needs."""
        o, eco, amt, n = self.o, self.eco, self.amount, self.term
        i = apr / 12.0
        g = 1.0 + i
        e = n * o.log1p(i)
        G = o.exp(e)
        k = 1.0 / o.expm1(e)
        inst = i * G * k + eco.fee_monthly
        vg = self.v * g
        open_vg, pay_vg, def_vg = self.life.sums(vg)
        recovered = (1.0 - eco.lgd) * self.recovery_pv
        unit = (
            -1.0
            + eco.fee_upfront
            + inst * self.pay_v
            + eco.prepayment * k * (G * self.pay_v - pay_vg)
            + recovered * k * (G * self.def_v - def_vg / g)
        )
        npv = amt * unit - self.fixed
        balance_years = amt * k * (G * self.open_v - open_vg / g) / 12.0
        return npv, npv / balance_years, balance_years, (g, G, k, inst, vg), recovered

    def full(self, apr: Any) -> LoanValue:
        eco, amt = self.eco, self.amount
        npv, ret, balance_years, (g, G, k, inst, vg), recovered = self.value(apr)
        def_g = self.life.sums(g)[2]
        ead = amt * k * (G * self.pd_life - def_g / g)
        ead_bad = amt * k * (G * self.pd_w - self.window.sums(g)[2] / g) / self.pd_w
        bad_total = (
            self.pd_w
            * (amt * (eco.fee_upfront - 1.0) - eco.cost_per_loan - eco.acquisition_per_loan)
            + amt * inst * self.paid_before_default
            + amt * recovered * k * (G * self.def_v_w - self.window.sums(vg)[2] / g)
            - eco.cost_per_month * (self.paid_before_default + self.def_v_w)
        )
        return LoanValue(
            npv=npv,
            annual_return=ret,
            lifetime_pd=self.pd_life,
            expected_ead=ead,
            expected_loss=eco.lgd * ead,
            balance_years=balance_years,
            value_if_bad=bad_total / self.pd_w,
            value_if_good=(npv - bad_total) / (1.0 - self.pd_w),
            ead_if_bad=ead_bad,
        )


def _rows(arrays: list[np.ndarray], i: int) -> tuple[Any, Any, Any, Any]:
    a, b, c, d = (x[i : i + CHUNK] for x in arrays)
    return a, b, c, d


def _valid_term(o: _Ops, term: Any) -> Any:
    if o.scalar:
        if not (term >= 1 and float(term).is_integer()):
            raise ValueError(f"term: a whole number of months >= 1, not {term!r}")
        return term
    return np.where((term >= 1) & (np.floor(term) == term), term, np.nan)


def loan_value(
    amount: Any, apr: Any, term: Any, pd: Any, economics: LoanEconomics = DEFAULT_ECONOMICS
) -> LoanValue:
    """Value a loan (or arrays of loans) with the lifetime model.

    Parameters
    ----------
    amount, apr, term, pd : float or array
        Principal (CNY), annual rate (0.18 = 18%, above 0), whole months, and the probability of
        default within 12 months on book at this term.
    economics : LoanEconomics
        Costs, recoveries, prepayment and the default curve.

    >>> v = loan_value(10_000.0, 0.18, 12, 0.05)
    >>> round(v.npv, 2), round(v.annual_return, 4), round(v.lifetime_pd, 4)
    (280.16, 0.0562, 0.05)
    """
    o, (amount, apr, term, pd) = _ops_for(amount, apr, term, pd)
    if not o.scalar and amount.size > CHUNK:
        flat = [x.ravel() for x in (amount, apr, term, pd)]
        parts = [
            loan_value(*_rows(flat, i), economics=economics) for i in range(0, amount.size, CHUNK)
        ]
        return LoanValue(
            **{
                f.name: np.concatenate([getattr(v, f.name) for v in parts]).reshape(amount.shape)
                for f in fields(LoanValue)
            }
        )
    with np.errstate(all="ignore"):
        term = _valid_term(o, term)
        return _Loan(o, pd, amount, term, economics).full(apr)


def risk_based_apr(
    pd: Any,
    amount: Any,
    term: Any,
    target_return: Any = TARGET_RETURN,
    economics: LoanEconomics = DEFAULT_ECONOMICS,
) -> Any:
    """APR at which the lifetime model returns ``target_return`` a year on the balance.

    Read from a table per (economics, term, target), built on first use (about 80 ms) and
    verified then within 1e-7 of the exact solve in every cell it serves (``_table``); elsewhere
    (PDs above 0.6, amounts below 250, cells at the solver's bounds) the exact solve: Newton's
    method on the return, whose derivative in the APR has a closed form, from a one-period first
    guess, to about 1e-12 (``_solve``). About a microsecond a float; arrays use the same cells
    and the same arithmetic, so online and batch agree to the bit there.

    A loan that cannot reach the target below ``APR_SEARCH_MAX`` (1000%) gets that value: above
    any legal maximum, so a strategy declines it rather than price it at the cap; so does a zero
    amount. A negative or non-finite amount, a non-finite ``pd`` or target, or
    a term that is not a whole number >= 1 raises ``ValueError`` (floats) or gives NaN on its
    row (arrays).

    >>> round(risk_based_apr(0.05, 10_000.0, 12, 0.05), 4)
    0.1738
    >>> risk_based_apr(0.02, 10_000.0, 36, 0.05) < risk_based_apr(0.02, 10_000.0, 3, 0.05)
    True
    """
    kinds = _NUMBER
    if (
        type(pd) in kinds
        and type(amount) in kinds
        and type(term) in kinds
        and type(target_return) in kinds
    ):
        return price_float(float(pd), float(amount), float(term), float(target_return), economics)
    o, (pd, amount, term, target) = _ops_for(pd, amount, term, target_return)
    if o.scalar:  # subclasses of float or int (NumPy scalars)
        return price_float(pd, amount, term, target, economics)
    if pd.size > CHUNK:  # in chunks: the temporaries stay in cache
        flat = [x.ravel() for x in (pd, amount, term, target)]
        parts = [
            risk_based_apr(*_rows(flat, i), economics=economics) for i in range(0, pd.size, CHUNK)
        ]
        return np.concatenate(parts).reshape(pd.shape)
    out = np.full(pd.shape, np.nan)
    ok = (
        (term >= 1)
        & (np.floor(term) == term)
        & np.isfinite(term)
        & (amount >= 0.0)
        & np.isfinite(amount)
        & np.isfinite(pd)
        & np.isfinite(target)
    )
    with np.errstate(all="ignore"):
        out[ok] = apr_batch(pd[ok], amount[ok], term[ok], target[ok], economics)
    return out
