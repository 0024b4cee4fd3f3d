"""Element-wise helpers that work on Python floats, NumPy arrays and Polars expressions alike.

The pricing formulas are written once with these helpers and ``+ - * / **``, so the same code
serves one application (floats), a NumPy batch and the decision engine's Polars plans.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_SCALARS = (float, int, bool)


def _is_polars(*xs: Any) -> bool:
    return any(type(x).__module__.startswith("polars") for x in xs)


def where(cond: Any, a: Any, b: Any) -> Any:
    """``a`` where ``cond`` holds, else ``b``."""
    if type(cond) is bool:  # the online path: plain Python values
        return a if cond else b
    if _is_polars(cond, a, b):
        import polars as pl

        return pl.when(cond).then(a).otherwise(b)
    if isinstance(cond, np.ndarray) or isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.where(cond, a, b)
    return a if cond else b


def minimum(a: Any, b: Any) -> Any:
    """Element-wise minimum."""
    if type(a) in _SCALARS and type(b) in _SCALARS:
        return a if a <= b else b
    if _is_polars(a, b):
        import polars as pl

        return pl.min_horizontal(a, b)
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.minimum(a, b)
    return a if a <= b else b


def maximum(a: Any, b: Any) -> Any:
    """Element-wise maximum."""
    if type(a) in _SCALARS and type(b) in _SCALARS:
        return a if a >= b else b
    if _is_polars(a, b):
        import polars as pl

        return pl.max_horizontal(a, b)
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.maximum(a, b)
    return a if a >= b else b
