"""The input schema of a fitted model: the type and domain of each column it was fitted on.

A model artefact records, for every column it bins, what a caller must give it so that it
scores the way it was fitted: the value ``type`` (``bool``, ``int``, ``float`` or ``str``, the
vocabulary of a strategy's inputs), the ``kind`` of binning (``numerical`` or
``categorical``), whether missing values were seen (``nullable``), the ``special`` codes, the
numeric range seen (``min``/``max``, special codes excluded) and, for a categorical column, its
``categories`` (as the binning keys them: the text of each value). A strategy's loader refuses
a declaration that does not match; the decision engine uses the ``type`` to look values up
exactly as the scorecard does (a ``True`` is the category ``"True"``).

Artefacts written before the schema existed have their schema inferred from their bins, with
no warning: a numerical characteristic takes numbers (``float``; an ``int`` declaration is
accepted too) over an unknown range, a categorical one whose groups hold only ``"True"`` and
``"False"`` is a ``bool`` and any other categorical one takes text (``str``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["column_schema", "input_schema_of", "legacy_schema", "value_key"]

TYPES = ("bool", "int", "float", "str")


def _value_type(s: pd.Series) -> str:
    """The type of the non-missing values of a column, in a strategy's vocabulary."""
    dtype = s.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_integer_dtype(dtype):
        return "int"
    if pd.api.types.is_float_dtype(dtype):
        return "float"
    values = s.dropna()
    if isinstance(dtype, pd.CategoricalDtype):
        values = pd.Series(dtype.categories)
    if len(values) and all(isinstance(v, bool | np.bool_) for v in values):
        return "bool"
    if len(values) and all(
        isinstance(v, int | np.integer) and not isinstance(v, bool | np.bool_) for v in values
    ):
        return "int"
    if len(values) and all(
        isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool | np.bool_)
        for v in values
    ):
        return "float"
    return "str"


def column_schema(
    s: pd.Series,
    kind: str,
    special_codes: Iterable[Any] = (),
    factorized: tuple[np.ndarray, Any] | None = None,
) -> dict[str, Any]:
    """The schema of one training column (see the module docstring).

    ``factorized``: ``pd.factorize(s, use_na_sentinel=True)`` when the caller has it; a text
    column's categories are then read from its distinct values without hashing the rows.

    >>> column_schema(pd.Series([True, False, True]), "categorical")
    {'type': 'bool', 'kind': 'categorical', 'nullable': False, 'special': [], 'categories': ['False', 'True']}
    >>> column_schema(pd.Series([3.0, None, -1.0, 7.0]), "numerical", [-1])
    {'type': 'float', 'kind': 'numerical', 'nullable': True, 'special': [-1], 'min': 3.0, 'max': 7.0}
    """  # noqa: E501
    specials = [v.item() if isinstance(v, np.generic) else v for v in special_codes]
    out: dict[str, Any] = {
        "type": _value_type(s),
        "kind": kind,
        "nullable": bool(s.isna().any()),
        "special": specials,
    }
    if kind == "numerical":
        x = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)
        keep = ~np.isnan(x)
        for code in specials:
            keep &= x != float(code)
        if keep.any():
            kept = x if keep.all() else x[keep]  # (one copy of the kept values at most)
            out["min"], out["max"] = float(kept.min()), float(kept.max())
        else:
            out["min"] = out["max"] = None
    else:
        text_dtype = pd.api.types.is_string_dtype(s.dtype) and s.dtype != object
        if factorized is not None and text_dtype and not isinstance(s.dtype, pd.CategoricalDtype):
            values = factorized[1]  # the distinct strings, missing values left out
        else:
            values = s.dropna()
            if values.dtype != object:  # typed values: their distinct ones give the same texts
                values = values.unique()
        out["categories"] = sorted({str(v) for v in values})
    return out


def legacy_schema(characteristic: Mapping[str, Any]) -> dict[str, Any]:
    """The schema inferred from a binning rule alone (artefacts without a recorded schema).

    ``characteristic`` is a scoring-spec characteristic or a binning table's dict: ``kind``,
    ``groups`` (categorical) and ``special`` / ``special_codes``.
    """
    special = characteristic.get("special_codes")
    if special is None:
        special = [s["value"] for s in characteristic.get("special", [])]
    if characteristic["kind"] == "numerical":
        return {"type": "float", "kind": "numerical", "nullable": True, "special": list(special),
                "min": None, "max": None, "inferred": True}  # fmt: skip
    cats = sorted({str(c) for g in characteristic.get("groups", []) for c in g})
    kind = "bool" if cats and set(cats) <= {"True", "False"} else "str"
    return {"type": kind, "kind": "categorical", "nullable": True, "special": list(special),
            "categories": cats, "inferred": True}  # fmt: skip


def input_schema_of(model: Any) -> dict[str, dict[str, Any]]:
    """The type and domain of each column a fitted scorecard binned: ``input_schema_``, or the
    schema inferred from its binning tables (fitted or loaded before the schema existed)."""
    schema = getattr(model, "input_schema_", None)
    if schema:
        return dict(schema)
    return {f: legacy_schema(t.to_dict()) for f, t in model.binning_tables_.items()}


def value_key(value_type: str, text: str) -> Any:
    """The typed value a category's text stands for (``"True"`` -> ``True``, ``"5"`` -> 5),
    or ``None`` when the text is not a value of ``value_type``."""
    if value_type == "str":
        return text
    if value_type == "bool":
        return {"True": True, "False": False}.get(text)
    try:
        if value_type == "int":  # exact, however many digits (no trip through a float)
            n = int(text)
            return n if str(n) == text else None
        v = float(text)
    except ValueError:
        return None
    return v if math.isfinite(v) and (repr(v) == text or str(v) == text) else None
