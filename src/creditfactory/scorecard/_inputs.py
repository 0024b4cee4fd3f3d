"""Validation of the raw inputs a scorecard is fitted on and scores."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.exceptions import DataConversionWarning

from creditfactory.exceptions import DataError

__all__ = [
    "ScorecardWarning", "TabularEstimatorMixin", "as_frame", "check_target", "check_weights",
    "column_stats",
]  # fmt: skip


class ScorecardWarning(UserWarning):
    """Something in the data was handled by a documented rule (unseen category, dropped column)."""


class TabularEstimatorMixin:
    """What the scorecard and its challenger share as scikit-learn estimators of raw tables:
    their input tags (missing values, text and categories allowed; binary only), the special
    codes of a column, and the columns learnt at ``fit``. Put it first among the bases."""

    special_codes: Any

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()  # type: ignore[misc]
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        tags.classifier_tags.multi_class = False
        return tags

    def _specials_for(self, column: str) -> tuple[Any, ...]:
        """The special codes of ``column``: one list for all columns, or a dict by column."""
        sc = self.special_codes
        if sc is None:
            return ()
        if isinstance(sc, dict):
            return tuple(sc.get(column, ()))
        return tuple(sc)

    def _learn_columns(self, X: object, frame: pd.DataFrame) -> None:
        """``feature_names_in_`` (named inputs only), ``n_features_in_`` and the column names."""
        if isinstance(X, pd.DataFrame):
            self.feature_names_in_ = np.asarray([str(c) for c in frame.columns], dtype=object)
        self.n_features_in_ = frame.shape[1]
        self._columns = [str(c) for c in frame.columns]


def as_frame(X: object, columns: list[str] | None = None, name: str = "Scorecard") -> pd.DataFrame:
    """A DataFrame view of ``X``; arrays get columns ``x0, x1, ...`` (or ``columns``)."""
    if isinstance(X, pd.DataFrame):
        if X.shape[0] == 0:
            raise DataError("X has no rows")
        if X.shape[1] == 0:
            raise DataError(f"0 feature(s) (shape={X.shape}) while a minimum of 1 is required.")
        return X
    if sparse.issparse(X):
        raise DataError("sparse input is not supported; pass a dense DataFrame or array")
    if hasattr(X, "to_pandas"):  # polars and friends
        return as_frame(X.to_pandas(), columns, name)  # type: ignore[attr-defined]
    try:
        arr = np.asarray(X)
    except Exception as exc:
        raise DataError(f"X cannot be read as a table: {exc}") from exc
    if arr.ndim == 1:
        raise DataError(
            "X must be two-dimensional (rows x characteristics); got a 1-D array. "
            "Reshape your data with array.reshape(-1, 1) if it holds one feature"
        )
    if arr.ndim != 2:
        raise DataError(f"X must be two-dimensional, got {arr.ndim} dimensions")
    if arr.shape[0] == 0:
        raise DataError(
            f"Found array with 0 sample(s) (shape={arr.shape}) while a minimum of 1 is required."
        )
    if arr.shape[1] == 0:
        raise DataError(f"0 feature(s) (shape={arr.shape}) while a minimum of 1 is required.")
    if arr.dtype.kind == "c":
        raise DataError("Complex data not supported")
    if columns is not None and arr.shape[1] != len(columns):
        raise DataError(
            f"X has {arr.shape[1]} features, but {name} is expecting {len(columns)} "
            "features as input"
        )
    cols = columns if columns is not None else [f"x{i}" for i in range(arr.shape[1])]
    if arr.dtype.kind in "fiub":
        arr = arr.astype(float)
        if np.isinf(arr).any():
            raise DataError("X contains infinity; use NaN for missing values")
    return pd.DataFrame(arr, columns=cols)


def check_target(y: object, n_rows: int) -> np.ndarray:
    """``y`` as an int8 array of 0/1 (1 = bad), with a clear error otherwise."""
    if y is None:
        raise DataError(
            "Scorecard requires y to be passed, but the target y is None (0/1 with 1 = bad)"
        )
    arr = np.asarray(y)
    if arr.ndim == 2 and arr.shape[1] == 1:
        warnings.warn(
            "A column-vector y was passed when a 1d array was expected",
            DataConversionWarning,
            stacklevel=3,
        )
        arr = arr.ravel()
    if arr.ndim != 1:
        raise DataError(f"the target y must be one-dimensional, got shape {arr.shape}")
    if arr.shape[0] != n_rows:
        raise DataError(f"X has {n_rows} rows but the target y has {arr.shape[0]}")
    if arr.dtype.kind == "f" and np.isnan(arr).any():
        raise DataError("Input y contains NaN: the target y must be 0/1 with 1 = bad, no missing")
    if arr.dtype.kind == "f" and np.isinf(arr).any():
        raise DataError("Input y contains infinity or a value too large: y must be 0/1")
    values = pd.unique(pd.Series(arr, dtype=object))
    bad = [v for v in values if not _is01(v)]
    floats = [v for v in bad if isinstance(v, float | np.floating) and float(v) != round(float(v))]
    if floats:
        raise DataError(
            f"the target y must be 0/1 with 1 = bad; found continuous values such as {floats[0]!r}"
        )
    if bad and all(isinstance(v, int | np.integer | float | np.floating) for v in bad):
        raise DataError(
            "Only binary classification is supported: the target y must be 0/1 with 1 = bad; "
            f"found {', '.join(repr(v) for v in bad[:5])}"
        )
    if bad:
        shown = ", ".join(repr(v) for v in bad[:5])
        raise DataError(f"the target y must be 0/1 with 1 = bad; found {shown}")
    out = arr.astype(float).astype(np.int8)
    if out.min() == out.max():
        raise DataError(
            f"the target y holds one class only ({int(out[0])}); a scorecard needs goods and bads"
        )
    return out


def _is01(v: object) -> bool:
    if isinstance(v, bool | np.bool_):
        return True
    if isinstance(v, str):
        return False
    try:
        f = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return f in (0.0, 1.0)


def check_weights(w: object, n_rows: int) -> np.ndarray | None:
    """Non-negative finite frequency weights with a positive total, or ``None``."""
    if w is None:
        return None
    arr = np.asarray(w, dtype=float)
    if arr.ndim == 0:
        arr = np.full(n_rows, float(arr))
    if arr.shape != (n_rows,):
        raise DataError(f"sample_weight has shape {arr.shape}, expected ({n_rows},)")
    if not np.isfinite(arr).all() or (arr < 0).any():
        raise DataError("sample_weight must be finite and non-negative")
    if arr.sum() <= 0:
        raise DataError("sample_weight sums to zero")
    return arr


def column_stats(
    col: pd.Series,
    weights: np.ndarray | None = None,
    factorized: tuple[np.ndarray, Any] | None = None,
) -> dict[str, float]:
    """Missing share and share of the most frequent value (missing counts as a value).

    With ``weights`` the shares are weighted (a weight of 2 counts like a repeated row).
    ``factorized``: ``pd.factorize(col, use_na_sentinel=True)`` when the caller has it.
    """
    if factorized is not None:
        codes, uniq = factorized
        w_all = None if weights is None else np.asarray(weights, dtype=float)
        per_code = np.bincount(codes + 1, weights=w_all, minlength=len(uniq) + 1)
        total = float(len(col)) if w_all is None else w_all.sum()
        miss_w = float(per_code[0])
        top = float(per_code[1:].max()) if len(uniq) else 0.0
        return {
            "missing_share": float(miss_w / total),
            "single_share": max(top, miss_w) / total,
            "n_unique": float(len(uniq)),
        }
    if (
        weights is None
        and len(col)
        and isinstance(col.dtype, np.dtype)
        and col.dtype.kind in "fiub"
    ):
        return _numeric_column_stats(col.to_numpy())
    w = np.ones(len(col)) if weights is None else np.asarray(weights, dtype=float)
    total = w.sum()
    miss = col.isna().to_numpy()
    codes, uniq = pd.factorize(col[~miss])
    per_value = np.bincount(codes, weights=w[~miss], minlength=len(uniq))
    top = float(per_value.max()) if len(uniq) else 0.0
    return {
        "missing_share": float(w[miss].sum() / total),
        "single_share": max(top, float(w[miss].sum())) / total,
        "n_unique": float(len(uniq)),
    }


def _numeric_column_stats(x: np.ndarray) -> dict[str, float]:
    """:func:`column_stats` of an unweighted NumPy column, from a sort instead of hashing."""
    n = x.size
    miss = np.isnan(x) if x.dtype.kind == "f" else None
    n_miss = int(np.count_nonzero(miss)) if miss is not None else 0
    s = np.sort(x if miss is None or not n_miss else x[~miss])
    n_unique, top = 0, 0
    if s.size:
        starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
        n_unique = starts.size
        top = int(np.diff(np.r_[starts, s.size]).max())
    return {
        "missing_share": float(n_miss / n),
        "single_share": max(float(top), float(n_miss)) / n,
        "n_unique": float(n_unique),
    }
