"""Fast solvers of the lifetime model: the default curve's level for a PD, the APR for a
target return.

- **The level** solves ``P(default within min(term, 12) months) = pd``, a function of
  ``z = -log(1 - pd)`` alone per (economics, window). A table per window holds the level at
  2,049 values of ``z`` (as a ratio to its first-order value ``z / span``); the cubic through
  the four nearest nodes is the level, checked when the table is built against the solve at
  every midpoint (within 1e-11; where it is not, Newton steps polish it).
- **The APR** solves ``return(apr) = target`` by Newton's method on the return (nearly linear
  in the APR; its derivative has a closed form, the model's sums being geometric per segment
  of the curve) from a one-period first guess: two or three steps. A solve stops when its step
  is below 1e-10 or when the error left after it, estimated from the last two steps
  (quadratic convergence: ``step**3 / previous**2``), is below 1e-12, that step taken.

Every solver has a float version (plain ``math``, inlined: the online path, a few
microseconds a price) and an array version (NumPy, one vectorised pass per step) that take the
same steps in the same order, so that a price online and in batch agree to rounding.

What depends only on the economics and the term (the curve's segments within the term and
within the 12-month window, binomial coefficients of the series near ``y = 1``, the level's
table) is computed once per (economics, term) and kept on the economics object
(``LoanEconomics._plans``).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from creditfactory.pricing._economics import BAD_WINDOW, LoanEconomics

PD_FLOOR = 1e-9
APR_SEARCH_MIN = 1e-4
APR_SEARCH_MAX = 10.0
STOP = 1e-9  # relative step below which the level's solve from a rough guess has converged
STOP_WARM = 1e-6  # the same from the table's guess (one step: what is left is ~1e-15)
EXACT = 1e-11  # relative error of the table's level below which it needs no Newton step
NODES = 2048  # of the table of the level's first guess over -log(1 - pd) in [0, ZMAX]
ZMAX = -math.log1p(-0.999)
#: the APR's solve stops when its step is below ``TINY`` or when the error left after the step,
#: estimated from the last two steps (quadratic convergence: ``step**3 / previous**2``), is
#: below ``LEFT`` (both in APR units)
TINY = 1e-10
LEFT = 1e-12
STEPS = 40  # at most; never reached on the tested domain
SERIES = 1e-5  # |1 - y| below which the geometric sums use their series at y = 1
NEAR = 1e-3  # |1 - y| below which they use log1p/expm1 (y**m loses eps / |1 - y|)

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
    ratios: tuple[float, ...]  # level x span / -log(1 - pd) at NODES + 1 points of [0, ZMAX]
    exact: bool  # the table's interpolation is within EXACT of the solve


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
    ratios, exact = _ratios(eco, min(term, float(BAD_WINDOW)))
    out = _Plan(
        life=life,
        window=tuple(window),
        span=span,
        v=1.0 / (1.0 + eco.cost_of_funds / 12.0),
        recovered=recovery_factor(eco),
        keep=keep,
        fixed=eco.cost_per_loan + eco.acquisition_per_loan,
        ratios=ratios,
        exact=exact,
    )
    eco._plans[term] = out
    return out


def _ratios(eco: LoanEconomics, window: float) -> tuple[tuple[float, ...], bool]:
    """The level's table of a window: Newton from the first-order guess at ``NODES + 1``
    values of ``-log(1 - pd)``, as ratios to that guess (1 at 0), and whether its cubic
    interpolation is exact (within ``EXACT`` of the solve at every midpoint between nodes: the
    level is then taken from the table, else polished by Newton steps)."""
    key = ("ratios", window)
    found = eco._plans.get(key)
    if found is None:
        h = ZMAX / NODES
        z = np.concatenate([np.arange(1, NODES + 1) * h, (np.arange(NODES) + 0.5) * h])
        with np.errstate(all="ignore"):
            segs, spans = _window_array(np.full(z.shape, window), eco)
            lam = _level_array(z, z / spans, segs, 1.0 - eco.prepayment, STOP)
        span = float(spans[0])
        ratios = (1.0, *(lam[:NODES] * span / z[:NODES]).tolist())
        if not all(math.isfinite(r) and r > 0.0 for r in ratios):  # pragma: no cover
            raise ArithmeticError(f"the default curve's level is not finite ({eco!r})")
        mid = z[NODES:]
        error = np.abs(_guess(mid, ratios, span) / lam[NODES:] - 1.0)
        found = (ratios, bool(np.all(error <= EXACT)))
        eco._plans[key] = found
    return found


# --------------------------------------------------------------------------- the curve's level


def _guess(z: Any, ratios: tuple[float, ...] | np.ndarray, span: float) -> Any:
    """The level at ``z = -log(1 - pd)`` from the table: the cubic through the four nearest
    nodes (floats or arrays, the same arithmetic)."""
    t = z * (NODES / ZMAX)
    if isinstance(t, float):
        j = min(max(int(t), 1), NODES - 2)
        u = t - j
        r0, r1, r2, r3 = ratios[j - 1], ratios[j], ratios[j + 1], ratios[j + 2]
    else:
        j = np.minimum(np.maximum(t.astype(np.int64), 1), NODES - 2)
        u = t - j
        table = np.asarray(ratios)
        r0, r1, r2, r3 = table[j - 1], table[j], table[j + 1], table[j + 2]
    a, b, c = u + 1.0, u - 1.0, u - 2.0
    ratio = (b * c * (a * r1 - u * r0 / 3.0) + a * u * (r3 * b / 3.0 - r2 * c)) * 0.5
    return z * ratio / span


def hazard_float(pd: float, p: _Plan) -> float:
    """Level of the default curve that gives ``pd`` within the window (floats): Newton from
    the table's guess, usually one step."""
    if pd != pd:  # NaN: no level (loan_value then gives NaN, as arrays do)
        return math.nan
    pd = min(max(pd, PD_FLOOR), 0.999)
    target = -math.log1p(-pd)
    lam = _guess(target, p.ratios, p.span)
    if p.exact:
        return lam
    expm1, log1p, keep = math.expm1, math.log1p, p.keep
    for _ in range(STEPS):
        got = dgot = 0.0
        q = 1.0
        for m, w, before, c2, c3, c4 in p.window:
            om = -expm1(-lam * w)  # 1 - s, without cancellation for a small level
            s = 1.0 - om
            y = s * keep
            d = 1.0 - y
            if -NEAR < d < NEAR:
                geo, dgeo = _geo_near(d, m, c2, c3, c4)
            else:
                ym1 = y ** (m - 1.0)
                geo = (1.0 - ym1 * y) / d
                dgeo = (geo - m * ym1) / d
            a = q * om
            got += a * geo
            # d/dlam of q (1 - s) geo(y): q' = -before q, s' = -w s, y' = -w y
            dgot += q * geo * (w * s - before * om) - a * dgeo * w * y
            q *= y**m
        step = (-log1p(-got) - target) * (1.0 - got) / dgot
        new = lam - step
        if new < 0.5 * lam:
            new = 0.5 * lam
        if abs(step) <= STOP_WARM * lam:
            return new
        lam = new
    return lam


def _window_array(window: Any, eco: LoanEconomics) -> tuple[list[tuple[Any, ...]], Any]:
    """The window's segments per row (months, weight, weight-months before, binomials) and
    the first-order span, as :func:`plan` computes them for one term."""
    keep = 1.0 - eco.prepayment
    segs, before, span, month = [], 0.0, 0.0, 0.0
    for first, last, w in eco._segments:
        m = np.maximum(np.minimum(window, last) - first + 1.0, 0.0)
        segs.append((m, w, before, *_binomials_array(m)))
        span = span + w * keep**month * (m if keep == 1.0 else (1.0 - keep**m) / (1.0 - keep))
        before = before + m * w
        month = month + m
    return segs, span


def _level_array(
    target: Any, lam: Any, segs: list[tuple[Any, ...]], keep: float, stop: float
) -> Any:
    """Newton steps of :func:`hazard_float` on arrays from ``lam``, stopping at ``stop``."""
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
        done = np.abs(step) <= stop * lam
        lam = np.where(active, new, lam)
        active &= ~done & np.isfinite(lam)
        if not active.any():
            break
    return lam


def hazard_array(pd: Any, term: Any, eco: LoanEconomics) -> Any:
    """:func:`hazard_float` on arrays (``term`` per row), the same steps."""
    pd = np.minimum(np.maximum(pd, PD_FLOOR), 0.999)
    target = -np.log1p(-pd)
    window = np.minimum(term, float(BAD_WINDOW))
    lam = np.full(target.shape, np.nan)
    polish = np.zeros(target.shape, dtype=bool)
    for w in np.unique(window[np.isfinite(window)]):
        rows = window == w
        p = plan(eco, float(w))
        lam[rows] = _guess(target[rows], p.ratios, p.span)
        polish |= rows & (not p.exact)
    if polish.any():
        segs, _ = _window_array(window[polish], eco)
        keep = 1.0 - eco.prepayment
        lam[polish] = _level_array(target[polish], lam[polish], segs, keep, STOP_WARM)
    return lam


def _binomials_array(m: Any) -> tuple[Any, Any, Any]:
    return (
        m * (m - 1.0) / 2.0,
        m * (m - 1.0) * (m - 2.0) / 6.0,
        (m * (m - 1.0) * (m - 2.0) * (m - 3.0) / 24.0),
    )


def _geo_near(d: float, m: float, c2: float, c3: float, c4: float) -> tuple[float, float]:
    """``1 + y + ... + y**(m-1)`` and its derivative in ``y`` for ``y = 1 - d`` near 1: the
    series below ``SERIES``, else ``(1 - y**m) / d`` with ``y**m`` from ``log1p`` and ``expm1``
    (``1 - y`` is exact there), so no digits are lost to the cancellation."""
    if -SERIES < d < SERIES:
        return m - d * (c2 - d * (c3 - d * c4)), c2 - d * (2.0 * c3 - 3.0 * d * c4)
    lg = math.log1p(-d)
    geo = -math.expm1(m * lg) / d
    return geo, (geo - m * math.exp((m - 1.0) * lg)) / d


def _geo_array(y: Any, m: Any, c2: Any, c3: Any, c4: Any) -> tuple[Any, Any]:
    """``1 + y + ... + y**(m-1)`` and its derivative in ``y``, as the float solvers do."""
    d = 1.0 - y
    safe = np.where(d == 0.0, 1.0, d)
    ym1 = y ** (m - 1.0)
    geo = (1.0 - ym1 * y) / safe
    dgeo = (geo - m * ym1) / safe
    near = (d > -NEAR) & (d < NEAR)
    if near.any():
        lg = np.log1p(-d)
        mid = -np.expm1(m * lg) / safe
        geo = np.where(near, mid, geo)
        dgeo = np.where(near, (mid - m * np.exp((m - 1.0) * lg)) / safe, dgeo)
        series = (d > -SERIES) & (d < SERIES)
        if series.any():
            geo = np.where(series, m - d * (c2 - d * (c3 - d * c4)), geo)
            dgeo = np.where(series, c2 - d * (2.0 * c3 - 3.0 * d * c4), dgeo)
    empty = m <= 0.0  # a segment beyond the term: nothing (the float solvers skip it)
    return np.where(empty, 0.0, geo), np.where(empty, 0.0, dgeo)


# --------------------------------------------------------------------------- the APR


def _newton_step(
    at_v: tuple[Any, Any, Any],
    at_x: tuple[Any, Any, Any, Any],
    rate: tuple[Any, Any, Any, Any],
    loan: tuple[Any, Any, Any, Any, Any, Any, Any],
) -> Any:
    """Newton's step on the annual return for the float and the array solver alike (plain
    arithmetic, so both take the very same steps): ``at_v`` the sums at the discount factor
    ``(ov, dv, pv)``, ``at_x`` the sums at ``x = v g`` and their derivatives ``(o, dd, do, ddd)``,
    ``rate`` ``(i, big, k, ig)`` at the current APR, ``loan`` ``(v, term, start, fm, prepay, rec,
    target)``."""
    ov, dv, pv = at_v
    o, dd, do, ddd = at_x
    i, big, k, ig = rate
    v, term, start, fm, prepay, rec, target = loan
    t1 = big * pv - (o - dd)
    t2 = big * dv - dd * ig
    t3 = big * ov - o * ig
    bk = big * k
    # NPV per unit lent (un) and 12 x balance-years per unit lent (by); the return is
    # 12 un / by, nearly linear in the APR, so Newton's method on it converges fast
    un = start + (i * bk + fm) * pv + k * (prepay * t1 + rec * t2)
    by = k * t3
    dbig = term * big * ig
    kd = k * dbig
    dk = -k * kd
    vig = v * ig
    ig2 = ig * ig
    d1 = dk * t1 + k * (dbig * pv - v * (do - ddd))
    d2 = dk * t2 + k * (dbig * dv - vig * ddd + dd * ig2)
    dby = dk * t3 + k * (dbig * ov - vig * do + o * ig2)
    dun = (bk - i * k * kd) * pv + prepay * d1 + rec * d2
    return by * (12.0 * un - target * by) / (dun * by - un * dby)


def apr_float(pd: float, amount: float, term: float, target: float, eco: LoanEconomics) -> float:
    """APR at which the loan returns ``target`` a year on its balance (floats; ``amount`` > 0,
    ``term`` a whole number >= 1, everything finite)."""
    p = plan(eco, term)
    lam = hazard_float(pd, p)
    exp, expm1, v, keep = math.exp, math.expm1, p.v, p.keep
    # the curve at this level, and its sums at the cost of funds: open (ov), defaulting (dv);
    # qv = P(open and performing at the segment's first month f) x v**f, a running product
    segs = []
    qv, ov, dv = v, 0.0, 0.0
    for f, m, w, c2, c3, c4 in p.life:
        om = -expm1(-lam * w)
        r = (1.0 - om) * keep
        y = r * v
        d = 1.0 - y
        if -NEAR < d < NEAR:
            geo = _geo_near(d, m, c2, c3, c4)[0]
            ym = y**m
        else:
            ym = y ** (m - 1.0) * y
            geo = (1.0 - ym) / d
        base = qv * geo
        ov += base
        dv += base * om
        segs.append((f, m, om, r, c2, c3, c4))
        qv *= ym
    pv = ov - dv
    c = (p.fixed + eco.cost_per_month * ov) / amount
    prepay, rec, fm = eco.prepayment, p.recovered, eco.fee_monthly
    start = eco.fee_upfront - 1.0 - c
    loss = eco.lgd * 12.0 * min(max(pd, 0.0), 0.999) / min(term, 12.0)
    a = eco.cost_of_funds + target + loss + c * 24.0 / (term + 1.0)
    a = min(max(a, APR_SEARCH_MIN), APR_SEARCH_MAX)
    log1p = math.log1p
    last = 0.0  # no previous step: only a tiny step ends the solve
    for _ in range(STEPS):
        i = a / 12.0
        g = 1.0 + i
        ig = 1.0 / g
        e = term * log1p(i)
        big = exp(e)
        k = 1.0 / expm1(e)
        x = v * g
        ix = 1.0 / x
        # the sums at x = v g and their derivatives in x; qx as qv above, at x
        o = dd = do = ddd = 0.0
        qx = x
        for f, m, om, r, c2, c3, c4 in segs:
            y = r * x
            d = 1.0 - y
            if -NEAR < d < NEAR:
                geo, dgeo = _geo_near(d, m, c2, c3, c4)
                ym = y**m
            else:
                ym1 = y ** (m - 1.0)
                ym = ym1 * y
                geo = (1.0 - ym) / d
                dgeo = (geo - m * ym1) / d
            b = qx * geo
            db = qx * (f * geo * ix + r * dgeo)
            o += b
            dd += b * om
            do += db
            ddd += db * om
            qx *= ym
        step = _newton_step(
            (ov, dv, pv),
            (o, dd, do, ddd),
            (i, big, k, ig),
            (v, term, start, fm, prepay, rec, target),
        )
        if not math.isfinite(step):
            return a
        new = min(max(a - step, APR_SEARCH_MIN), APR_SEARCH_MAX)
        size = abs(step)
        if size <= TINY or size * size * size <= LEFT * last * last or new == a:
            return new
        a, last = new, size
    return a


def _powers_array(y: Any, m: Any) -> Any:
    """``y**m`` as the float solver computes it: ``y**(m-1) * y``, or ``y**m`` near 1."""
    d = 1.0 - y
    near = (d > -NEAR) & (d < NEAR)
    return np.where(near, y**m, y ** (m - 1.0) * y)


def apr_array(pd: Any, amount: Any, term: Any, target: Any, eco: LoanEconomics) -> Any:
    """:func:`apr_float` on arrays (valid rows), the same steps."""
    lam = hazard_array(pd, term, eco)
    v, keep = 1.0 / (1.0 + eco.cost_of_funds / 12.0), 1.0 - eco.prepayment
    segs = []
    qv: Any = v
    ov: Any = 0.0
    dv: Any = 0.0
    for first, end, w in eco._segments:
        f = float(first)
        m = np.maximum(np.minimum(term, end) - f + 1.0, 0.0)
        c2, c3, c4 = _binomials_array(m)
        om = -np.expm1(-lam * w)
        r = (1.0 - om) * keep
        y = r * v
        base = qv * _geo_array(y, m, c2, c3, c4)[0]
        ov = ov + base
        dv = dv + base * om
        segs.append((f, m, om, r, c2, c3, c4))
        qv = qv * _powers_array(y, m)
    pv = ov - dv
    c = (eco.cost_per_loan + eco.acquisition_per_loan + eco.cost_per_month * ov) / amount
    prepay, rec, fm = eco.prepayment, recovery_factor(eco), eco.fee_monthly
    start = eco.fee_upfront - 1.0 - c
    loss = eco.lgd * 12.0 * np.minimum(np.maximum(pd, 0.0), 0.999) / np.minimum(term, 12.0)
    a = eco.cost_of_funds + target + loss + c * 24.0 / (term + 1.0)
    a = np.minimum(np.maximum(a, APR_SEARCH_MIN), APR_SEARCH_MAX)
    last = np.zeros(a.shape)
    active = np.isfinite(a)
    for _ in range(STEPS):
        i = a / 12.0
        g = 1.0 + i
        ig = 1.0 / g
        e = term * np.log1p(i)
        big = np.exp(e)
        k = 1.0 / np.expm1(e)
        x = v * g
        ix = 1.0 / x
        o: Any = 0.0
        dd: Any = 0.0
        do: Any = 0.0
        ddd: Any = 0.0
        qx: Any = x
        for f, m, om, r, c2, c3, c4 in segs:
            y = r * x
            geo, dgeo = _geo_array(y, m, c2, c3, c4)
            b = qx * geo
            db = qx * (f * geo * ix + r * dgeo)
            o = o + b
            dd = dd + b * om
            do = do + db
            ddd = ddd + db * om
            qx = qx * _powers_array(y, m)
        step = _newton_step(
            (ov, dv, pv),
            (o, dd, do, ddd),
            (i, big, k, ig),
            (v, term, start, fm, prepay, rec, target),
        )
        finite = np.isfinite(step)
        new = np.minimum(np.maximum(a - step, APR_SEARCH_MIN), APR_SEARCH_MAX)
        move = active & finite
        size = np.abs(step)
        done = (size <= TINY) | (size * size * size <= LEFT * last * last) | (new == a)
        a = np.where(move, new, a)
        last = np.where(move, size, last)
        active = move & ~done
        if not active.any():
            break
    return a
