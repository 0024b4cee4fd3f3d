"""Per-row lists (reason codes, traces) built from flag columns without per-row list work.

A frame of a million decisions has only a handful of distinct flag patterns, so the engine
encodes each row's flags as integers, builds the list once per distinct pattern in Python and
joins it back: far faster in Polars than ``concat_list`` over many ``when`` expressions.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa

BITS = 62


def empty_lists(n: int, name: str = "") -> pl.Series:
    """``n`` empty ``list[str]`` values, built from offsets (no Python list per row)."""
    offsets = pa.array(np.zeros(n + 1, dtype=np.int64))
    arr = pa.LargeListArray.from_arrays(offsets, pa.array([], pa.large_string()))
    return pl.Series(name, arr).cast(pl.List(pl.String))


def lists_by_pattern(
    df: pl.DataFrame, entries: list[tuple[str, str | pl.Expr]], name: str
) -> pl.Series:
    """A ``list[str]`` column: for each row, the values of the entries whose flag is true.

    ``entries`` are ``(flag column, value)`` in output order; a value is a string, or a
    string expression (null = nothing to add).
    """
    if not entries:
        return empty_lists(df.height, name)
    literal = [(i, f) for i, (f, v) in enumerate(entries) if isinstance(v, str)]
    keys: list[pl.Expr] = []
    where: dict[int, tuple[str, int]] = {}
    for c in range(0, len(literal), BITS):
        chunk = literal[c : c + BITS]
        key = f"__k{c}"
        keys.append(
            pl.sum_horizontal(
                [pl.col(f).cast(pl.Int64) * (1 << b) for b, (_, f) in enumerate(chunk)]
            ).alias(key)
        )
        where.update({i: (key, b) for b, (i, _) in enumerate(chunk)})
    for i, (f, v) in enumerate(entries):
        if not isinstance(v, str):
            key = f"__d{i}"
            keys.append(pl.when(pl.col(f)).then(v).alias(key))
            where[i] = (key, -1)
    kdf = df.select(keys)
    uniq = kdf.unique()
    values = []
    for row in uniq.iter_rows(named=True):
        out = []
        for i, (_, v) in enumerate(entries):
            key, bit = where[i]
            if bit < 0:
                if row[key] is not None:
                    out.append(row[key])
            elif row[key] >> bit & 1:
                out.append(v)
        values.append(out)
    lookup = uniq.with_columns(pl.Series(name, values, dtype=pl.List(pl.String)))
    joined = kdf.join(lookup, on=kdf.columns, how="left", maintain_order="left", nulls_equal=True)
    return joined[name]
