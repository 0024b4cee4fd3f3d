"""The online APR from a verified 2-D table per (economics, term, target).

The amount enters the lifetime model only through the fixed costs per loan relative to it
(``(cost_per_loan + acquisition + cost_per_month x months open) / amount``), so for a given
economics, term and target the APR is a smooth function of the PD and of ``1 / amount``: nearly
linear in both. After ``BUILD_AFTER`` online prices of one (economics, term, target), a table is
built with the array solver (``apr_array``, one vectorised pass) at ``PD_NODES x X_NODES``
nodes, uniform over ``pd`` in ``[0, PD_MAX]`` and ``1 / amount`` in ``[0, 1 / AMOUNT_MIN]``, and
turned into the bicubic polynomial of every cell (the tensor product of the cubics through the
four nearest nodes in each direction).

**The guarantee, checked when the table is built**: at the midpoint of every cell, the table
is within ``TOLERANCE`` (1e-7 APR) of the exact solve; a cell where it is not, or whose nodes
touch the solver's bounds (``APR_SEARCH_MIN``, ``APR_SEARCH_MAX``: the APR is not smooth there)
or are not finite, is marked and priced by the exact solve instead. Between midpoints the
interpolation error of a smooth function is of the same size (its bound scales with the fourth
derivatives, the midpoint being where the cubic's error term is largest), and tests check random
points against the exact solve. A PD or an amount outside the table's range is priced by the
exact solve too.

The ``TABLES`` tables built last are kept (1.6 MB each: 16 coefficients of 12,288 cells); a
table dropped is built again when it is next needed, to the same values.
"""

from __future__ import annotations

import math
import threading
from array import array
from collections import OrderedDict
from typing import Any

import numpy as np

from creditfactory.pricing._economics import LoanEconomics
from creditfactory.pricing._solve import APR_SEARCH_MAX, APR_SEARCH_MIN, apr_array, apr_float

PD_MAX = 0.6
AMOUNT_MIN = 250.0
PD_NODES = 193  # a node every 0.003125 of PD
X_NODES = 65  # a node every 1 / 16,000 of 1 / amount
TOLERANCE = 1e-7  # APR: the largest error allowed in a verified cell
#: the error bound of a cell: its centre's error, and MARGIN x the sum of its sides' midpoints'
#: errors (the one-sided cubics at the table's edges err up to 7% more off their midpoint)
MARGIN = 1.1
TABLES = 16  # tables kept at most, the least recently built dropped first

_PD_SCALE = (PD_NODES - 1) / PD_MAX
_X_SCALE = (X_NODES - 1) * AMOUNT_MIN  # cell coordinate of 1 / amount, times the amount
_PD_CELLS = float(PD_NODES - 1)
_X_CELLS = float(X_NODES - 1)
_ROW = 16 * (X_NODES - 1)  # coefficients per row of cells

_KEPT: OrderedDict[tuple[int, float, float], dict[Any, Any]] = OrderedDict()
_LOCK = threading.Lock()


def _stencil_starts(nodes: int, first: int) -> list[int]:
    """Per cell (between nodes ``first + i`` and ``first + i + 1``), the first of the four
    nodes of its cubic: the nearest two on each side, shifted inwards at the ends."""
    return [min(max(first + i, 1), nodes - 3) - 1 for i in range(nodes - 1 - first)]


def _cubic_basis(nodes: int, first: int) -> np.ndarray:
    """Per cell, the 4 x 4 matrix taking its stencil's values to the power coefficients, in
    ``u`` in [0, 1) across the cell, of their cubic."""
    starts = _stencil_starts(nodes, first)
    out = np.empty((len(starts), 4, 4))
    q = np.array([0.0, 1.0 / 3.0, 2.0 / 3.0, 1.0])
    vander = q[:, None] ** np.arange(4)[None, :]
    for i, start in enumerate(starts):
        x = q + (first + i - start - 1)  # positions relative to the stencil's second node
        a, b, c = x + 1.0, x - 1.0, x - 2.0
        weights = np.stack([-x * b * c / 6.0, a * b * c / 2.0, -a * x * c / 2.0, a * x * b / 6.0])
        out[i] = np.linalg.solve(vander, weights.T).T  # (node, power)
    return out


def _stencils(values: np.ndarray, nodes: int, first: int, axis: int) -> np.ndarray:
    idx = np.array([np.arange(4) + start for start in _stencil_starts(nodes, first)])
    return np.take(values, idx, axis=axis)


def _evaluate(coef: np.ndarray, u: float, v: float) -> np.ndarray:
    """The cells' polynomials at local ``(u, v)``, the same arithmetic as :func:`apr_fast`."""
    c = coef.reshape(*coef.shape[:2], 4, 4)
    rows = [
        c[..., a, 0] + v * (c[..., a, 1] + v * (c[..., a, 2] + v * c[..., a, 3])) for a in range(4)
    ]
    return rows[0] + u * (rows[1] + u * (rows[2] + u * rows[3]))


def _solve_grid(
    pd: np.ndarray, x: np.ndarray, term: float, target: float, eco: LoanEconomics
) -> np.ndarray:
    p, xx = np.meshgrid(pd, x, indexing="ij")
    with np.errstate(all="ignore"):
        amount = 1.0 / xx.ravel()
        n = amount.size
        out = apr_array(p.ravel(), amount, np.full(n, term), np.full(n, target), eco)
    return np.asarray(out).reshape(p.shape)


def build(eco: LoanEconomics, term: float, target: float) -> tuple[np.ndarray, int]:
    """The coefficients of every cell (16 a cell, NaN where the exact solve is used) and the
    number of cells that fell back to it."""
    pd = np.linspace(0.0, PD_MAX, PD_NODES)
    # 1 / amount from one node below 0 (a negative amount: the model is smooth through 0 in
    # the cost share), so that the cells of the largest amounts have centred cubics too
    h = 1.0 / AMOUNT_MIN / (X_NODES - 1)
    x = np.linspace(-h, 1.0 / AMOUNT_MIN, X_NODES + 1)
    nodes = _solve_grid(pd, x, term, target, eco)
    pc, xc = PD_NODES - 1, X_NODES - 1
    by_pd = _stencils(nodes, PD_NODES, 0, 0)  # (cell i, 4, x node)
    stencil = _stencils(by_pd, X_NODES + 1, 1, 2)  # (i, r, k, s)
    mu, mv = _cubic_basis(PD_NODES, 0), _cubic_basis(X_NODES + 1, 1)
    coef = np.einsum("ira,irks,ksb->ikab", mu, stencil, mv).reshape(pc, xc, 16)
    x = x[1:]
    pm, xm = (pd[:-1] + pd[1:]) / 2.0, (x[:-1] + x[1:]) / 2.0
    centre = np.abs(_evaluate(coef, 0.5, 0.5) - _solve_grid(pm, xm, term, target, eco))
    # the midpoints of the cell's sides: the error of a tensor cubic is, to leading order,
    # A w(u) + B w(v) with |w| largest mid-cell, so the two sides' errors bound the whole cell
    across_pd = _solve_grid(pm, x, term, target, eco)
    across_x = _solve_grid(pd, xm, term, target, eco)
    side_pd = np.maximum(
        np.abs(_evaluate(coef, 0.5, 0.0) - across_pd[:, :-1]),
        np.abs(_evaluate(coef, 0.5, 1.0) - across_pd[:, 1:]),
    )
    side_x = np.maximum(
        np.abs(_evaluate(coef, 0.0, 0.5) - across_x[:-1]),
        np.abs(_evaluate(coef, 1.0, 0.5) - across_x[1:]),
    )
    error = np.maximum(centre, MARGIN * (side_pd + side_x))
    smooth = np.all(
        np.isfinite(stencil) & (stencil > APR_SEARCH_MIN) & (stencil < APR_SEARCH_MAX),
        axis=(1, 3),
    )
    good = smooth & (error <= TOLERANCE)
    coef[~good] = np.nan
    return coef.ravel(), int(np.count_nonzero(~good))


def table(eco: LoanEconomics, term: float, target: float) -> tuple[array, np.ndarray]:
    """The table of (economics, term, target), built on first use (online or batch alike, so
    that a price never depends on what was priced before) and kept in the LRU of ``TABLES``."""
    tables = eco._tables
    key = (term, target)
    found = tables.get(key)
    if found is not None:
        return found  # type: ignore[no-any-return]
    coef, _ = build(eco, term, target)
    floats = array("d", coef.tolist())  # the online path's; batch reads the same memory
    found = (floats, np.frombuffer(floats, dtype=np.float64))
    with _LOCK:
        tables[key] = found
        _KEPT[(id(tables), term, target)] = tables
        while len(_KEPT) > TABLES:
            (_, t, g), owner = _KEPT.popitem(last=False)
            owner.pop((t, g), None)
    return found


def apr_batch(pd: Any, amount: Any, term: Any, target: Any, eco: LoanEconomics) -> Any:
    """:func:`apr_fast` on arrays (valid rows): the same cells, the same arithmetic (so the
    same bits), the exact array solve where the float path takes the exact solve."""
    out = np.full(pd.shape, np.nan)
    t = pd * _PD_SCALE
    with np.errstate(all="ignore"):
        s = _X_SCALE / amount
    inside = (t >= 0.0) & (t < _PD_CELLS) & (s < _X_CELLS)
    pairs = np.unique(np.stack([term[inside], target[inside]], axis=1), axis=0)
    for n, g in pairs:
        rows = inside & (term == n) & (target == g)
        coef = table(eco, float(n), float(g))[1]
        tr, sr = t[rows], s[rows]
        i = tr.astype(np.int64)
        k = sr.astype(np.int64)
        u = tr - i
        v = sr - k
        c = coef[(i * _ROW + 16 * k)[:, None] + np.arange(16)].T
        out[rows] = (c[0] + v * (c[1] + v * (c[2] + v * c[3]))) + u * (
            (c[4] + v * (c[5] + v * (c[6] + v * c[7])))
            + u
            * (
                (c[8] + v * (c[9] + v * (c[10] + v * c[11])))
                + u * (c[12] + v * (c[13] + v * (c[14] + v * c[15])))
            )
        )
    rest = np.isnan(out)
    if rest.any():
        out[rest] = apr_array(pd[rest], amount[rest], term[rest], target[rest], eco)
    return out


def apr_fast(pd: float, amount: float, term: float, target: float, eco: LoanEconomics) -> float:
    """:func:`apr_float` from the table where it holds (within ``TOLERANCE``), else the exact
    solve (``amount`` > 0, ``term`` a whole number >= 1, everything finite)."""
    found = eco._tables.get((term, target))
    coef = (found or table(eco, term, target))[0]
    t = pd * _PD_SCALE
    s = _X_SCALE / amount
    if 0.0 <= t < _PD_CELLS and s < _X_CELLS:
        i = int(t)
        k = int(s)
        u = t - i
        v = s - k
        b = i * _ROW + 16 * k
        c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14, c15 = coef[b : b + 16]
        r = (c0 + v * (c1 + v * (c2 + v * c3))) + u * (
            (c4 + v * (c5 + v * (c6 + v * c7)))
            + u
            * ((c8 + v * (c9 + v * (c10 + v * c11))) + u * (c12 + v * (c13 + v * (c14 + v * c15))))
        )
        if r == r:  # not NaN: a verified cell
            return r
    return apr_float(pd, amount, term, target, eco)


def price_float(pd: float, amount: float, term: float, target: float, eco: LoanEconomics) -> float:
    """:func:`apr_float` after checking its arguments (``risk_based_apr`` on floats)."""
    if not (term >= 1.0 and term.is_integer()):
        raise ValueError(f"term: a whole number of months >= 1, not {term!r}")
    if not (amount >= 0.0 and math.isfinite(amount)):
        raise ValueError(f"amount: a finite number >= 0, not {amount!r}")
    if not (math.isfinite(pd) and math.isfinite(target)):
        raise ValueError(f"pd and target_return: finite numbers, not {pd!r} and {target!r}")
    if amount == 0.0:
        return APR_SEARCH_MAX  # nothing lent earns nothing: no APR reaches the target
    return apr_fast(pd, amount, term, target, eco)
