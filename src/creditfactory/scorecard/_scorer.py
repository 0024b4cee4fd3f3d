"""Batch scoring of a frame: total points per row, the way the fastest NumPy code does it.

Built once from a fitted scorecard (:meth:`Scorecard.predict_points` caches it). Per
characteristic:

- numeric: the bin index in the smallest integer dtype that holds it, from comparisons against
  the float edges (a binary search when there are many edges); missing values and declared
  special values are set by masks. A column of plain NumPy integers (or bools) whose edges
  and special values span at most :data:`LOOKUP_SPAN` integers skips the comparisons: its
  values, clipped to that span, index a precomputed integer -> points table (below the span
  every value falls in the first bin, above it in the last, as the comparisons would put it);
- categorical: the values are mapped to points through a precomputed value -> points table,
  looked up once per distinct value where the input carries its categories (the codes of a
  pandas ``Categorical``, the indices of an Arrow dictionary, the byte of a NumPy bool) and
  once per row otherwise (Arrow's ``index_in`` on Arrow strings, ``pd.factorize`` on other
  text);

then one gather of the points per characteristic. Rows are processed in blocks of
:data:`BLOCK_ROWS` so that a block's column slices, bin indices and running totals stay in the
CPU cache instead of streaming every intermediate array through memory.

Totals are summed in the order of ``selected_features_``, so scores are bit-identical to
adding up ``bin_points_[feature][bin index]`` characteristic by characteristic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from creditfactory.scorecard._binning_table import _FEW_EDGES, BinningTable, _as_float

__all__ = ["BLOCK_ROWS", "LOOKUP_SPAN", "PointsScorer"]

BLOCK_ROWS = 65_536  # 512 KiB of float64 per column slice: fits in L2 with its temporaries
LOOKUP_SPAN = 4_096  # integers in a numeric characteristic's lookup table (32 KiB of float64)
_INTP = np.iinfo(np.intp)


def _small_int(n_bins: int) -> type[np.signedinteger[Any]]:
    return np.int8 if n_bins < 127 else np.int16 if n_bins < 32_767 else np.int32


@dataclass(frozen=True)
class _Numeric:
    edges: np.ndarray  # float64, increasing
    specials: tuple[tuple[float, int], ...]  # (value, bin)
    missing_bin: int
    points: np.ndarray  # float64, one per bin
    dtype: type[np.signedinteger[Any]]
    lookup: tuple[int, int, np.ndarray] | None  # (lowest, highest integer, points of each)


@dataclass(frozen=True)
class _Categorical:
    bins: dict[str, int]  # category text -> bin
    missing_bin: int
    points: np.ndarray  # float64, one per bin


class PointsScorer:
    """Total points of every row of a frame (see the module docstring for the method).

    ``block_rows`` sets the rows processed at a time (tests use small blocks).
    """

    def __init__(
        self,
        tables: dict[str, BinningTable],
        bin_points: dict[str, np.ndarray],
        block_rows: int = BLOCK_ROWS,
    ) -> None:
        if block_rows < 1:
            raise ValueError(f"block_rows: must be at least 1, got {block_rows}")
        self.block_rows = block_rows
        self._specs: list[tuple[str, _Numeric | _Categorical]] = []
        for f, pts in bin_points.items():
            t = tables[f]
            points = np.asarray(pts, dtype=float)
            if t.kind == "numerical":
                specials = tuple((float(c), t.n_regular + k) for k, c in enumerate(t.special_codes))
                edges = np.asarray(t.splits, dtype=float)
                spec: _Numeric | _Categorical = _Numeric(
                    edges,
                    specials,
                    t.missing_bin,
                    points,
                    _small_int(t.n_bins),
                    _integer_lookup(edges, specials, points),
                )
            else:
                bins = {c: i for i, g in enumerate(t.groups) for c in g}
                for k, c in enumerate(t.special_codes):
                    bins.setdefault(str(c), t.n_regular + k)
                spec = _Categorical(bins, t.missing_bin, points)
            self._specs.append((f, spec))

    def points(self, frame: pd.DataFrame) -> tuple[np.ndarray, dict[str, int]]:
        """Total points per row, and the count of unseen categories per column (if any)."""
        n = len(frame)
        inputs: list[tuple[np.ndarray, Any]] = []
        unseen: dict[str, int] = {}
        for f, spec in self._specs:
            if isinstance(spec, _Numeric):
                col = frame[f]
                # plain NumPy integers and bools cannot hold NaN: no missing mask to build
                exact = isinstance(col.dtype, np.dtype) and col.dtype.kind in "iub"
                # (a scorer pickled before the lookup tables existed has none)
                lookup = getattr(spec, "lookup", None)
                if exact and lookup is not None and _fits_intp(col.dtype):
                    inputs.append((col.to_numpy(), lookup))  # integers index the table
                else:
                    inputs.append((_as_float(col, f), not exact))
            else:
                codes, table, n_unseen = _category_points(frame[f], spec)
                if n_unseen:
                    unseen[f] = n_unseen
                inputs.append((codes, table))
        total = np.zeros(n)
        step = self.block_rows
        flags = np.empty(min(step, n), dtype=bool)  # one block's comparison, reused
        for lo in range(0, n, step):
            hi = min(lo + step, n)
            out = total[lo:hi]
            for (_, spec), (arr, extra) in zip(self._specs, inputs, strict=True):
                if not isinstance(spec, _Numeric):
                    out += extra.take(arr[lo:hi])
                elif isinstance(extra, tuple):
                    out += _looked_up(arr[lo:hi], extra)
                else:
                    idx = _numeric_bins(arr[lo:hi], spec, bool(extra), flags[: hi - lo])
                    out += spec.points.take(idx)
        return total, unseen


def _integer_lookup(
    edges: np.ndarray, specials: tuple[tuple[float, int], ...], points: np.ndarray
) -> tuple[int, int, np.ndarray] | None:
    """Points of every integer from one below the lowest edge or special value to one above the
    highest (or None when that span exceeds :data:`LOOKUP_SPAN` or there is no finite edge).

    The ends of the span hold the first and last regular bins, so that clipping a value to the
    span gives its points; a special value inside the span holds its special bin.
    """
    if edges.size == 0 or not np.isfinite(edges).all():
        return None
    whole = [int(v) for v, _ in specials if float(v).is_integer()]
    low = min([int(np.floor(edges[0])), *whole]) - 1
    high = max([int(np.ceil(edges[-1])), *whole]) + 1
    if high - low + 1 > LOOKUP_SPAN or low <= _INTP.min or high >= _INTP.max:
        return None
    values = np.arange(low, high + 1)
    bins = np.searchsorted(edges, values.astype(float), side="right")
    for value, b in specials:
        if float(value).is_integer():
            bins[values == int(value)] = b
    return low, high, points[bins]


def _fits_intp(dtype: np.dtype) -> bool:
    """Whether every value of an integer (or bool) dtype converts to ``np.intp`` exactly."""
    return dtype.kind != "u" or dtype.itemsize < np.dtype(np.intp).itemsize


def _looked_up(v: np.ndarray, lookup: tuple[int, int, np.ndarray]) -> np.ndarray:
    """Points of a block of integers through the characteristic's integer -> points table."""
    low, high, table = lookup
    if v.dtype == np.intp:
        i = np.clip(v, low, high)
    else:
        i = v.astype(np.intp)
        np.clip(i, low, high, out=i)
    i -= low
    return table.take(i)


def _numeric_bins(v: np.ndarray, spec: _Numeric, can_be_nan: bool, flags: np.ndarray) -> np.ndarray:
    """Bin index of a block of values: comparisons (or a binary search), then masks.

    ``flags`` is a bool buffer of the block's length for the comparisons: each is written into
    it and added as int8 bytes, not as a new bool array cast on the fly.
    """
    if spec.edges.size <= _FEW_EDGES:
        if can_be_nan:
            nan = np.isnan(v, out=flags)
            idx = nan.view(np.int8).astype(spec.dtype) * spec.dtype(spec.missing_bin)
        else:
            nan = None
            idx = np.zeros(v.size, dtype=spec.dtype)
        step = flags.view(np.int8) if spec.dtype is np.int8 else flags
        for edge in spec.edges:  # NaN compares False: missing rows keep the missing bin
            np.greater_equal(v, edge, out=flags)
            np.add(idx, step, out=idx)
    else:
        idx = np.searchsorted(spec.edges, v, side="right").astype(spec.dtype, copy=False)
        nan = np.isnan(v) if can_be_nan else None
        if nan is not None:
            np.putmask(idx, nan, spec.missing_bin)
    for value, b in spec.specials:
        np.putmask(idx, v == value, b)
    return idx


def _category_points(s: pd.Series, spec: _Categorical) -> tuple[np.ndarray, np.ndarray, int]:
    """Per-row codes, a code -> points table and the number of unseen non-missing values."""
    dtype = s.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        cats = [str(c) for c in dtype.categories]
        bins = np.array([spec.bins.get(c, spec.missing_bin) for c in cats] + [spec.missing_bin])
        codes = s.cat.codes.to_numpy()  # -1 = missing -> the last entry
        known = np.array([c in spec.bins for c in cats] + [True])
        unseen = 0 if known.all() else int((~known[codes]).sum())
        return codes, spec.points[bins], unseen
    if isinstance(dtype, np.dtype) and dtype.kind == "b":  # NumPy bools: the byte is the code
        keys = ["False", "True"]
        bins = np.array([spec.bins.get(k, spec.missing_bin) for k in keys])
        codes = s.to_numpy().view(np.int8)
        unseen = sum(
            int(np.count_nonzero(codes == i)) for i, k in enumerate(keys) if k not in spec.bins
        )
        return codes, spec.points[bins], unseen
    dictionary = _arrow_dictionary(s)
    if dictionary is not None:
        return _dictionary_points(dictionary, spec)
    arrow = _arrow_strings(s)
    if arrow is not None:
        import pyarrow as pa
        import pyarrow.compute as pc

        cats = list(spec.bins)
        # the value set in the column's own string type: casting a large_string column (pandas'
        # default str) to string first copied every row and took longer than the lookup
        found = pc.index_in(arrow, value_set=pa.array(cats, type=arrow.type))
        unseen = found.null_count - arrow.null_count
        codes = pc.fill_null(found, len(cats)).to_numpy()
        bins = np.array([*spec.bins.values(), spec.missing_bin])
        return codes, spec.points[bins], int(unseen)
    codes, uniq = pd.factorize(s, use_na_sentinel=True)  # missing -> -1
    keys = [str(u) for u in uniq]
    bins = np.array([spec.bins.get(k, spec.missing_bin) for k in keys] + [spec.missing_bin])
    known = np.array([k in spec.bins for k in keys] + [True])
    unseen = 0 if known.all() else int((~known[codes]).sum())
    return codes, spec.points[bins], unseen


def _dictionary_points(chunked: Any, spec: _Categorical) -> tuple[np.ndarray, np.ndarray, int]:
    """:func:`_category_points` of an Arrow dictionary of text: each chunk's dictionary is looked
    up once, its indices (shifted past the earlier chunks' entries) are the per-row codes."""
    import pyarrow as pa
    import pyarrow.compute as pc

    cats = list(spec.bins)
    cat_bins = np.array([*spec.bins.values(), spec.missing_bin])
    tables, codes, unseen, offset = [], [], 0, 0
    for chunk in chunked.chunks:
        values = chunk.dictionary
        found = pc.index_in(values, value_set=pa.array(cats, type=values.type))
        known = found.is_valid().to_numpy(zero_copy_only=False) | values.is_null().to_numpy(
            zero_copy_only=False
        )
        entry_bins = cat_bins[pc.fill_null(found, len(cats)).to_numpy()]
        tables.append(spec.points[np.append(entry_bins, spec.missing_bin)])
        index = pc.fill_null(chunk.indices, len(values)).to_numpy().astype(np.intp)
        if not known.all():
            unseen += int(np.count_nonzero(~np.append(known, True)[index]))
        codes.append(index + offset)
        offset += len(values) + 1
    table = np.concatenate(tables) if tables else spec.points[[spec.missing_bin]]
    code = np.concatenate(codes) if codes else np.zeros(0, dtype=np.intp)
    return code, table, unseen


def _arrow_dictionary(s: pd.Series) -> Any:
    """The column's Arrow data when it is an Arrow dictionary of text, else None."""
    dtype = s.dtype
    if not isinstance(dtype, pd.ArrowDtype):
        return None
    import pyarrow as pa

    arrow_type = dtype.pyarrow_dtype
    if not pa.types.is_dictionary(arrow_type):
        return None
    text = arrow_type.value_type
    if not (pa.types.is_string(text) or pa.types.is_large_string(text)):
        return None
    return s.array.__arrow_array__()


def _arrow_strings(s: pd.Series) -> Any:
    """The column's Arrow string array when it is Arrow-backed text, else None."""
    dtype = s.dtype
    arrow_text = (isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow") or (
        isinstance(dtype, pd.ArrowDtype) and dtype.kind in "OSU"
    )
    if not arrow_text:
        return None
    import pyarrow as pa

    chunked = s.array.__arrow_array__()  # the column's own Arrow data, no copy
    if pa.types.is_string(chunked.type) or pa.types.is_large_string(chunked.type):
        return chunked
    return None
