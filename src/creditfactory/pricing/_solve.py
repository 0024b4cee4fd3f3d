"""Newton solvers of the lifetime model: the default curve's level for a PD, the APR for a
target return.

Both equations are smooth and nearly linear in their unknown, and their derivatives have closed
forms (the model's sums are geometric per segment of the default curve), so Newton's method
from a first-order guess reaches the root in two to four steps. A solve stops once its step is
below 1e-9 of its value, that step taken: convergence is quadratic, so what is left is below
rounding.

Every solver has a float version (plain ``math``, inlined: the online path, a few
microseconds a price) and an array version (NumPy, one vectorised pass per step) that take the
same steps in the same order, so that a price online and in batch agree to rounding.

What depends only on the economics and the term (the curve's segments within the term and
within the 12-month window, binomial coefficients of the series near ``y = 1``) is computed once
per (economics, term) and kept on the economics object (``LoanEconomics._plans``).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from creditfactory.pricing._economics import BAD_WINDOW, LoanEconomics

PD_FLOOR = 1e-9
APR_SEARCH_MIN = 1e-4
APR_SEARCH_MAX = 10.0
STOP = 1e-9  # relative step of the level below which its solve has converged (step taken)
STOP_APR = 1e-7  # step of the APR below which its solve has converged (step taken)
STEPS = 40  # at most; never reached on the tested domain
SERIES = 1e-5  # |1 - y| below which the geometric sums use their series at y = 1

# --------------------------------------------------------------------------- the plan of a term


class _Plan(NamedTuple):
    """What the solvers need of (economics, term) besides the PD and the APR."""

    life: tuple[tuple[float, float, float, float, float, float], ...]  # first, m, w, C2, C3, C4
    window: tuple[tuple[float, float, float, float, float, float], ...]  # m, w, W, C2, C3, C4
    span: float  # first-order level: lam = -log(1 - pd) / span for a small pd
    v: float  # monthly discount factor at the cost of funds
    recovered: float  # (1 - lgd) x present value of the recoveries of one unit of exposure
    keep: float  # 1 - prepayment
    fixed: float  # cost per loan + acquisition per loan


def _binomials(m: float) -> tuple[float, float, float]:
    return (
        m * (m - 1.0) / 2.0,
        m * (m - 1.0) * (m - 2.0) / 6.0,
        (m * (m - 1.0) * (m - 2.0) * (m - 3.0) / 24.0),
    )


def _segments(eco: LoanEconomics, horizon: float) -> list[tuple[float, float, float]]:
    """(first month, months within ``horizon``, weight) of the curve's segments that start
    within it."""
    out = []
    for first, last, w in eco._segments:
        m = min(horizon, last) - first + 1.0
        if m <= 0.0:
            break
        out.append((float(first), m, w))
    return out


def recovery_factor(eco: LoanEconomics) -> float:
    """``(1 - lgd)`` times the present value, at default, of recovering one unit of exposure
    in equal parts over ``recovery_months`` from ``recovery_lag`` months after the default."""
    v = 1.0 / (1.0 + eco.cost_of_funds / 12.0)
    n = float(eco.recovery_months)
    d = 1.0 - v
    geo = n - 0.5 * n * (n - 1.0) * d if abs(d) < 1e-12 else (1.0 - v**n) / d
    return (1.0 - eco.lgd) * v**eco.recovery_lag * geo / n


def plan(eco: LoanEconomics, term: float) -> _Plan:
    """The plan of ``term`` months (a whole number >= 1) under ``eco``, computed once."""
    found = eco._plans.get(term)
    if found is not None:
        return found
    keep = 1.0 - eco.prepayment
    life = tuple((f, m, w, *_binomials(m)) for f, m, w in _segments(eco, term))
    window, before = [], 0.0
    for _, m, w in _segments(eco, min(term, float(BAD_WINDOW))):
        window.append((m, w, before, *_binomials(m)))
        before += m * w
    span, month = 0.0, 0.0
    for _, m, w in _segments(eco, min(term, float(BAD_WINDOW))):
        # sum over the segment's months t of w keep**(t - 1)
        span += w * keep**month * (m if keep == 1.0 else (1.0 - keep**m) / (1.0 - keep))
        month += m
    out = _Plan(
        life=life,
        window=tuple(window),
        span=span,
        v=1.0 / (1.0 + eco.cost_of_funds / 12.0),
        recovered=recovery_factor(eco),
        keep=keep,
        fixed=eco.cost_per_loan + eco.acquisition_per_loan,
    )
    eco._plans[term] = out
    return out


# --------------------------------------------------------------------------- the curve's level


def hazard_float(pd: float, p: _Plan) -> float:
    """Level of the default curve that gives ``pd`` within the window (floats)."""
    pd = min(max(pd, PD_FLOOR), 0.999)
    target = -math.log1p(-pd)
    lam = target / p.span
    expm1, keep = math.expm1, p.keep
    for _ in range(STEPS):
        got = dgot = 0.0
        q = 1.0
        for m, w, before, c2, c3, c4 in p.window:
            om = -expm1(-lam * w)  # 1 - s, without cancellation for a small level
            s = 1.0 - om
            y = s * keep
            d = 1.0 - y
            if -SERIES < d < SERIES:
                geo = m - d * (c2 - d * (c3 - d * c4))
                dgeo = c2 - d * (2.0 * c3 - 3.0 * d * c4)
            else:
                ym1 = y ** (m - 1.0)
                geo = (1.0 - ym1 * y) / d
                dgeo = (geo - m * ym1) / d
            a = q * om
            got += a * geo
            # d/dlam of q (1 - s) geo(y): q' = -before q, s' = -w s, y' = -w y
            dgot += q * geo * (w * s - before * om) - a * dgeo * w * y
            q *= y**m
        step = (-math.log1p(-got) - target) * (1.0 - got) / dgot
        new = lam - step
        if new < 0.5 * lam:
            new = 0.5 * lam
        if abs(step) <= STOP * lam:
            return new
        lam = new
    return lam


def hazard_array(pd: Any, term: Any, eco: LoanEconomics) -> Any:
    """:func:`hazard_float` on arrays (``term`` per row), the same steps."""
    pd = np.minimum(np.maximum(pd, PD_FLOOR), 0.999)
    target = -np.log1p(-pd)
    keep = 1.0 - eco.prepayment
    window = np.minimum(term, float(BAD_WINDOW))
    segs, before, span, month = [], 0.0, 0.0, 0.0
    for first, last, w in eco._segments:
        m = np.maximum(np.minimum(window, last) - first + 1.0, 0.0)
        segs.append((m, w, before, *_binomials_array(m)))
        span = span + w * keep**month * (m if keep == 1.0 else (1.0 - keep**m) / (1.0 - keep))
        before = before + m * w
        month = month + m
    lam = target / span
    active = np.ones(lam.shape, dtype=bool)
    for _ in range(STEPS):
        got = np.zeros(lam.shape)
        dgot = np.zeros(lam.shape)
        q: Any = 1.0
        for m, w, bef, c2, c3, c4 in segs:
            om = -np.expm1(-lam * w)
            s = 1.0 - om
            y = s * keep
            geo, dgeo = _geo_array(y, m, c2, c3, c4)
            a = q * om
            got = got + a * geo
            dgot = dgot + (q * geo * (w * s - bef * om) - a * dgeo * w * y)
            q = q * y**m
        step = (-np.log1p(-got) - target) * (1.0 - got) / dgot
        new = np.maximum(lam - step, 0.5 * lam)
        done = np.abs(step) <= STOP * lam
        lam = np.where(active, new, lam)
        active &= ~done & np.isfinite(lam)
        if not active.any():
            break
    return lam


def _binomials_array(m: Any) -> tuple[Any, Any, Any]:
    return (
        m * (m - 1.0) / 2.0,
        m * (m - 1.0) * (m - 2.0) / 6.0,
        (m * (m - 1.0) * (m - 2.0) * (m - 3.0) / 24.0),
    )


def _geo_array(y: Any, m: Any, c2: Any, c3: Any, c4: Any) -> tuple[Any, Any]:
    """``1 + y + ... + y**(m-1)`` and its derivative in ``y``, as the float solvers do."""
    d = 1.0 - y
    near = (d > -SERIES) & (d < SERIES)
    safe = np.where(near, 1.0, d)
    ym1 = y ** (m - 1.0)
    geo = (1.0 - ym1 * y) / safe
    dgeo = (geo - m * ym1) / safe
    if near.any():
        geo = np.where(near, m - d * (c2 - d * (c3 - d * c4)), geo)
        dgeo = np.where(near, c2 - d * (2.0 * c3 - 3.0 * d * c4), dgeo)
    empty = m <= 0.0  # a segment beyond the term: nothing (the float solvers skip it)
    return np.where(empty, 0.0, geo), np.where(empty, 0.0, dgeo)


# --------------------------------------------------------------------------- the APR


def apr_float(pd: float, amount: float, term: float, target: float, eco: LoanEconomics) -> float:
    """APR at which the loan returns ``target`` a year on its balance (floats; ``amount`` > 0,
    ``term`` a whole number >= 1, everything finite)."""
    p = plan(eco, term)
    lam = hazard_float(pd, p)
    exp, expm1, v, keep = math.exp, math.expm1, p.v, p.keep
    # the curve at this level, and its sums at the cost of funds: open, defaulting
    segs = []
    q, ov, dv = 1.0, 0.0, 0.0
    for f, m, w, c2, c3, c4 in p.life:
        om = -expm1(-lam * w)
        s = 1.0 - om
        r = s * keep
        y = r * v
        d = 1.0 - y
        geo = m - d * (c2 - d * (c3 - d * c4)) if -SERIES < d < SERIES else (1.0 - y**m) / d
        base = q * v**f * geo
        ov += base
        dv += base * om
        segs.append((f, m, om, r, q, c2, c3, c4))
        q *= r**m
    pv = ov - dv
    c = (p.fixed + eco.cost_per_month * ov) / amount
    prepay, rec, fu, fm = eco.prepayment, p.recovered, eco.fee_upfront, eco.fee_monthly
    loss = eco.lgd * 12.0 * min(max(pd, 0.0), 0.999) / min(term, 12.0)
    a = eco.cost_of_funds + target + loss + c * 24.0 / (term + 1.0)
    a = min(max(a, APR_SEARCH_MIN), APR_SEARCH_MAX)
    t12 = target / 12.0
    log1p = math.log1p
    for _ in range(STEPS):
        i = a / 12.0
        g = 1.0 + i
        e = term * log1p(i)
        big = exp(e)
        k = 1.0 / expm1(e)
        x = v * g
        o = dd = do = ddd = 0.0
        for f, m, om, r, q, c2, c3, c4 in segs:
            y = r * x
            d = 1.0 - y
            if -SERIES < d < SERIES:
                geo = m - d * (c2 - d * (c3 - d * c4))
                dgeo = c2 - d * (2.0 * c3 - 3.0 * d * c4)
            else:
                ym1 = y ** (m - 1.0)
                geo = (1.0 - ym1 * y) / d
                dgeo = (geo - m * ym1) / d
            qx = q * x**f
            b = qx * geo
            db = qx * (f * geo / x + r * dgeo)
            o += b
            dd += b * om
            do += db
            ddd += db * om
        pp = o - dd
        dp = do - ddd
        t1 = big * pv - pp
        t2 = big * dv - dd / g
        t3 = big * ov - o / g
        gap = -1.0 + fu + (i * big * k + fm) * pv + k * (prepay * t1 + rec * t2 - t12 * t3) - c
        dbig = term * big / g
        dk = -k * k * dbig
        dann = big * k - i * dbig * k * k
        d1 = dk * t1 + k * (dbig * pv - v * dp)
        d2 = dk * t2 + k * (dbig * dv - v * ddd / g + dd / (g * g))
        d3 = dk * t3 + k * (dbig * ov - v * do / g + o / (g * g))
        step = 12.0 * gap / (dann * pv + prepay * d1 + rec * d2 - t12 * d3)
        if not math.isfinite(step):
            return a
        new = min(max(a - step, APR_SEARCH_MIN), APR_SEARCH_MAX)
        if abs(step) <= STOP_APR or new == a:
            return new
        a = new
    return a


def apr_array(pd: Any, amount: Any, term: Any, target: Any, eco: LoanEconomics) -> Any:
    """:func:`apr_float` on arrays (valid rows), the same steps."""
    lam = hazard_array(pd, term, eco)
    v, keep = 1.0 / (1.0 + eco.cost_of_funds / 12.0), 1.0 - eco.prepayment
    segs = []
    q: Any = 1.0
    ov: Any = 0.0
    dv: Any = 0.0
    for first, last, w in eco._segments:
        f = float(first)
        m = np.maximum(np.minimum(term, last) - f + 1.0, 0.0)
        c2, c3, c4 = _binomials_array(m)
        om = -np.expm1(-lam * w)
        r = (1.0 - om) * keep
        y = r * v
        d = 1.0 - y
        near = (d > -SERIES) & (d < SERIES)
        geo = np.where(
            near, m - d * (c2 - d * (c3 - d * c4)), (1.0 - y**m) / np.where(near, 1.0, d)
        )
        base = q * v**f * np.where(m <= 0.0, 0.0, geo)
        ov = ov + base
        dv = dv + base * om
        segs.append((f, m, om, r, q, c2, c3, c4))
        q = q * r**m
    pv = ov - dv
    c = (eco.cost_per_loan + eco.acquisition_per_loan + eco.cost_per_month * ov) / amount
    prepay, rec, fu, fm = eco.prepayment, recovery_factor(eco), eco.fee_upfront, eco.fee_monthly
    loss = eco.lgd * 12.0 * np.minimum(np.maximum(pd, 0.0), 0.999) / np.minimum(term, 12.0)
    a = eco.cost_of_funds + target + loss + c * 24.0 / (term + 1.0)
    a = np.minimum(np.maximum(a, APR_SEARCH_MIN), APR_SEARCH_MAX)
    t12 = target / 12.0
    active = np.isfinite(a)
    for _ in range(STEPS):
        i = a / 12.0
        g = 1.0 + i
        e = term * np.log1p(i)
        big = np.exp(e)
        k = 1.0 / np.expm1(e)
        x = v * g
        o: Any = 0.0
        dd: Any = 0.0
        do: Any = 0.0
        ddd: Any = 0.0
        for f, m, om, r, q, c2, c3, c4 in segs:
            geo, dgeo = _geo_array(r * x, m, c2, c3, c4)
            qx = q * x**f
            b = qx * geo
            db = qx * (f * geo / x + r * dgeo)
            o = o + b
            dd = dd + b * om
            do = do + db
            ddd = ddd + db * om
        pp = o - dd
        dp = do - ddd
        t1 = big * pv - pp
        t2 = big * dv - dd / g
        t3 = big * ov - o / g
        gap = -1.0 + fu + (i * big * k + fm) * pv + k * (prepay * t1 + rec * t2 - t12 * t3) - c
        dbig = term * big / g
        dk = -k * k * dbig
        dann = big * k - i * dbig * k * k
        d1 = dk * t1 + k * (dbig * pv - v * dp)
        d2 = dk * t2 + k * (dbig * dv - v * ddd / g + dd / (g * g))
        d3 = dk * t3 + k * (dbig * ov - v * do / g + o / (g * g))
        step = 12.0 * gap / (dann * pv + prepay * d1 + rec * d2 - t12 * d3)
        finite = np.isfinite(step)
        new = np.minimum(np.maximum(a - step, APR_SEARCH_MIN), APR_SEARCH_MAX)
        move = active & finite
        done = (np.abs(step) <= STOP_APR) | (new == a)
        a = np.where(move, new, a)
        active = move & ~done
        if not active.any():
            break
    return a
