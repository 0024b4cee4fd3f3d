"""Per-row lists (reason codes, traces) built from flag columns without per-row list work.

Each row's list holds, in entry order, the value of every entry whose flag is true on that row.
The flags are read as one boolean matrix; ``numpy.nonzero`` lists the true cells row by row, in
entry order within a row, which is the order of the values in the Arrow list column: so the
values are one gather from a small pool of strings and the offsets a cumulative sum, with no
Python work per row or per distinct pattern (and no join).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl
import pyarrow as pa


def empty_lists(n: int, name: str = "") -> pl.Series:
    """``n`` empty ``list[str]`` values, built from offsets (no Python list per row)."""
    offsets = pa.array(np.zeros(n + 1, dtype=np.int64))
    arr = pa.LargeListArray.from_arrays(offsets, pa.array([], pa.large_string()))
    return pl.Series(name, arr).cast(pl.List(pl.String))


def _from_parts(
    n: int, name: str, parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]], pool: pl.Series
) -> pl.Series:
    """Assemble a ``list[str]`` column from ``parts``, each ``(rows, counts, idx)``: entries in
    row order (``rows`` non-decreasing, ``counts`` per row), ``idx`` into ``pool``; each part's
    entries of a row follow those of the parts before it."""
    if len(parts) == 1:
        _, counts, idx = parts[0]
    else:
        counts = np.zeros(n, dtype=np.int64)
        for _, c, _ in parts:
            counts += c
        start = np.zeros(n, dtype=np.int64)  # each row's first slot in the output
        np.cumsum(counts[:-1], out=start[1:])
        idx = np.empty(int(counts.sum()), dtype=np.int64)
        before = np.zeros(n, dtype=np.int64)  # slots the earlier parts take in each row
        for r, c, i in parts:
            first = np.zeros(n, dtype=np.int64)  # the part's own first entry of each row
            np.cumsum(c[:-1], out=first[1:])
            idx[start[r] + before[r] + (np.arange(len(r), dtype=np.int64) - first[r])] = i
            before += c
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    values = pool.gather(idx).to_arrow()
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    arr = pa.LargeListArray.from_arrays(pa.array(offsets), values.cast(pa.large_string()))
    return pl.Series(name, arr).cast(pl.List(pl.String))


def lists_by_pattern(
    df: pl.DataFrame,
    entries: list[tuple[str, str | pl.Expr]],
    name: str,
    tails: Sequence[pl.Series | tuple[np.ndarray, pl.Series]] = (),
) -> pl.Series:
    """A ``list[str]`` column: for each row, the values of the entries whose flag is true.

    ``entries`` are ``(flag column, value)`` in output order; a value is a string, or a
    string expression (null = nothing to add). A null flag counts as false. ``tails`` are
    appended to each row's list, in order: ``list[str]`` columns of ``df.height`` rows, or
    ``(count per row, values of all rows in row order)``.
    """
    n = df.height
    if not entries and not tails:
        return empty_lists(n, name)
    literals: dict[str, int] = {}
    exprs: list[pl.Expr] = []
    flags: list[pl.Expr] = []
    code = np.zeros(max(len(entries), 1), dtype=np.int64)  # literal: its index in the pool
    expr_no = np.full(max(len(entries), 1), -1, dtype=np.int64)  # expression: its number
    for j, (f, v) in enumerate(entries):
        flag = pl.col(f).fill_null(False)
        if isinstance(v, str):
            code[j] = literals.setdefault(v, len(literals))
        else:
            expr_no[j] = len(exprs)
            exprs.append(v.cast(pl.String).alias(f"__value{j}"))  # two entries may share one
            flag = flag & v.is_not_null()
        flags.append(flag.alias(f"__flag{j}"))
    pools = [pl.Series(list(literals), dtype=pl.String)]
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    if entries:
        # row-major true cells: a row's entries in entry order (flatnonzero on a C-ordered
        # copy is several times faster than nonzero on the column-ordered matrix)
        matrix = np.ascontiguousarray(df.select(flags).to_numpy())
        rows, cols = np.divmod(np.flatnonzero(matrix).astype(np.int64), len(entries))
        idx = code[cols]
        if exprs:  # an expression's value on a row sits at its column's base plus the row
            pools += [s.rename("") for s in df.select(exprs).get_columns()]
            no = expr_no[cols]
            is_expr = no >= 0
            idx = np.where(is_expr, len(literals) + no * n + rows, idx)
        parts.append((rows, np.bincount(rows, minlength=n).astype(np.int64), idx))
    size = sum(len(p) for p in pools)
    for tail in tails:
        if isinstance(tail, tuple):
            counts, flat = tail
        else:
            arr = tail.to_arrow()
            if isinstance(arr, pa.ChunkedArray):
                arr = arr.combine_chunks()
            counts = tail.list.len().fill_null(0).to_numpy().astype(np.int64)
            flat = pl.Series("", arr.flatten()).cast(pl.String)
        rows = np.repeat(np.arange(n, dtype=np.int64), counts)
        parts.append((rows, counts, size + np.arange(len(flat), dtype=np.int64)))
        pools.append(flat)
        size += len(flat)
    pool = pl.concat(pools, rechunk=True) if len(pools) > 1 else pools[0]
    return _from_parts(n, name, parts, pool)
