"""Columns of a frame or of one application, as NumPy arrays: the checks and the score run on
these, so the batch (a DataFrame) and the online form (one mapping) share one code path without
pandas' per-call cost on a single row."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from creditfactory.exceptions import DataError


class Columns:
    """Read-only access to named columns as NumPy arrays, of a DataFrame or of one mapping."""

    def __init__(self, source: pd.DataFrame | Mapping[str, Any]) -> None:
        self._frame = source if isinstance(source, pd.DataFrame) else None
        self._row = None if isinstance(source, pd.DataFrame) else source
        self.n = len(source) if isinstance(source, pd.DataFrame) else 1
        self.where = "applications" if self._frame is not None else "application"

    def has(self, name: str) -> bool:
        if self._frame is not None:
            return name in self._frame.columns
        assert self._row is not None
        return name in self._row

    def raw(self, name: str) -> np.ndarray | None:
        """The column as an object array, missing values as None; None if there is none."""
        if not self.has(name):
            return None
        if self._frame is not None:
            col = self._frame[name]
            arr = col.to_numpy(dtype=object)
            if col.hasnans:
                arr = np.where(pd.isna(col).to_numpy(), None, arr)
            return arr
        assert self._row is not None
        value = self._row[name]
        if value is pd.NA or value is pd.NaT or (isinstance(value, float) and np.isnan(value)):
            value = None
        out = np.empty(1, dtype=object)
        out[0] = value
        return out

    def text(self, name: str) -> np.ndarray | None:
        """The column as an object array of str ('' where missing or not text)."""
        arr = self.raw(name)
        if arr is None:
            return None
        return np.array([v if isinstance(v, str) else "" for v in arr], dtype=object)

    def number(self, name: str) -> np.ndarray | None:
        """The column as floats (NaN where missing); text that is no number is an error."""
        if self._frame is not None and self.has(name):
            col = self._frame[name]
            if pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(
                col.dtype
            ):
                return col.to_numpy(dtype=float, na_value=np.nan)
        arr = self.raw(name)
        if arr is None:
            return None
        try:
            return np.array([np.nan if v is None else float(v) for v in arr], dtype=float)
        except (TypeError, ValueError) as exc:
            raise DataError(f"{self.where}: column {name!r} is not a number ({exc})") from exc
