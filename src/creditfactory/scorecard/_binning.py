"""Optimal binning of one feature: kind detection, missing/special handling, solver call."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from creditfactory.exceptions import DataError
from creditfactory.scorecard._binners import BinningConstraints, get_binner
from creditfactory.scorecard._binning_table import BinningTable, Kind, _as_float, _count

__all__ = ["bin_feature", "fit_feature", "infer_kind"]

_NUMERIC_LOOKING = 0.9
_MAX_TOKENS = 5


def infer_kind(x: object, name: str, factorized: tuple[np.ndarray, Any] | None = None) -> Kind:
    """``numerical`` for numeric values, ``categorical`` for text, category and bool columns.

    Text that reads as numbers (phone numbers, ID numbers, codes) stays categorical. A column
    of numbers polluted by a few text tokens (at least 90 % of the non-missing values are
    numbers and the rest take at most 5 distinct values, such as ``"n/a"``) raises a
    :class:`DataError` naming the column and an offending value.

    ``factorized``: ``pd.factorize(x, use_na_sentinel=True)`` when the caller has it (used
    for text dtypes, whose distinct values it gives without hashing the rows again).
    """
    s = x if isinstance(x, pd.Series) else pd.Series(np.asarray(x, dtype=object))
    if pd.api.types.is_bool_dtype(s.dtype):
        return "categorical"
    if pd.api.types.is_numeric_dtype(s.dtype):
        return "numerical"
    if factorized is not None and _typed_text(s):
        codes, uniq = factorized
        per_value = np.bincount(codes + 1, minlength=len(uniq) + 1)[1:]
        counts = pd.Series(per_value, index=pd.Index(uniq)).sort_values(
            ascending=False, kind="stable"
        )
    else:
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


def _typed_text(s: pd.Series) -> bool:
    """A text dtype (not object, not category): every value is a string or missing."""
    return (
        pd.api.types.is_string_dtype(s.dtype)
        and s.dtype != object
        and not isinstance(s.dtype, pd.CategoricalDtype)
    )


def bin_feature(
    x: object,
    y: object,
    *,
    name: str,
    kind: Kind | None = None,
    special_codes: Iterable[Any] = (),
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
    return fit_feature(
        x, y, name=name, kind=kind, special_codes=special_codes, constraints=constraints,
        solver=solver, sample_weight=sample_weight,
    )[0]  # fmt: skip


def fit_feature(
    x: object,
    y: object,
    *,
    name: str,
    kind: Kind | None = None,
    special_codes: Iterable[Any] = (),
    constraints: BinningConstraints | None = None,
    solver: str = "dp",
    sample_weight: object = None,
    factorized: tuple[np.ndarray, Any] | None = None,
) -> tuple[BinningTable, np.ndarray]:
    """:func:`bin_feature` that also returns every row's bin index (one pass over the data).

    ``factorized``: ``pd.factorize(x, use_na_sentinel=True)`` when the caller has it already
    (a categorical column is then not hashed again).
    """
    c = constraints or BinningConstraints()
    y_arr = np.asarray(y).astype(np.int64)
    kind = kind or infer_kind(x, name)
    specials = tuple(special_codes)
    binner = get_binner(solver)
    w = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
    if kind == "numerical":
        v = _as_float(x if not isinstance(x, pd.Series) else x.to_numpy(), name)
        regular = ~np.isnan(v)
        for code in specials:
            regular &= v != float(code)
        if regular.all():  # no missing or special value: the rows as they are, no copies,
            # read-only so that a registered binner cannot alter the caller's data
            splits = binner.fit_numeric(_read_only(v), _read_only(y_arr), c, **_kw(w, regular))
        else:
            splits = binner.fit_numeric(v[regular], y_arr[regular], c, **_kw(w, regular))
        rule = BinningTable(
            feature=name, kind=kind, splits=tuple(float(s) for s in splits),
            special_codes=specials,
        )  # fmt: skip
        rule._check_rule()
        idx = rule.bin_index(v)
        return _with_counts(rule, idx, y_arr, w), idx
    return _fit_categorical(x, y_arr, w, name, specials, binner, c, factorized)


def _with_counts(
    rule: BinningTable, idx: np.ndarray, y: np.ndarray, w: np.ndarray | None
) -> BinningTable:
    if w is None:  # whole counts, goods and bads in one integer pass (bin * 2 + bad)
        gb = np.bincount(idx * 2 + y, minlength=2 * rule.n_bins).reshape(-1, 2)
        n_bad = gb[:, 1].astype(float)
        n_all = n_bad + gb[:, 0]
    else:
        n_bad = np.bincount(idx, weights=y * w, minlength=rule.n_bins)
        n_all = np.bincount(idx, weights=w, minlength=rule.n_bins)
    return replace(
        rule,
        n_good=tuple(_count(v) for v in n_all - n_bad),
        n_bad=tuple(_count(v) for v in n_bad),
    )


def _fit_categorical(
    x, y, w, name, specials, binner, c, factorized=None
) -> tuple[BinningTable, np.ndarray]:
    """Categorical binning on per-category counts: the rows are hashed once."""
    if factorized is None:
        values = x if isinstance(x, pd.Series) else np.asarray(x, dtype=object)
        factorized = pd.factorize(values, use_na_sentinel=True)
    codes, uniq = factorized
    # distinct raw values can share a label (1 and "1"): aggregate by label
    label_codes, labels = pd.factorize(np.array([str(u) for u in uniq], dtype=object))
    labels = np.asarray(labels, dtype=object)
    # counts per distinct value (code + 1; 0 = missing), then per label: two passes over rows
    c1 = codes + 1
    n_codes = uniq.size + 1
    if w is None:  # goods and bads in one integer pass (code * 2 + bad)
        gb = np.bincount(c1 * 2 + y, minlength=2 * n_codes).reshape(-1, 2)
        bad_c = gb[:, 1].astype(float)
        good_c = gb[:, 0].astype(float)
    else:
        all_c = np.bincount(c1, weights=w, minlength=n_codes)
        bad_c = np.bincount(c1, weights=y * w, minlength=n_codes)
        good_c = all_c - bad_c
    g_lab = np.bincount(label_codes, weights=good_c[1:], minlength=labels.size)
    b_lab = np.bincount(label_codes, weights=bad_c[1:], minlength=labels.size)
    g_miss, b_miss = float(good_c[0]), float(bad_c[0])
    special_str = [str(code) for code in specials]
    regular = ~np.isin(labels, special_str) & ((g_lab + b_lab) > 0)
    if hasattr(binner, "fit_categorical_counts"):
        groups = binner.fit_categorical_counts(labels[regular], g_lab[regular], b_lab[regular], c)
    else:
        row_label = np.r_[label_codes, -1][codes]  # -1: missing
        mask = (row_label >= 0) & np.r_[regular, False][row_label]
        groups = binner.fit_categorical(labels[row_label[mask]], y[mask], c, **_kw(w, mask))
    rule = BinningTable(
        feature=name, kind="categorical", groups=tuple(tuple(str(v) for v in g) for g in groups),
        special_codes=specials,
    )  # fmt: skip
    rule._check_rule()
    bin_of_label = np.full(labels.size, rule.missing_bin, dtype=np.int64)
    pos = {lab: i for i, lab in enumerate(labels)}
    for b, g in enumerate(rule.groups):
        for lab in g:
            if lab in pos:
                bin_of_label[pos[lab]] = b
    for k, lab in enumerate(special_str):
        if lab in pos:
            bin_of_label[pos[lab]] = rule.n_regular + k
    idx = np.r_[rule.missing_bin, bin_of_label[label_codes]][c1]
    n_good = np.bincount(bin_of_label, weights=g_lab, minlength=rule.n_bins)
    n_bad = np.bincount(bin_of_label, weights=b_lab, minlength=rule.n_bins)
    n_good[rule.missing_bin] += g_miss
    n_bad[rule.missing_bin] += b_miss
    table = replace(
        rule,
        n_good=tuple(_count(v) for v in n_good),
        n_bad=tuple(_count(v) for v in n_bad),
        category_counts={
            str(lab): (_count(g), _count(b)) for lab, g, b in zip(labels, g_lab, b_lab, strict=True)
        },
    )
    return table, idx


def _kw(w: np.ndarray | None, mask: np.ndarray) -> dict[str, np.ndarray]:
    return {} if w is None else {"sample_weight": w[mask]}


def _read_only(values: np.ndarray) -> np.ndarray:
    """A read-only view of ``values`` (no copy): writing through it raises ``ValueError``."""
    view = values.view()
    view.flags.writeable = False
    return view
