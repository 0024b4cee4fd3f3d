"""Optimal binning of one feature: kind detection, missing/special handling, solver call."""

from __future__ import annotations

import numpy as np
import pandas as pd

from creditfactory.exceptions import DataError
from creditfactory.scorecard._binners import BinningConstraints, get_binner
from creditfactory.scorecard._binning_table import (
    BinningTable,
    Kind,
    _as_category_strings,
    _as_float,
)

__all__ = ["bin_feature", "infer_kind"]

_NUMERIC_LOOKING = 0.9
_MAX_TOKENS = 5


def infer_kind(x: object, name: str) -> Kind:
    """``numerical`` for numeric values, ``categorical`` for text, category and bool columns.

    Text that reads as numbers (phone numbers, ID numbers, codes) stays categorical. A column
    of numbers polluted by a few text tokens (at least 90 % of the non-missing values are
    numbers and the rest take at most 5 distinct values, such as ``"n/a"``) raises a
    :class:`DataError` naming the column and an offending value.
    """
    s = x if isinstance(x, pd.Series) else pd.Series(np.asarray(x, dtype=object))
    if pd.api.types.is_bool_dtype(s.dtype):
        return "categorical"
    if pd.api.types.is_numeric_dtype(s.dtype):
        return "numerical"
    counts = s.value_counts(dropna=True)  # distinct values: cheap even on millions of rows
    values = counts.index.to_series(index=range(len(counts)))
    if values.empty:
        return "categorical"
    if not pd.api.types.is_string_dtype(s.dtype) or s.dtype == object:
        is_number = values.map(
            lambda v: (
                isinstance(v, int | float | np.integer | np.floating)
                and not isinstance(v, bool | np.bool_)
            )
        )
        if is_number.all():
            return "numerical"
    num = pd.to_numeric(values.astype(object), errors="coerce")
    ok = num.notna().to_numpy()
    share_ok = counts.to_numpy()[ok].sum() / counts.sum()
    if share_ok >= _NUMERIC_LOOKING and not ok.all():
        tokens = values[~ok]
        if len(tokens) <= _MAX_TOKENS:
            raise DataError(
                f"column '{name}' looks numeric but holds non-numeric value "
                f"{tokens.iloc[0]!r} ({int(counts.to_numpy()[~ok].sum())} such rows); "
                "clean it or cast it to str"
            )
    return "categorical"


def bin_feature(
    x: object,
    y: object,
    *,
    name: str,
    kind: Kind | None = None,
    special_codes: object = (),
    constraints: BinningConstraints | None = None,
    solver: str = "dp",
    sample_weight: object = None,
) -> BinningTable:
    """Find the optimal bins of one feature and count goods and bads in them.

    Parameters
    ----------
    x : array-like
        Raw values; NaN/None are missing.
    y : array-like of 0/1
        Target, 1 = bad.
    name : str
        Feature name (used in messages and the table).
    kind : {"numerical", "categorical"}, optional
        Inferred from the values when not given.
    special_codes : sequence
        Values that each get a bin of their own (e.g. ``-9`` for "no bureau record").
    constraints : BinningConstraints, optional
        Trend, bin count and bin size limits; defaults as :class:`BinningConstraints`.
    solver : str, default "dp"
        Name of a registered binning solver (``dp`` or ``optbinning``).
    sample_weight : array-like, optional
        Frequency weights (counts in the table become weighted sums).

    Returns
    -------
    BinningTable

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=2_000)
    >>> y = (rng.random(2_000) < 1 / (1 + np.exp(2 - x))).astype(int)
    >>> t = bin_feature(x, y, name="x")
    >>> t.trend(), t.iv > 0.3
    ('ascending', True)
    """
    c = constraints or BinningConstraints()
    y_arr = np.asarray(y)
    kind = kind or infer_kind(x, name)
    specials = tuple(special_codes)  # type: ignore[arg-type]
    binner = get_binner(solver)
    w = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
    if kind == "numerical":
        v = _as_float(x if not isinstance(x, pd.Series) else x.to_numpy(), name)
        regular = ~np.isnan(v)
        for code in specials:
            regular &= v != float(code)
        splits = binner.fit_numeric(v[regular], y_arr[regular], c, **_kw(w, regular))
        return BinningTable.from_data(
            name, kind, v, y_arr, splits=splits, special_codes=specials, sample_weight=w
        )
    s = _as_category_strings(x)
    regular = pd.notna(s)
    special_str = {str(code) for code in specials}
    if special_str:
        regular &= ~np.isin(s.astype(str), list(special_str))
    groups = binner.fit_categorical(s[regular].astype(str), y_arr[regular], c, **_kw(w, regular))
    return BinningTable.from_data(
        name, kind, s, y_arr, groups=groups, special_codes=specials, sample_weight=w
    )


def _kw(w: np.ndarray | None, mask: np.ndarray) -> dict[str, np.ndarray]:
    return {} if w is None else {"sample_weight": w[mask]}
