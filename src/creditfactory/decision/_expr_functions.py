"""Built-in functions of the expression language, each with a type rule and two back-ends.

Null rules (the same in both back-ends):

- ``min``/``max`` ignore null arguments and are null only when all are null;
- ``clip(x, lo, hi)`` is null when ``x`` is; a null bound is ignored; it returns
  ``max(lo, min(x, hi))``, so ``lo`` wins when ``lo > hi``;
- ``coalesce(a, b, ...)`` is the first non-null argument;
- ``if(c, a, b)`` is ``b`` when ``c`` is false *or null*;
- ``is_null(x)`` is never null;
- ``abs``, ``floor`` and the pricing functions are null when any argument is null or when the
  result is not finite (e.g. a zero term).

Polars note: the back-end writes "null unless ok" as ``pl.when(ok).then(x)`` and never as
``.then(None)``/``.otherwise(None)``; in Polars 2.1 a literal compared with the latter form over
an all-null column returns a length-1 result (found by the property tests).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from creditfactory import pricing
from creditfactory.decision._expr_parse import ExpressionError
from creditfactory.decision._expr_types import BOOL, Type, unify

PyFn = Callable[[dict[str, Any]], Any]


@dataclass(frozen=True)
class FunctionSpec:
    """One built-in: its arity, type rule and the Python and Polars builders."""

    name: str
    arity: tuple[int, int | None]
    check: Callable[[list[Type]], Type]
    py: Callable[[list[PyFn], list[Type], Type], PyFn]
    pl: Callable[[list[pl.Expr], list[Type], Type], pl.Expr]
    doc: str = ""
    # computed by NumPy code over whole columns in batch (not a Polars expression): worth
    # giving only the rows that need it (see AssignStep.batch)
    vector: bool = False


def _numbers(types: Sequence[Type]) -> None:
    for i, t in enumerate(types):
        if not t.numeric:
            raise ExpressionError(f"argument {i + 1} must be a number, got {t}")


def _check_minmax(types: list[Type]) -> Type:
    _numbers(types)
    kind = "int" if all(t.kind in ("int", "null") for t in types) else "float"
    return Type(kind, all(t.nullable for t in types))


def _py_minmax(pick: Callable[..., Any]) -> Callable[[list[PyFn], list[Type], Type], PyFn]:
    def build(fs: list[PyFn], types: list[Type], out: Type) -> PyFn:
        cast = float if out.kind == "float" else (lambda v: v)
        if len(fs) == 2:  # the common case, kept lean for the online path
            f1, f2 = fs
            is_min = pick is min

            def run2(env: dict[str, Any]) -> Any:
                a, b = f1(env), f2(env)
                if a is None:
                    return None if b is None else cast(b)
                if b is None:
                    return cast(a)
                return cast((a if a <= b else b) if is_min else (a if a >= b else b))

            return run2

        def run(env: dict[str, Any]) -> Any:
            vals = [v for v in (f(env) for f in fs) if v is not None]
            return cast(pick(vals)) if vals else None

        return run

    return build


def _check_clip(types: list[Type]) -> Type:
    _numbers(types)
    kind = "int" if all(t.kind in ("int", "null") for t in types) else "float"
    return Type(kind, types[0].nullable)


def _py_clip(fs: list[PyFn], types: list[Type], out: Type) -> PyFn:
    fx, flo, fhi = fs
    cast = float if out.kind == "float" else (lambda v: v)

    def run(env: dict[str, Any]) -> Any:
        x = fx(env)
        if x is None:
            return None
        hi = fhi(env)
        if hi is not None and hi < x:
            x = hi
        lo = flo(env)
        if lo is not None and lo > x:
            x = lo
        return cast(x)

    return run


def _pl_clip(es: list[pl.Expr], types: list[Type], out: Type) -> pl.Expr:
    x, lo, hi = es
    inner = pl.max_horizontal(lo, pl.min_horizontal(x, hi))
    return pl.when(x.is_not_null()).then(inner)


def _check_coalesce(types: list[Type]) -> Type:
    out = types[0]
    for t in types[1:]:
        u = unify(out, t)
        if u is None:
            raise ExpressionError(f"arguments mix {out} and {t}")
        out = u
    return Type(out.kind, all(t.nullable for t in types))


def _py_coalesce(fs: list[PyFn], types: list[Type], out: Type) -> PyFn:
    cast = float if out.kind == "float" else (lambda v: v)

    def run(env: dict[str, Any]) -> Any:
        for f in fs:
            v = f(env)
            if v is not None:
                return cast(v)
        return None

    return run


def _check_if(types: list[Type]) -> Type:
    cond, a, b = types
    if cond.kind not in ("bool", "null"):
        raise ExpressionError(f"the condition must be a bool, got {cond}")
    u = unify(a, b)
    if u is None:
        raise ExpressionError(f"branches mix {a} and {b}")
    return u


def _py_if(fs: list[PyFn], types: list[Type], out: Type) -> PyFn:
    fc, fa, fb = fs
    if out.kind == "float":

        def run(env: dict[str, Any]) -> Any:
            v = fa(env) if fc(env) else fb(env)
            return None if v is None else float(v)

        return run
    return lambda env: fa(env) if fc(env) else fb(env)


def _pl_if(es: list[pl.Expr], types: list[Type], out: Type) -> pl.Expr:
    return pl.when(es[0]).then(es[1]).otherwise(es[2])


def _check_is_null(types: list[Type]) -> Type:
    return BOOL


def _py_is_null(fs: list[PyFn], types: list[Type], out: Type) -> PyFn:
    f = fs[0]
    return lambda env: f(env) is None


def _float_fn(
    fn: Callable[..., Any], name: str, doc: str, arity: tuple[int, int | None]
) -> FunctionSpec:
    """A numeric function of floats: null in, null out; a non-finite result becomes null."""

    def check(types: list[Type]) -> Type:
        _numbers(types)
        return Type("float", True)

    def py(fs: list[PyFn], types: list[Type], out: Type) -> PyFn:
        isfinite = math.isfinite

        def run(env: dict[str, Any]) -> Any:
            args = [f(env) for f in fs]
            if None in args:
                return None
            try:
                r = fn(*args)  # ints stay ints: the formulas give the same floats either way
            except (ZeroDivisionError, OverflowError, ValueError):
                return None
            return float(r) if isfinite(r) else None

        return run

    def to_pl(es: list[pl.Expr], types: list[Type], out: Type) -> pl.Expr:
        r = fn(*[e.cast(pl.Float64) for e in es])
        ok = r.is_finite()
        for e in es:  # Polars' min/max_horizontal skip nulls; a function of a null is null
            ok = ok & e.is_not_null()
        return pl.when(ok).then(r)

    return FunctionSpec(name, arity, check, py, to_pl, doc)


def _vector_fn(
    fn: Callable[..., Any],
    name: str,
    doc: str,
    arity: tuple[int, int | None],
    online: Callable[..., Any] | None = None,
) -> FunctionSpec:
    """A numeric function computed by NumPy code that is not a Polars expression (the lifetime
    model): online it gets floats, in batch the columns as NumPy arrays through
    ``pl.map_batches``. The same function either way (``online``, when given, is its float
    path without the array dispatch); null in, null out; a non-finite result or an invalid
    argument (``ValueError``) becomes null."""
    spec = _float_fn(online or fn, name, doc, arity)

    def run_batch(series: Sequence[pl.Series]) -> pl.Series:
        arrays = [s.cast(pl.Float64).to_numpy() for s in series]
        r = np.asarray(fn(*arrays), dtype=float)
        # non-finite -> null here, so the expression below uses the result once (Polars does
        # not share a UDF's result between two uses: it would run the solver twice)
        return pl.Series(np.where(np.isfinite(r), r, np.nan), dtype=pl.Float64).fill_nan(None)

    def to_pl(es: list[pl.Expr], types: list[Type], out: Type) -> pl.Expr:
        args = [e.cast(pl.Float64) for e in es]
        r = pl.map_batches(args, run_batch, return_dtype=pl.Float64)
        ok = es[0].is_not_null()
        for e in es[1:]:
            ok = ok & e.is_not_null()
        return pl.when(ok).then(r)

    return FunctionSpec(name, arity, spec.check, spec.py, to_pl, doc, vector=True)


@functools.lru_cache(maxsize=256)
def _economics(lgd: float, cost_of_funds: float) -> pricing.LoanEconomics:
    return pricing.LoanEconomics(lgd=lgd, cost_of_funds=cost_of_funds)


def _by_economics(
    compute: Callable[..., Any], args: tuple[Any, ...], lgd: Any, cost_of_funds: Any
) -> Any:
    """``compute(*args, economics)`` with the economics of each row's ``lgd`` and
    ``cost_of_funds`` (one call per distinct pair: in practice one, the strategy's params)."""
    if isinstance(lgd, float | int) and isinstance(cost_of_funds, float | int):
        return compute(*args, _economics(float(lgd), float(cost_of_funds)))
    arrays = np.broadcast_arrays(*[np.asarray(a, dtype=float) for a in (*args, lgd, cost_of_funds)])
    *cols, lgd_a, cof_a = arrays
    out = np.full(lgd_a.shape, np.nan)
    if lgd_a.size and (lgd_a == lgd_a.flat[0]).all() and (cof_a == cof_a.flat[0]).all():
        # one pair for every row (a strategy's params: the usual case), without sorting pairs;
        # each row's price depends on its own row only, so this equals the loop below
        lg, cf = float(lgd_a.flat[0]), float(cof_a.flat[0])
        if not (math.isfinite(lg) and math.isfinite(cf)):
            return out
        try:
            eco = _economics(lg, cf)
        except ValueError:
            return out  # out of range: every row stays NaN (null)
        return np.asarray(compute(*cols, eco), dtype=float)
    pairs = np.unique(np.stack([lgd_a.ravel(), cof_a.ravel()], axis=1), axis=0)
    for lg, cf in pairs:
        if not (np.isfinite(lg) and np.isfinite(cf)):
            continue
        rows = (lgd_a == lg) & (cof_a == cf)
        try:
            eco = _economics(float(lg), float(cf))
        except ValueError:
            continue  # out of range: those rows stay NaN (null)
        out[rows] = compute(*[c[rows] for c in cols], eco)
    return out


def _loan_apr_online(
    pd: float,
    amount: float,
    term: float,
    target_return: float = pricing.TARGET_RETURN,
    lgd: float = pricing.LGD,
    cost_of_funds: float = pricing.COST_OF_FUNDS,
) -> float:
    """``_loan_apr`` on floats, straight to the solver's float path."""
    eco = _economics(float(lgd), float(cost_of_funds))
    return pricing.risk_based_apr(pd, amount, term, target_return, eco)  # type: ignore[no-any-return]


def _loan_apr(
    pd: Any,
    amount: Any,
    term: Any,
    target_return: Any = pricing.TARGET_RETURN,
    lgd: Any = pricing.LGD,
    cost_of_funds: Any = pricing.COST_OF_FUNDS,
) -> Any:
    return _by_economics(
        pricing.risk_based_apr, (pd, amount, term, target_return), lgd, cost_of_funds
    )


def _loan_profit(
    amount: Any, apr: Any, term: Any, pd: Any, lgd: Any = pricing.LGD,
    cost_of_funds: Any = pricing.COST_OF_FUNDS,
) -> Any:  # fmt: skip
    def npv(*args: Any) -> Any:
        return pricing.loan_value(*args).npv

    return _by_economics(npv, (amount, apr, term, pd), lgd, cost_of_funds)


def _loan_return(
    amount: Any, apr: Any, term: Any, pd: Any, lgd: Any = pricing.LGD,
    cost_of_funds: Any = pricing.COST_OF_FUNDS,
) -> Any:  # fmt: skip
    def ret(*args: Any) -> Any:
        return pricing.loan_value(*args).annual_return

    return _by_economics(ret, (amount, apr, term, pd), lgd, cost_of_funds)


def _floor(x: Any) -> Any:
    return x.floor() if isinstance(x, pl.Expr) else math.floor(x)


FUNCTIONS: dict[str, FunctionSpec] = {
    spec.name: spec
    for spec in [
        FunctionSpec(
            "min", (1, None), _check_minmax, _py_minmax(min),
            lambda es, ts, o: pl.min_horizontal(*es), "least non-null argument",
        ),
        FunctionSpec(
            "max", (1, None), _check_minmax, _py_minmax(max),
            lambda es, ts, o: pl.max_horizontal(*es), "greatest non-null argument",
        ),
        FunctionSpec("clip", (3, 3), _check_clip, _py_clip, _pl_clip, "max(lo, min(x, hi))"),
        FunctionSpec(
            "coalesce", (1, None), _check_coalesce, _py_coalesce,
            lambda es, ts, o: pl.coalesce(*es), "first non-null argument",
        ),
        FunctionSpec("if", (3, 3), _check_if, _py_if, _pl_if, "if(cond, then, else)"),
        FunctionSpec(
            "is_null", (1, 1), _check_is_null,
            _py_is_null,
            lambda es, ts, o: es[0].is_null(), "true when the argument is null",
        ),
        _float_fn(abs, "abs", "absolute value", (1, 1)),
        _float_fn(_floor, "floor", "round down (a float)", (1, 1)),
        _float_fn(pricing.floor_to, "floor_to", "floor_to(x, step): round down to step", (2, 2)),
        _vector_fn(
            _loan_apr, "loan_apr",
            "loan_apr(pd, amount, term, [target_return, lgd, cost_of_funds]): lifetime APR",
            (3, 6), _loan_apr_online,
        ),
        _vector_fn(
            _loan_profit, "loan_profit",
            "loan_profit(amount, apr, term, pd, [lgd, cost_of_funds]): lifetime NPV", (4, 6),
        ),
        _vector_fn(
            _loan_return, "loan_return",
            "loan_return(amount, apr, term, pd, [lgd, cost_of_funds]): annual return", (4, 6),
        ),
        _float_fn(pricing.annuity_payment, "annuity_payment", "annuity_payment(amount, apr, term)",
                  (3, 3)),
        _float_fn(
            pricing.affordable_limit, "affordable_limit",
            "affordable_limit(monthly_income, monthly_debt, apr, term, [dti_cap])", (4, 5),
        ),
        _float_fn(
            pricing.assign_limit, "assign_limit",
            "assign_limit(income, debt, apr, term, income_multiple, cap, [dti_cap, step])",
            (6, 8),
        ),
        _float_fn(pricing.expected_loss, "expected_loss", "expected_loss(pd, lgd, ead)", (3, 3)),
    ]
}  # fmt: skip
