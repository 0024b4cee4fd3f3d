"""The domain of a model's inputs: which values it can place in a bin, and which it never saw."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from creditfactory._schema import value_key

PL_TYPES: dict[str, type[pl.DataType]] = {
    "bool": pl.Boolean, "int": pl.Int64, "float": pl.Float64, "str": pl.String,
}  # fmt: skip


class Domain:
    """The values each categorical input of a model can place in a bin, as typed values.

    Built from the model's input schema (``type``) and, per categorical input, the category
    texts it bins (``"True"`` is the value ``True`` of a ``bool`` input, ``"5"`` the value 5 of
    an ``int`` one). A value outside it is *unseen*: the model scores it as missing, and the
    strategy's ``unseen`` policy says what else happens. Numerical inputs have no unseen
    values: their first and last bins extend to infinity (the range seen in training is in the
    schema, and ``strategy check`` warns when a declaration goes beyond it).

    >>> d = Domain({"flag": "bool", "city": "str"}, {"flag": ["True", "False"], "city": ["sh"]})
    >>> d.unseen_row({"flag": True, "city": "sz"})
    ['city']
    >>> d.unseen_frame(pl.DataFrame({"flag": [True], "city": [None]}))["city"].to_list()
    [False]
    """

    def __init__(self, types: Mapping[str, str], categories: Mapping[str, Sequence[str]]):
        self.types = dict(types)
        self.keys: dict[str, frozenset[Any]] = {}
        for f, texts in categories.items():
            typed = (value_key(self.types[f], t) for t in texts)
            self.keys[f] = frozenset(v for v in typed if v is not None)
        self._row = list(self.keys.items())

    def unseen_row(self, row: Mapping[str, Any]) -> list[str]:
        """The categorical inputs of ``row`` whose value the model never saw."""
        out = []
        for f, keys in self._row:
            v = row.get(f)
            if v is not None and v == v and v not in keys:
                out.append(f)
        return out

    def unseen_frame(self, frame: pl.DataFrame) -> dict[str, pl.Series]:
        """Per categorical input, a boolean column: the row's value is one the model never saw."""
        out = {}
        for f, keys in self._row:
            s = frame[f].cast(PL_TYPES[self.types[f]], strict=False)
            known = pl.Series(sorted(keys), dtype=s.dtype)
            out[f] = (s.is_not_null() & ~s.is_in(known.implode())).fill_null(False)
        return out


def model_schema(model: Any) -> dict[str, dict[str, Any]] | None:
    """The input schema of a decision model (input -> type and domain), or ``None`` when the
    model does not say (a third-party model: the loader then checks numbers only)."""
    schema = getattr(model, "input_schema", None)
    return dict(schema) if isinstance(schema, Mapping) else None
