"""Declared table schemas and their vectorised validation.

A :class:`Schema` is a list of :class:`Column` declarations plus a policy for columns the
schema does not name. :meth:`Schema.validate` converts a frame column by column to the declared
dtypes and checks every constraint with whole-column operations; it collects the failures and
raises one :class:`~creditfactory.exceptions.SchemaError` that names the column, the row and the
reason of the first few, and how many there are in all. Nothing is coerced silently: a cell that
does not parse as its type is an error, never a null.

:func:`creditfactory.data.read_table` reads a CSV file as text and hands it to the same
machinery, so that the row of a bad cell is known exactly.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from creditfactory.exceptions import ConfigError, SchemaError

ColumnType = Literal["int", "float", "bool", "string", "category", "date", "datetime"]
Extra = Literal["error", "ignore", "keep"]

TYPES: tuple[str, ...] = ("int", "float", "bool", "string", "category", "date", "datetime")
_ORDERED = frozenset({"int", "float", "date", "datetime"})
_TEXTUAL = frozenset({"string", "category"})
_DATETIME_UNIT = "datetime64[us]"
# pandas 3 has a dedicated default string dtype ("str", NaN for missing); pandas 2 spells the
# closest equivalent "string".
_STRING_DTYPE = "str" if int(pd.__version__.split(".")[0]) >= 3 else "string"
_TRUE = frozenset({"true", "t", "yes", "y", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "0"})
_INT_TEXT = re.compile(r"[+-]?\d+")
_DATE_TEXT = r"\d{4}-\d{2}-\d{2}"
_INT64_MAX = np.iinfo(np.int64).max
_Why = str | Callable[[int], str]  # why a cell did not convert: fixed or per row


@dataclass(frozen=True)
class Column:
    """One declared column of a table.

    Parameters
    ----------
    name : str
        Column name, as in the file header.
    type : {"int", "float", "bool", "string", "category", "date", "datetime"}
        Logical type. The frame returned holds ``int64`` (``Int64`` when nullable), ``float64``,
        ``bool`` (``boolean`` when nullable), the pandas string dtype, ``category``,
        ``datetime64[us]`` (dates at midnight) and ``datetime64[us]`` respectively.
    nullable : bool, default True
        Whether missing values are allowed.
    min, max : number, date string or timestamp, optional
        Inclusive bounds, for ``int``, ``float``, ``date`` and ``datetime`` columns.
    allowed : sequence, optional
        The only values allowed (``int``, ``string`` and ``category`` columns). For a category
        column it also fixes the categories and their order.
    pattern : str, optional
        Regular expression every value must match in full (``string`` and ``category``).
    unique : bool, default False
        Whether values must be distinct (nulls excepted).
    format : str, optional
        ``strftime`` format of ``date``/``datetime`` text; ISO 8601 when omitted.
    required : bool, default True
        Whether the column must be present. An absent optional column is added full of nulls,
        so it must be nullable.
    description : str, default ""
        Free text, for documentation.
    """

    name: str
    type: ColumnType
    nullable: bool = True
    min: Any = None
    max: Any = None
    allowed: Sequence[Any] | None = None
    pattern: str | None = None
    unique: bool = False
    format: str | None = None
    required: bool = True
    description: str = ""
    _regex: re.Pattern[str] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        where = f"column {self.name!r}"
        if self.type not in TYPES:
            raise ConfigError(f"{where}: unknown type {self.type!r}; expected one of {TYPES}")
        if (self.min is not None or self.max is not None) and self.type not in _ORDERED:
            raise ConfigError(f"{where}: min/max apply to int, float, date and datetime only")
        if self.allowed is not None and self.type not in {"int", *_TEXTUAL}:
            raise ConfigError(f"{where}: allowed applies to int, string and category only")
        if self.pattern is not None:
            if self.type not in _TEXTUAL:
                raise ConfigError(f"{where}: pattern applies to string and category only")
            try:
                object.__setattr__(self, "_regex", re.compile(self.pattern))
            except re.error as exc:
                raise ConfigError(f"{where}: invalid pattern {self.pattern!r}: {exc}") from exc
        if self.format is not None and self.type not in {"date", "datetime"}:
            raise ConfigError(f"{where}: format applies to date and datetime only")
        if not self.required and not self.nullable:
            raise ConfigError(f"{where}: an optional column (required=False) must be nullable")
        if self.allowed is not None:
            object.__setattr__(self, "allowed", tuple(self.allowed))
        for bound in ("min", "max"):
            value = getattr(self, bound)
            if value is not None and self.type in {"date", "datetime"}:
                try:
                    object.__setattr__(self, bound, pd.Timestamp(value))
                except (TypeError, ValueError) as exc:
                    raise ConfigError(f"{where}: {bound} {value!r} is not a date") from exc

    @property
    def dtype(self) -> Any:
        """The pandas dtype of this column in a validated frame."""
        if self.type == "int":
            return "Int64" if self.nullable else "int64"
        if self.type == "bool":
            return "boolean" if self.nullable else "bool"
        if self.type == "float":
            return "float64"
        if self.type == "string":
            return _STRING_DTYPE
        if self.type == "category":
            return pd.CategoricalDtype(list(self.allowed) if self.allowed is not None else None)
        return _DATETIME_UNIT


@dataclass(frozen=True)
class Schema:
    """A declared table: its columns and what to do with columns it does not name.

    Parameters
    ----------
    columns : sequence of Column
        The declared columns, in the order the validated frame will have them.
    extra : {"error", "ignore", "keep"}, default "error"
        Columns found but not declared are an error, are dropped, or are kept as read (after
        the declared ones; CSV columns stay text).

    Examples
    --------
    >>> schema = Schema([Column("id", "int", nullable=False, unique=True),
    ...                  Column("amount", "float", min=0)])
    >>> schema.validate(pd.DataFrame({"id": [1, 2], "amount": [10.5, None]})).dtypes.tolist()
    [dtype('int64'), dtype('float64')]
    """

    columns: Sequence[Column]
    extra: Extra = "error"

    def __post_init__(self) -> None:
        object.__setattr__(self, "columns", tuple(self.columns))
        if self.extra not in ("error", "ignore", "keep"):
            raise ConfigError(f"extra: {self.extra!r}; expected 'error', 'ignore' or 'keep'")
        seen: set[str] = set()
        for column in self.columns:
            if not isinstance(column, Column):
                raise ConfigError(f"columns: {column!r} is not a Column")
            if column.name in seen:
                raise ConfigError(f"column {column.name!r}: declared twice")
            seen.add(column.name)

    @property
    def names(self) -> list[str]:
        """Declared column names, in order."""
        return [column.name for column in self.columns]

    @property
    def dtypes(self) -> dict[str, Any]:
        """Declared column name -> pandas dtype of the validated frame."""
        return {column.name: column.dtype for column in self.columns}

    def validate(self, frame: pd.DataFrame, *, max_errors: int = 10) -> pd.DataFrame:
        """Check ``frame`` against the schema and return it with the declared dtypes.

        Rows are reported by their 0-based position. Text columns are parsed as their declared
        type; typed columns must hold values of that type (an integral float is an int, 0/1 is
        a bool, but 1.5 is not an int and a number is not a string).

        Raises
        ------
        SchemaError
            Listing up to ``max_errors`` problems and the total count.
        """
        return _validate(self, frame, text=False, max_errors=max_errors, source="frame")


# ----------------------------------------------------------------------------------------------
# Validation machinery (shared with the file loader)


@dataclass(frozen=True)
class _Issue:
    order: int  # column position, to sort issues of one row
    column: str | None
    row: int | None  # 0-based position in the frame
    reason: str
    ref: int | None = None  # another row the reason points at (first copy of a duplicate)


class _Issues:
    """Collects failures cheaply: counts every bad cell, keeps details of the first few."""

    def __init__(self, limit: int) -> None:
        self.limit = max(int(limit), 1)
        self.count = 0
        self.items: list[_Issue] = []

    def column(self, order: int, column: str | None, reason: str) -> None:
        self.count += 1
        self.items.append(_Issue(order, column, None, reason))

    def cells(self, order: int, column: str, mask: Any, reason: Callable[[int], str]) -> None:
        rows = np.flatnonzero(np.asarray(mask, dtype=bool))
        self.count += len(rows)
        # The first `limit` failures overall are among the first `limit` of each check.
        self.items.extend(_Issue(order, column, int(i), reason(int(i))) for i in rows[: self.limit])

    def duplicates(
        self,
        order: int,
        column: str,
        mask: Any,
        reason: Callable[[int], str],
        first: Callable[[int], int],
    ) -> None:
        rows = np.flatnonzero(np.asarray(mask, dtype=bool))
        self.count += len(rows)
        self.items.extend(
            _Issue(order, column, int(i), reason(int(i)), first(int(i))) for i in rows[: self.limit]
        )

    def first(self) -> list[_Issue]:
        key = lambda i: (i.row is not None, i.row or 0, i.order)  # noqa: E731
        return sorted(self.items, key=key)[: self.limit]


def _show(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, pd.Timestamp | dt.date):
        return str(value)
    if isinstance(value, np.generic):
        value = value.item()
    return repr(value)


def _validate(
    schema: Schema,
    frame: pd.DataFrame,
    *,
    text: bool,
    max_errors: int,
    source: str,
    locate: Callable[[list[int]], dict[int, int]] | None = None,
    row_word: str = "row",
    missing_values: Sequence[str] = ("",),
) -> pd.DataFrame:
    """Validate and convert ``frame``; ``text`` says every cell is a raw string from a file."""
    issues = _Issues(max_errors)
    present = list(frame.columns)
    declared = set(schema.names)
    extras = [name for name in present if name not in declared]
    if schema.extra == "error":
        for name in extras:
            issues.column(-1, str(name), "unexpected column (the schema does not declare it)")
    out: dict[Hashable, pd.Series] = {}
    n = len(frame)
    for order, column in enumerate(schema.columns):
        if column.name not in frame.columns:
            if column.required:
                issues.column(order, column.name, "missing column")
            else:
                out[column.name] = pd.Series([None] * n, dtype=column.dtype)
            continue
        raw = frame[column.name].reset_index(drop=True)
        out[column.name] = _check_column(column, order, raw, text, missing_values, issues)
    if issues.count:
        raise _error(issues, source, locate, row_word)
    result = pd.DataFrame(out, index=pd.RangeIndex(n))
    if schema.extra == "keep":
        for name in extras:
            result[name] = frame[name].to_numpy()
    return result


def _error(
    issues: _Issues,
    source: str,
    locate: Callable[[list[int]], dict[int, int]] | None,
    row_word: str,
) -> SchemaError:
    shown = issues.first()
    rows = sorted({r for i in shown for r in (i.row, i.ref) if r is not None})
    numbers = locate(rows) if locate else {r: r for r in rows}
    lines = []
    for issue in shown:
        where = f"column {issue.column!r}" if issue.column is not None else "table"
        if issue.row is not None:
            where += f", {row_word} {numbers[issue.row]}"
        reason = issue.reason
        if issue.ref is not None:
            reason += f" (first at {row_word} {numbers[issue.ref]})"
        lines.append(f"{where}: {reason}")
    if issues.count == 1:
        message = f"{source}: {lines[0]}"
    else:
        more = f", the first {len(shown)}" if issues.count > len(shown) else ""
        message = f"{source}: {issues.count} schema errors{more}:\n" + "\n".join(
            f"  {line}" for line in lines
        )
    head = shown[0]
    row = numbers[head.row] if head.row is not None else None
    return SchemaError(message, column=head.column, row=row)


def _check_column(
    column: Column,
    order: int,
    raw: pd.Series,
    text: bool,
    missing_values: Sequence[str],
    issues: _Issues,
) -> pd.Series:
    name = column.name
    before = issues.count
    if isinstance(raw.dtype, pd.CategoricalDtype):  # e.g. a Parquet dictionary column
        categories = raw.dtype.categories.dtype
        raw = raw.astype(object if raw.isna().any() else categories)
    if text or _is_text(raw):
        strings = raw.astype(_STRING_DTYPE)
        if column.type not in _TEXTUAL:
            strings = strings.str.strip()
        if text:
            strings = strings.mask(strings.isin(list(missing_values)))
        null = strings.isna().to_numpy()
        values, bad, what = _parse_text(column, strings)
        shown_raw: Callable[[int], str] = lambda i: repr(strings.iloc[i])  # noqa: E731
    else:
        null = raw.isna().to_numpy()
        converted = _convert_typed(column, raw)
        if isinstance(converted, str):
            issues.column(order, name, converted)
            return raw
        values, bad, what = converted
        shown_raw = lambda i: _show(raw.iloc[i])  # noqa: E731
    issues.cells(order, name, bad, lambda i: f"{shown_raw(i)} {_reason(what, i)}")
    ok = ~null & ~bad
    if not column.nullable:
        issues.cells(order, name, null, lambda i: "null in a non-nullable column")
    if column.min is not None:
        below = ok & (values < column.min).fillna(False).to_numpy(dtype=bool)
        issues.cells(
            order,
            name,
            below,
            lambda i: f"{shown_raw(i)} is below the minimum {_bound(column, column.min)}",
        )
    if column.max is not None:
        above = ok & (values > column.max).fillna(False).to_numpy(dtype=bool)
        issues.cells(
            order,
            name,
            above,
            lambda i: f"{shown_raw(i)} is above the maximum {_bound(column, column.max)}",
        )
    if column.allowed is not None:
        outside = ok & ~values.isin(list(column.allowed)).to_numpy(dtype=bool)
        listed = _list(column.allowed)
        issues.cells(order, name, outside, lambda i: f"{shown_raw(i)} is not one of {listed}")
    if column._regex is not None:
        matched = values.astype(_STRING_DTYPE).str.fullmatch(column.pattern)
        mismatch = ok & ~matched.fillna(False).to_numpy(dtype=bool)
        pattern = column.pattern
        issues.cells(
            order, name, mismatch, lambda i: f"{shown_raw(i)} does not match the pattern {pattern}"
        )
    if column.unique:
        repeat = ok & values.duplicated(keep="first").to_numpy(dtype=bool)

        def first(i: int) -> int:
            same = ok & (values == values.iloc[i]).fillna(False).to_numpy(dtype=bool)
            return int(np.flatnonzero(same)[0])

        issues.duplicates(order, name, repeat, lambda i: f"{shown_raw(i)} is a duplicate", first)
    if issues.count > before:
        return raw  # an error will be raised: no need (and no way) to convert
    return _finalise(column, values)


def _is_text(raw: pd.Series) -> bool:
    if isinstance(raw.dtype, pd.CategoricalDtype):
        return False
    if pd.api.types.is_string_dtype(raw.dtype) and not pd.api.types.is_object_dtype(raw.dtype):
        return True
    if pd.api.types.is_object_dtype(raw.dtype):
        sample = raw.dropna()
        return len(sample) > 0 and bool(sample.map(type).eq(str).all())
    return False


def _reason(what: _Why, i: int) -> str:
    return what if isinstance(what, str) else what(i)


def _bound(column: Column, value: Any) -> str:
    if column.type == "date":
        return str(value.date())
    return str(value)


def _list(values: Sequence[Any], limit: int = 8) -> str:
    shown = ", ".join(_show(v) for v in list(values)[:limit])
    return "[" + shown + (", ..." if len(values) > limit else "") + "]"


def _parse_text(column: Column, s: pd.Series) -> tuple[pd.Series, np.ndarray, _Why]:
    """Parse a text column: (values, cells that did not parse, what they should have been)."""
    present = s.notna().to_numpy()
    kind = column.type
    if kind in _TEXTUAL:
        return s, np.zeros(len(s), dtype=bool), ""
    if kind == "int":
        ok = s.str.fullmatch(_INT_TEXT).fillna(False).to_numpy(dtype=bool, copy=True)
        # Range check on the digits themselves, before anything can overflow: digit strings
        # of equal length compare like the numbers they spell.
        digits = s.str.lstrip("+-").str.lstrip("0")
        length = digits.str.len().fillna(0).to_numpy()
        limit = np.where(s.str.startswith("-").fillna(False), str(_INT64_MAX + 1), str(_INT64_MAX))
        overflow = ok & (
            (length > 19) | ((length == 19) & (digits.fillna("").to_numpy(dtype=str) > limit))
        )
        ok &= ~overflow
        values = pd.Series(pd.array([None] * len(s), dtype="Int64"))
        if ok.any():
            values[ok] = _cast_text(s[ok], "int64")

        def why(i: int) -> str:
            return "is outside the 64-bit integer range" if overflow[i] else "is not an integer"

        return values, present & ~ok, why
    if kind == "float":
        values = pd.Series(_cast_text(s, "float64"))
        finite = np.isfinite(values.to_numpy())
        return values, present & ~finite, "is not a number"
    if kind == "bool":
        lower = s.str.lower()
        values = pd.Series(pd.array([None] * len(s), dtype="boolean"))
        is_true = lower.isin(_TRUE).to_numpy(dtype=bool)
        is_false = lower.isin(_FALSE).to_numpy(dtype=bool)
        values[is_true] = True
        values[is_false] = False
        return values, present & ~(is_true | is_false), "is not a boolean (true/false, yes/no, 1/0)"
    fmt = column.format or "ISO8601"
    values = pd.to_datetime(s, format=fmt, errors="coerce", utc=True).dt.tz_localize(None)
    bad = present & values.isna().to_numpy()
    if kind == "date":
        if column.format is None:
            bad |= present & ~s.str.fullmatch(_DATE_TEXT).fillna(False).to_numpy(dtype=bool)
        return values, bad, f"is not a date ({column.format or 'YYYY-MM-DD'})"
    return values, bad, f"is not a datetime ({column.format or 'ISO 8601'})"


def _cast_text(s: pd.Series, dtype: str) -> np.ndarray:
    """Text to numbers: PyArrow's strict cast when every cell parses, else pandas (NaN if not).

    Both accept the same plain decimal and scientific notation; the fast path is about 15 times
    quicker and the slow one only runs on a column that is going to be reported anyway.
    """
    import pyarrow as pa

    try:
        array = pa.array(s, from_pandas=True).cast(getattr(pa, dtype)())
        return array.to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, TypeError):
        return pd.to_numeric(s, errors="coerce").to_numpy(dtype=dtype, na_value=np.nan)


def _convert_typed(column: Column, raw: pd.Series) -> tuple[pd.Series, np.ndarray, _Why] | str:
    """Check a typed column; a string result is a column-level type mismatch."""
    dtype = raw.dtype
    kind = column.type
    present = raw.notna().to_numpy()
    mismatch = f"holds {_describe(dtype)}, not {kind} values"
    if kind in _TEXTUAL:
        if raw.isna().all():
            return raw.astype(_STRING_DTYPE), np.zeros(len(raw), bool), ""
        return mismatch
    is_bool = pd.api.types.is_bool_dtype(dtype)
    numeric = pd.api.types.is_numeric_dtype(dtype) and not is_bool
    if kind == "int":
        if pd.api.types.is_integer_dtype(dtype):
            too_big = np.zeros(len(raw), dtype=bool)
            if dtype.kind == "u":  # only unsigned 64-bit values can exceed int64
                too_big = (raw.astype("UInt64") > _INT64_MAX).fillna(False).to_numpy(dtype=bool)
            values = raw.mask(too_big).astype("Int64")
            return values, present & too_big, "is outside the 64-bit integer range"
        if numeric:
            f = raw.to_numpy(dtype="float64", na_value=np.nan)
            good = np.isfinite(f) & (np.floor(f) == f) & (np.abs(f) <= 2.0**63 - 1024)
            values = pd.Series(pd.array([None] * len(raw), dtype="Int64"))
            values[good] = f[good].astype(np.int64)
            return values, present & ~good, "is not an integer"
        return mismatch if not raw.isna().all() else (raw.astype("Int64"), ~present, "")
    if kind == "float":
        if numeric or raw.isna().all():
            values = pd.Series(raw.to_numpy(dtype="float64", na_value=np.nan))
            return values, present & ~np.isfinite(values.to_numpy()), "is not a number"
        return mismatch
    if kind == "bool":
        if is_bool or raw.isna().all():
            return raw.astype("boolean"), np.zeros(len(raw), bool), ""
        if pd.api.types.is_integer_dtype(dtype):
            good = raw.isin([0, 1]).to_numpy(dtype=bool)
            values = pd.Series(pd.array([None] * len(raw), dtype="boolean"))
            values[good] = raw[good].astype(bool).to_numpy()
            return values, present & ~good, "is not a boolean (0 or 1)"
        return mismatch
    # date / datetime
    if pd.api.types.is_datetime64_any_dtype(dtype):
        values = raw
        if getattr(dtype, "tz", None) is not None:
            values = raw.dt.tz_convert("UTC").dt.tz_localize(None)
    elif pd.api.types.is_object_dtype(dtype) and present.any() and raw.dropna().map(_is_date).all():
        values = pd.to_datetime(raw)
    elif raw.isna().all():
        values = pd.Series(pd.NaT, index=raw.index, dtype=_DATETIME_UNIT)
    else:
        return mismatch
    bad = np.zeros(len(raw), dtype=bool)
    if kind == "date":
        bad = present & (values != values.dt.normalize()).fillna(False).to_numpy(dtype=bool)
    return values, bad, "has a time of day; expected a date"


def _describe(dtype: Any) -> str:
    if pd.api.types.is_bool_dtype(dtype):
        return "booleans"
    if pd.api.types.is_integer_dtype(dtype):
        return "integers"
    if pd.api.types.is_float_dtype(dtype):
        return "floats"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "timestamps"
    return f"{dtype} values"


def _is_date(value: Any) -> bool:
    return isinstance(value, dt.date)


def _finalise(column: Column, values: pd.Series) -> pd.Series:
    if column.type in {"date", "datetime"}:
        return values.astype(_DATETIME_UNIT)
    if column.type == "category":
        dtype = column.dtype
        if dtype.categories is None:
            dtype = pd.CategoricalDtype(sorted(values.dropna().unique()))
        return values.astype(object).astype(dtype)
    return values.astype(column.dtype)
