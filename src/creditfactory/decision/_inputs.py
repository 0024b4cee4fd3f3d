"""Declared, typed strategy inputs: validation of one application and of a whole frame.

Both paths give the same messages: ``"<field>: <problem>"`` with problems ``missing``,
``null``, ``expected <kind>, got <kind>``, ``below minimum <m>``, ``above maximum <m>`` and
``not an allowed value``. No value is coerced: an ``int`` field takes integers (and floats with an
integral value, as pandas stores integer columns with gaps), a ``float`` field takes integers and
floats, ``bool`` takes booleans only and ``str`` strings only. NaN, ``pandas.NA`` and
``pandas.NaT`` count as null in every field (pandas marks missing text with NaN).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from creditfactory.decision._expr_types import Type
from creditfactory.exceptions import DataError

_MISSING = object()
_PY_KIND = {int: "int", float: "float", bool: "bool", str: "str"}
_PL_DTYPE = {"int": pl.Int64, "float": pl.Float64, "bool": pl.Boolean, "str": pl.String}


class InputError(DataError):
    """An application does not match the strategy's declared inputs; ``fields`` names them."""

    def __init__(self, message: str, fields: Sequence[str] = ()):
        super().__init__(message)
        self.fields = list(fields)


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
            v = float(v)
        elif spec.kind == "int" and got == "float" and float(v).is_integer():
            v = int(v)
        else:
            return None, f"expected {spec.kind}, got {got}"
    elif got != "str":
        v = _PY_CAST[got](v)
    if spec.minimum is not None and v < spec.minimum:
        return None, f"below minimum {spec.minimum:g}"
    if spec.maximum is not None and v > spec.maximum:
        return None, f"above maximum {spec.maximum:g}"
    if spec.values is not None and v not in spec.values:
        return None, "not an allowed value"
    return v, None


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
    inf = float("inf")
    exact, numeric, other = [], [], []
    for s in specs:
        if s.values is not None:
            other.append(s)
        elif s.kind in ("str", "bool"):
            exact.append((s.name, _EXACT[s.kind], s.nullable))
        else:
            lo = -inf if s.minimum is None else s.minimum
            hi = inf if s.maximum is None else s.maximum
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
    elif spec.kind == "int" and kind == "float":
        frac = (col != col.floor()).fill_null(False)
        type_problem = pl.when(frac).then(pl.lit("expected int, got float"))
        x = pl.when(~frac).then(col).cast(pl.Int64)
    else:
        type_problem = pl.when(col.is_not_null()).then(pl.lit(f"expected {spec.kind}, got {kind}"))
        x = nothing
    checks: list[tuple[pl.Expr, str]] = []
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
