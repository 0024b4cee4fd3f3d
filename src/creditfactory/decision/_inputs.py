"""Declared, typed strategy inputs: validation of one application and of a whole frame.

Both paths give the same messages: ``"<field>: <problem>"`` with problems ``missing``,
``null``, ``expected <kind>, got <kind>``, ``not a finite number``, ``outside the 64-bit
integer range``, ``below minimum <m>``, ``above maximum <m>`` and ``not an allowed value``. No
value is coerced: an ``int`` field takes integers (and floats with an integral value, as pandas
stores integer columns with gaps), a ``float`` field takes integers and floats, ``bool`` takes
booleans only and ``str`` strings only. NaN, ``pandas.NA`` and ``pandas.NaT`` count as null in
every field (pandas marks missing text with NaN); infinities, and integers too large for a float
(a 400-digit number in a JSON body), are not finite numbers; an ``int`` field holds what a
64-bit integer can (as a batch column does), whatever the declared maximum.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from creditfactory.decision._expr_types import Type
from creditfactory.exceptions import DataError

_MISSING = object()
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
FLOAT_MAX = sys.float_info.max
NOT_FINITE = "not a finite number"
INT_RANGE = "outside the 64-bit integer range"
_PY_KIND = {int: "int", float: "float", bool: "bool", str: "str"}
_PL_DTYPE = {"int": pl.Int64, "float": pl.Float64, "bool": pl.Boolean, "str": pl.String}


class InputError(DataError):
    """An application does not match the strategy's declared inputs; ``fields`` names them."""

    def __init__(self, message: str, fields: Sequence[str] = ()):
        super().__init__(message)
        self.fields = list(fields)


class OutputError(DataError):
    """A strategy gave an application a limit, APR or term no loan can carry (an infinity, a
    term beyond 32 bits): the application fails alone; ``fields`` names the outputs."""

    def __init__(self, message: str, fields: Sequence[str] = ()):
        super().__init__(message)
        self.fields = list(fields)


TERM_MAX = 2**31 - 1  # what the decisions table's term column holds on every database


def output_problems(
    limit: Any, apr: Any, term: Any, caps: Mapping[str, float] | None = None
) -> list[tuple[str, str]]:
    """``(output, problem)`` for each of limit, APR and term that is not a number a loan can
    carry: a limit or APR that is not finite, a term outside 0 .. 2**31 - 1, or any of them
    above its declared cap (``caps``: output -> maximum).

    >>> output_problems(5000.0, 0.18, 12)
    []
    >>> output_problems(float("inf"), 0.18, 2**40)
    [('limit', 'not a finite number'), ('term', 'outside 0 .. 2147483647')]
    >>> output_problems(600000.0, 0.18, 12, {"limit": 500000})
    [('limit', 'above the cap 500000')]
    """
    caps = caps or {}
    out = []
    for name, value in (("limit", limit), ("apr", apr), ("term", term)):
        if value is None:
            continue
        if name == "term" and not 0 <= value <= TERM_MAX:
            out.append(("term", f"outside 0 .. {TERM_MAX}"))
        elif name != "term" and not math.isfinite(value):
            out.append((name, NOT_FINITE))
        elif name in caps and value > caps[name]:
            out.append((name, f"above the cap {caps[name]:g}"))
    return out


@dataclass(frozen=True)
class InputSpec:
    """One declared input."""

    name: str
    kind: str
    nullable: bool = False
    minimum: float | None = None
    maximum: float | None = None
    values: frozenset[Any] | None = None
    line: int = 0

    @property
    def type(self) -> Type:
        return Type(self.kind, self.nullable)


def _kind_of(v: Any) -> str:
    if isinstance(v, bool | np.bool_):
        return "bool"
    if isinstance(v, int | np.integer):
        return "int"
    if isinstance(v, float | np.floating):
        return "float"
    if isinstance(v, str):
        return "str"
    return type(v).__name__


def check_value(spec: InputSpec, v: Any) -> tuple[Any, str | None]:
    """Validated value and the problem (``None`` when fine) of one field."""
    if v is _MISSING:
        return None, "missing"
    if v is not None and (
        (isinstance(v, float | np.floating) and v != v) or type(v).__name__ in _PANDAS_NULLS
    ):
        v = None  # NaN (also pandas' marker of a missing string), pd.NA and pd.NaT are null
    if v is None:
        return None, (None if spec.nullable else "null")
    got = _kind_of(v)
    if got != spec.kind:
        if spec.kind == "float" and got == "int":
            try:
                v = float(v)
            except OverflowError:  # an integer of more than 308 digits
                return None, NOT_FINITE
        elif spec.kind == "int" and got == "float" and float(v).is_integer():
            v = int(v)
        else:
            return None, f"expected {spec.kind}, got {got}"
    elif got != "str":
        v = _PY_CAST[got](v)
    if spec.kind == "float" and not math.isfinite(v):
        return None, NOT_FINITE
    if spec.kind == "int" and not INT64_MIN <= v <= INT64_MAX:
        return None, INT_RANGE
    if spec.minimum is not None and v < spec.minimum:
        return None, f"below minimum {spec.minimum:g}"
    if spec.maximum is not None and v > spec.maximum:
        return None, f"above maximum {spec.maximum:g}"
    if spec.values is not None and v not in spec.values:
        return None, "not an allowed value"
    return v, None


_WIDE_INTS = (pl.UInt64, pl.Int128, pl.UInt128)  # integer columns that may not fit Int64
_PY_CAST = {"int": int, "float": float, "bool": bool}
_PANDAS_NULLS = frozenset({"NAType", "NaTType"})


_EXACT = {"int": int, "float": float, "bool": bool, "str": str}


@dataclass(frozen=True)
class FastChecks:
    """Fields grouped by how cheaply they are checked (the online path's fast lane)."""

    exact: tuple[tuple[str, type, bool], ...]  # str/bool fields without a value set
    numeric: tuple[tuple[str, type[Any], float, float, bool], ...]  # int/float fields with bounds
    other: tuple[InputSpec, ...]  # fields with a value set
    specs: dict[str, InputSpec]


def fast_checks(specs: Sequence[InputSpec]) -> FastChecks:
    """Group ``specs`` for :func:`validate_row`."""
    exact, numeric, other = [], [], []
    for s in specs:
        if s.values is not None:
            other.append(s)
        elif s.kind in ("str", "bool"):
            exact.append((s.name, _EXACT[s.kind], s.nullable))
        else:
            # the fast lane admits finite floats and 64-bit ints only: the rest goes slow
            lo, hi = (INT64_MIN, INT64_MAX) if s.kind == "int" else (-FLOAT_MAX, FLOAT_MAX)
            lo = lo if s.minimum is None else max(lo, s.minimum)
            hi = hi if s.maximum is None else min(hi, s.maximum)
            numeric.append((s.name, _EXACT[s.kind], lo, hi, s.nullable))
    return FastChecks(tuple(exact), tuple(numeric), tuple(other), {s.name: s for s in specs})


def validate_row(
    specs: Sequence[InputSpec],
    application: Mapping[str, Any],
    out: dict[str, Any] | None = None,
    fast: FastChecks | None = None,
) -> dict[str, Any]:
    """The declared inputs of one application, validated into ``out``; raises
    :class:`InputError` naming every bad field (in declaration order)."""
    out = {} if out is None else out
    fast = fast or fast_checks(specs)
    get = application.get
    slow: list[str] = []
    v: Any  # an application value of any type; each lane below checks it
    for name, exact, nullable in fast.exact:
        v = get(name)
        if type(v) is exact or (v is None and nullable and name in application):
            out[name] = v
        else:
            slow.append(name)
    for name, exact, lo, hi, nullable in fast.numeric:
        v = get(name)
        if type(v) is exact and lo <= v <= hi:  # NaN fails the range test and goes slow
            out[name] = v
        elif v is None and nullable and name in application:
            out[name] = None
        else:
            slow.append(name)
    for spec in fast.other:
        v = get(spec.name)
        if type(v) is _EXACT[spec.kind] and v in spec.values:  # type: ignore[operator]
            out[spec.name] = v
        else:
            slow.append(spec.name)
    if not slow:
        return out
    problems: list[tuple[str, str]] = []
    for spec in specs:  # declaration order, for stable messages
        if spec.name not in slow:
            continue
        v, problem = check_value(spec, get(spec.name, _MISSING))
        if problem is not None:
            problems.append((spec.name, problem))
        out[spec.name] = v
    if problems:
        text = "; ".join(f"{n}: {p}" for n, p in problems)
        raise InputError(f"invalid application: {text}", [n for n, _ in problems])
    return out


def _dtype_kind(dtype: pl.DataType) -> str:
    if dtype == pl.Boolean:
        return "bool"
    if dtype.is_integer():
        return "int"
    if dtype.is_float():
        return "float"
    if dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum | pl.Categorical):
        return "str"
    if dtype == pl.Null:
        return "null"
    return str(dtype)


def validate_frame(
    specs: Sequence[InputSpec], frame: pl.DataFrame
) -> tuple[pl.DataFrame, pl.Series]:
    """Validated input columns (bad values set to null) and, per row, the problems or null.

    The problems column holds ``"field: problem; field: problem"`` exactly as the online error
    text after ``"invalid application: "``. One Polars query does all the checks.
    """
    values: list[pl.Expr] = []
    problems: list[pl.Expr] = []
    for spec in specs:
        value, problem = _check_column(spec, frame)
        values.append(pl.when(problem.is_null()).then(value).alias(spec.name))
        problems.append(pl.format(f"{spec.name}: {{}}", problem))
    error = (
        pl.concat_str(problems, separator="; ", ignore_nulls=True)
        if problems
        else pl.repeat(None, pl.len(), dtype=pl.String)
    )
    out = frame.lazy().select(*values, pl.when(error != "").then(error).alias("error")).collect()
    return out.drop("error"), out["error"]


def _check_column(spec: InputSpec, frame: pl.DataFrame) -> tuple[pl.Expr, pl.Expr]:
    """The column as the declared type, and its problem per row (null when fine)."""
    dtype = _PL_DTYPE[spec.kind]
    nothing = pl.repeat(None, pl.len(), dtype=dtype)
    if spec.name not in frame.columns:
        return nothing, pl.repeat(pl.lit("missing"), pl.len())
    col = pl.col(spec.name)
    kind = _dtype_kind(frame.schema[spec.name])
    type_problem: pl.Expr | None = None
    if kind == "float":
        col = col.fill_nan(None)
    if kind == spec.kind or kind == "null" or (spec.kind == "float" and kind == "int"):
        x = col.cast(dtype)
        if spec.kind == "int" and frame.schema[spec.name] in _WIDE_INTS:
            big = ((col > INT64_MAX) | (col < INT64_MIN)).fill_null(False)
            type_problem = pl.when(big).then(pl.lit(INT_RANGE))
            x = pl.when(~big).then(col).cast(pl.Int64)
    elif spec.kind == "int" and kind == "float":
        # as online: an infinity is not an integral float; an integral one beyond Int64 is out
        # of range (and is never cast, which would fail)
        frac = ((col != col.floor()) | col.is_infinite()).fill_null(False)
        big = (~frac & ((col < float(INT64_MIN)) | (col >= 2.0**63))).fill_null(False)
        type_problem = (
            pl.when(frac).then(pl.lit("expected int, got float"))
            .when(big).then(pl.lit(INT_RANGE))
        )  # fmt: skip
        x = pl.when(~frac & ~big).then(col).cast(pl.Int64)
    else:
        type_problem = pl.when(col.is_not_null()).then(pl.lit(f"expected {spec.kind}, got {kind}"))
        x = nothing
    checks: list[tuple[pl.Expr, str]] = []
    if spec.kind == "float" and kind == "float":
        checks.append((x.is_infinite(), NOT_FINITE))
    if not spec.nullable:
        null = x.is_null() if type_problem is None else x.is_null() & type_problem.is_null()
        checks.append((null, "null"))
    if spec.minimum is not None:
        checks.append((x < spec.minimum, f"below minimum {spec.minimum:g}"))
    if spec.maximum is not None:
        checks.append((x > spec.maximum, f"above maximum {spec.maximum:g}"))
    if spec.values is not None:
        allowed = pl.Series(sorted(spec.values), dtype=dtype).implode()
        checks.append((~x.is_in(allowed), "not an allowed value"))
    parts = [] if type_problem is None else [type_problem]
    parts += [pl.when(cond.fill_null(False)).then(pl.lit(text)) for cond, text in checks]
    problem = pl.coalesce(parts) if parts else pl.repeat(None, pl.len(), dtype=pl.String)
    return x, problem
