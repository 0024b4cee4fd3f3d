"""Decision tables: bands and categories in, outputs out; gaps and overlaps refused at load.

A numeric cell ``[lo, hi]`` matches ``lo <= x < hi`` (``null`` = unbounded); ``any`` matches
everything in the dimension's domain. A categorical cell is a value or a list of values. Every
point of the domain (the product of the dimensions' domains) must be covered by exactly one
row; a value outside the domain, a null dimension value or an unknown category takes the
``default`` outputs.
"""

from __future__ import annotations

import itertools
import math
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from creditfactory.decision._expr import Expression

MAX_CELLS = 1_000_000

#: A row's condition on one dimension: a numeric band [low, high), a set of categories, or
#: ``None`` for "any" (see :func:`parse_cell`).
Cell = tuple[float, float] | frozenset[Any] | None


@dataclass
class Dim:
    name: str
    expr: Expression
    numeric: bool
    domain: tuple[float, float] = (-math.inf, math.inf)
    values: list[Any] = field(default_factory=list)  # categorical domain
    bounds: list[float] = field(default_factory=list)  # sorted piece boundaries (numeric)

    def pieces(self) -> list[Any]:
        """The elementary pieces: intervals (lo, hi) or single categories."""
        if not self.numeric:
            return list(self.values)
        pts = [-math.inf, *self.bounds, math.inf]
        return [(a, b) for a, b in itertools.pairwise(pts)]

    def in_domain(self, piece: Any) -> bool:
        return not self.numeric or (self.domain[0] <= piece[0] and piece[1] <= self.domain[1])

    def covers(self, cell: Cell, piece: Any) -> bool:
        if cell is None:  # "any"
            return True
        if isinstance(cell, tuple):  # a numeric band (parse_cell makes one iff numeric)
            band: tuple[float, float] = piece  # a numeric dimension's pieces are bands
            return cell[0] <= band[0] and band[1] <= cell[1]
        return piece in cell

    def show(self, piece: Any) -> str:
        if not self.numeric:
            return f"{self.name} = {piece!r}"
        lo, hi = (
            ("-inf" if piece[0] == -math.inf else f"{piece[0]:g}"),
            ("inf" if piece[1] == math.inf else f"{piece[1]:g}"),
        )
        return f"{self.name} in [{lo}, {hi})"


class TableError(ValueError):
    """A table problem; the strategy loader adds file and line."""

    def __init__(self, message: str, line: int = 0):
        super().__init__(message)
        self.line = line


def parse_cell(dim: Dim, raw: Any, line: int) -> Cell:
    """A row's condition on one dimension, normalised (``None`` = any)."""
    if raw is None or raw == "any":
        return None
    if dim.numeric:
        if not (isinstance(raw, list) and len(raw) == 2):
            raise TableError(
                f"{dim.name}: a band is [low, high] (null = unbounded), got {raw!r}", line
            )
        lo = -math.inf if raw[0] is None else raw[0]
        hi = math.inf if raw[1] is None else raw[1]
        for b in (lo, hi):
            if isinstance(b, bool) or not isinstance(b, int | float):
                raise TableError(f"{dim.name}: band bounds must be numbers, got {raw!r}", line)
        if not lo < hi:
            raise TableError(f"{dim.name}: empty band {raw!r} (low must be below high)", line)
        return (float(lo), float(hi))
    items = raw if isinstance(raw, list) else [raw]
    unknown = [v for v in items if v not in dim.values]
    if unknown:
        raise TableError(f"{dim.name}: {unknown[0]!r} is not one of {dim.values}", line)
    return frozenset(items)


def build_cells(dims: list[Dim], rows: list[tuple[list[Any], int]]) -> dict[tuple[int, ...], int]:
    """Map every in-domain cell (tuple of piece indices) to its one covering row.

    Raises
    ------
    TableError
        On a gap (a cell no row covers) or an overlap (a cell two rows cover).
    """
    for d in dims:
        if d.numeric:
            pts = {b for cells, _ in rows for c in [cells[dims.index(d)]] if c for b in c}
            pts |= set(d.domain)
            d.bounds = sorted(p for p in pts if math.isfinite(p))
    pieces = [d.pieces() for d in dims]
    total = math.prod(len(p) for p in pieces)
    if total > MAX_CELLS:
        raise TableError(f"table has {total:,} elementary cells (limit {MAX_CELLS:,})")
    out: dict[tuple[int, ...], int] = {}
    for idx in itertools.product(*[range(len(p)) for p in pieces]):
        cell = [pieces[j][i] for j, i in enumerate(idx)]
        if not all(d.in_domain(c) for d, c in zip(dims, cell, strict=True)):
            continue
        hits = [
            r
            for r, (conds, _) in enumerate(rows)
            if all(d.covers(c, p) for d, c, p in zip(dims, conds, cell, strict=True))
        ]
        where = " and ".join(d.show(p) for d, p in zip(dims, cell, strict=True))
        if not hits:
            raise TableError(f"gap: no row covers {where}")
        if len(hits) > 1:
            a, b = rows[hits[0]][1], rows[hits[1]][1]
            raise TableError(f"overlap: rows at lines {a} and {b} both cover {where}", b)
        out[idx] = hits[0]
    return out


class Lookup:
    """Find the row of a table for one environment (online) or a frame (batch)."""

    def __init__(self, dims: list[Dim], cells: dict[tuple[int, ...], int]):
        self.dims = dims
        self.cells = cells
        self._dims = [
            (d.expr.fn, d.numeric, d.bounds, {v: i for i, v in enumerate(d.values)}) for d in dims
        ]

    def row(self, env: dict[str, Any]) -> int | None:
        key = []
        for fn, numeric, bounds, index in self._dims:
            x = fn(env)
            if x is None:
                return None
            i = bisect_right(bounds, x) if numeric else index.get(x)
            if i is None:
                return None
            key.append(i)
        return self.cells.get(tuple(key))

    def row_expr(self) -> pl.Expr:
        """Int64 expression: the matching row, or -1."""
        cell: pl.Expr | None = None
        stride = 1
        sizes = [len(d.pieces()) for d in self.dims]
        for d, size in zip(reversed(self.dims), reversed(sizes), strict=True):
            x = d.expr.polars()
            if d.numeric:
                idx = (
                    pl.sum_horizontal([(x >= b).cast(pl.Int64) for b in d.bounds])
                    if d.bounds
                    else pl.lit(0, pl.Int64)
                )
                idx = pl.when(x.is_not_null()).then(idx)
            else:
                idx = x.replace_strict(
                    d.values, list(range(len(d.values))), default=None, return_dtype=pl.Int64
                )
            term = idx * stride
            cell = term if cell is None else cell + term
            stride *= size
        codes, rows = [], []
        for key, r in self.cells.items():
            code = 0
            stride = 1
            for i, size in zip(reversed(key), reversed(sizes), strict=True):
                code += i * stride
                stride *= size
            codes.append(code)
            rows.append(r)
        assert cell is not None
        return cell.replace_strict(codes, rows, default=-1, return_dtype=pl.Int64).fill_null(-1)
