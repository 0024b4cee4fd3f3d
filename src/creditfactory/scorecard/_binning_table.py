"""The binning of one feature: its rule (edges or category groups) and its good/bad counts.

A :class:`BinningTable` is a result object. It renders (pandas frame, Rich table), exports
(CSV, JSON), plots (Plotly) and can be edited by hand (merge bins, split at edges, group
categories); every edit returns a new table with the statistics recomputed.

Bin order is fixed: the regular bins, then one bin per declared special value, then the
missing bin. For a numeric feature, regular bin ``i`` holds ``splits[i-1] <= x < splits[i]``.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from creditfactory.exceptions import ConfigError, DataError
from creditfactory.scorecard._woe import iv, woe

__all__ = ["BinningTable", "Kind"]

Kind = Literal["numerical", "categorical"]
_FEW_EDGES = 12


def _fmt(v: float) -> str:
    return f"{v:.6g}"


@dataclass(frozen=True)
class BinningTable:
    """Bins of one feature with their good/bad counts; statistics are derived on demand.

    Parameters
    ----------
    feature : str
        Column name.
    kind : {"numerical", "categorical"}
    splits : tuple of float
        Numeric edges (empty for a categorical feature).
    groups : tuple of tuple of str
        Category groups, one per regular bin (empty for a numeric feature).
    special_codes : tuple
        Declared special values, each with its own bin.
    n_good, n_bad : tuple of int (float when fitted with sample weights)
        Counts per bin, in bin order (regular, special, missing).
    """

    feature: str
    kind: Kind
    splits: tuple[float, ...] = ()
    groups: tuple[tuple[str, ...], ...] = ()
    special_codes: tuple[Any, ...] = ()
    n_good: tuple[float, ...] = ()
    n_bad: tuple[float, ...] = ()
    category_counts: dict[str, tuple[float, float]] = field(default_factory=dict, compare=False)

    # ----------------------------------------------------------------- construction
    @classmethod
    def from_data(
        cls,
        feature: str,
        kind: Kind,
        x: np.ndarray,
        y: np.ndarray,
        *,
        splits: Iterable[float] = (),
        groups: Iterable[Iterable[object]] = (),
        special_codes: Iterable[Any] = (),
        sample_weight: object = None,
    ) -> BinningTable:
        """Count goods and bads of ``x`` (raw values) in the bins the rule describes.

        With ``sample_weight`` the counts are sums of weights.
        """
        rule = cls(
            feature=feature,
            kind=kind,
            splits=tuple(float(s) for s in splits),
            groups=tuple(tuple(str(c) for c in g) for g in groups),
            special_codes=tuple(special_codes),
        )
        rule._check_rule()
        idx = rule.bin_index(x)
        y = np.asarray(y).astype(np.int64)
        w = np.ones(y.size) if sample_weight is None else np.asarray(sample_weight, dtype=float)
        n = rule.n_bins
        n_bad = np.bincount(idx, weights=y * w, minlength=n)
        n_all = np.bincount(idx, weights=w, minlength=n)
        cat_counts: dict[str, tuple[float, float]] = {}
        if kind == "categorical":
            codes, uniq = pd.factorize(_as_category_strings(x))  # missing -> -1
            seen = codes >= 0
            gs = np.bincount(codes[seen], weights=((1 - y) * w)[seen], minlength=len(uniq))
            bs = np.bincount(codes[seen], weights=(y * w)[seen], minlength=len(uniq))
            cat_counts = {
                str(u): (_count(gv), _count(bv)) for u, gv, bv in zip(uniq, gs, bs, strict=True)
            }
        return replace(
            rule,
            n_good=tuple(_count(v) for v in n_all - n_bad),
            n_bad=tuple(_count(v) for v in n_bad),
            category_counts=cat_counts,
        )

    def _check_rule(self) -> None:
        if self.kind == "numerical":
            s = np.asarray(self.splits, dtype=float)
            if s.size and (not np.all(np.isfinite(s)) or np.any(np.diff(s) <= 0)):
                raise ConfigError(f"feature '{self.feature}': splits must be finite and increasing")
        elif self.kind == "categorical":
            seen: set[str] = set()
            for g in self.groups:
                dup = seen.intersection(g)
                if dup:
                    raise ConfigError(
                        f"feature '{self.feature}': category {sorted(dup)[0]!r} is in two groups"
                    )
                seen.update(g)
        else:
            raise ConfigError(f"feature '{self.feature}': unknown kind {self.kind!r}")

    # ----------------------------------------------------------------- geometry
    @property
    def n_regular(self) -> int:
        """Number of regular bins (not special, not missing)."""
        return len(self.splits) + 1 if self.kind == "numerical" else len(self.groups)

    @property
    def n_bins(self) -> int:
        """Total number of bins including the special and missing bins."""
        return self.n_regular + len(self.special_codes) + 1

    @property
    def missing_bin(self) -> int:
        """Index of the missing bin (the last one); unseen categories also land here."""
        return self.n_bins - 1

    def labels(self) -> list[str]:
        """Human-readable label of every bin, in bin order."""
        if self.kind == "numerical":
            edges = [-math.inf, *self.splits, math.inf]
            regular = [
                f"[{_fmt(lo)}, {_fmt(hi)})" if lo > -math.inf else f"(-inf, {_fmt(hi)})"
                for lo, hi in itertools.pairwise(edges)
            ]
        else:
            regular = ["{" + ", ".join(g) + "}" for g in self.groups]
        return [*regular, *(f"special {c!r}" for c in self.special_codes), "missing"]

    def bin_index(self, x: object) -> np.ndarray:
        """Bin index of every raw value (missing and unseen categories go to the missing bin)."""
        return self.bin_index_and_unseen(x)[0]

    def bin_index_and_unseen(self, x: object) -> tuple[np.ndarray, int]:
        """Bin indices and the number of non-missing values no bin knows (unseen categories)."""
        n_reg = self.n_regular
        if self.kind == "numerical":
            v = _as_float(x, self.feature)
            idx: np.ndarray
            if len(self.splits) <= _FEW_EDGES and self.n_bins < 127:
                # a few comparisons beat a binary search; 1 byte per row: less memory traffic
                idx = np.zeros(v.size, dtype=np.int8)
                for edge in self.splits:
                    idx += v >= edge
            else:
                idx = np.searchsorted(np.asarray(self.splits, dtype=float), v, side="right")
            for k, code in enumerate(self.special_codes):
                idx[v == float(code)] = n_reg + k
            nan = np.isnan(v)
            if nan.any():
                idx[nan] = self.missing_bin
            return idx, 0
        # Hash the distinct values once (fast on Arrow strings), then map the few distinct ones.
        values = x if isinstance(x, pd.Series) else np.asarray(x, dtype=object)
        codes, uniq = pd.factorize(values, use_na_sentinel=True)
        cats = [c for g in self.groups for c in g] + [str(c) for c in self.special_codes]
        target = [i for i, g in enumerate(self.groups) for _ in g]
        target += [n_reg + k for k in range(len(self.special_codes))]
        lookup = np.r_[np.asarray(target, dtype=np.int64), self.missing_bin]
        pos = pd.Index(cats, dtype=object).get_indexer([str(u) for u in uniq])
        per_value = np.r_[lookup[pos], self.missing_bin]  # code -1 (missing) -> last entry
        if self.n_bins < 127:
            per_value = per_value.astype(np.int8)
        unseen = 0
        if (pos < 0).any():
            unseen = int(np.isin(codes, np.flatnonzero(pos < 0)).sum())
        return per_value[codes], unseen

    # ----------------------------------------------------------------- statistics
    @property
    def count(self) -> np.ndarray:
        """Observations per bin."""
        c = np.asarray(self.n_good, dtype=float) + np.asarray(self.n_bad, dtype=float)
        return c.astype(np.int64) if np.all(c == np.round(c)) else c

    @property
    def woe(self) -> np.ndarray:
        """Weight of evidence per bin (positive = safer than average)."""
        return woe(self.n_good, self.n_bad)

    @property
    def iv(self) -> float:
        """Information value of the feature."""
        return float(iv(self.n_good, self.n_bad).sum())

    @property
    def iv_pvalue(self) -> float:
        """P-value of the feature's IV against "no association" (chi-squared approximation).

        Under independence ``IV * G * B / (G + B)`` is approximately chi-squared with
        ``k - 1`` degrees of freedom (``k`` non-empty bins), as IV is the symmetric
        Kullback-Leibler divergence between the goods' and bads' bin distributions. Optimised
        bins make the true p-value larger than this, so use a strict threshold.
        """
        from scipy import special  # chdtrc(df, x) is chi2.sf(x, df), without its dispatch

        g, b = float(sum(self.n_good)), float(sum(self.n_bad))
        k = int((self.count > 0).sum())
        if k < 2 or g <= 0 or b <= 0:
            return 1.0
        return float(special.chdtrc(k - 1, self.iv * g * b / (g + b)))

    @property
    def bad_rate(self) -> np.ndarray:
        """Share of bads per bin (NaN for an empty bin)."""
        c = self.count
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(c > 0, np.asarray(self.n_bad) / np.maximum(c, 1), np.nan)

    def trend(self) -> str:
        """Shape of the bad rate over the regular numeric bins.

        One of ``ascending``, ``descending``, ``flat`` or ``other``.
        """
        r = self.bad_rate[: self.n_regular]
        r = r[~np.isnan(r)]
        if self.kind != "numerical" or r.size < 2:
            return "flat" if r.size < 2 else "other"
        d = np.diff(r)
        if np.all(d >= 0):
            return "ascending"
        if np.all(d <= 0):
            return "descending"
        return "other"

    def to_frame(self) -> pd.DataFrame:
        """The table as a pandas DataFrame with a ``Totals`` row."""
        c = self.count
        total = max(float(c.sum()), 1e-12)
        ivs = iv(self.n_good, self.n_bad)
        df = pd.DataFrame(
            {
                "bin": self.labels(),
                "count": c,
                "share": c / total,
                "n_good": list(self.n_good),
                "n_bad": list(self.n_bad),
                "bad_rate": self.bad_rate,
                "woe": self.woe,
                "iv": ivs,
            }
        )
        totals = {
            "bin": "Totals",
            "count": _count(c.sum()),
            "share": 1.0,
            "n_good": _count(sum(self.n_good)),
            "n_bad": _count(sum(self.n_bad)),
            "bad_rate": sum(self.n_bad) / total,
            "woe": np.nan,
            "iv": float(ivs.sum()),
        }
        return pd.concat([df, pd.DataFrame([totals])], ignore_index=True)

    def __repr__(self) -> str:
        return (
            f"BinningTable(feature={self.feature!r}, kind={self.kind!r}, "
            f"n_bins={self.n_bins}, iv={self.iv:.4f})"
        )

    def _repr_html_(self) -> str:
        """The table in a notebook: title, trend, then the rows with their Totals."""
        import html

        from creditfactory.scorecard._html import frame_html

        head = (
            f"<b>{html.escape(self.feature)}</b> ({self.kind}, IV {self.iv:.4f}, "
            f"trend {self.trend()})"
        )
        return head + frame_html(self.to_frame())

    def __rich__(self) -> Any:
        """Render as a Rich table (``rich.print(table)``)."""
        from rich.table import Table

        t = Table(title=f"{self.feature}  (IV {self.iv:.4f}, {self.kind})")
        for col in ("bin", "count", "share", "bad rate", "WOE", "IV"):
            t.add_column(col, justify="left" if col == "bin" else "right")
        for _, r in self.to_frame().iterrows():
            t.add_row(
                str(r["bin"]),
                f"{r['count']:,.0f}",
                f"{r['share']:.1%}",
                "" if pd.isna(r["bad_rate"]) else f"{r['bad_rate']:.2%}",
                "" if pd.isna(r["woe"]) else f"{r['woe']:.4f}",
                f"{r['iv']:.4f}",
            )
        return t

    # ----------------------------------------------------------------- export
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description: the rule, the counts and the derived statistics."""
        return {
            "feature": self.feature,
            "kind": self.kind,
            "splits": list(self.splits),
            "groups": [list(g) for g in self.groups],
            "special_codes": [_jsonable(c) for c in self.special_codes],
            "labels": self.labels(),
            "n_good": list(self.n_good),
            "n_bad": list(self.n_bad),
            "woe": [float(w) for w in self.woe],
            "iv": self.iv,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BinningTable:
        """Rebuild a table from :meth:`to_dict` output."""
        t = cls(
            feature=str(d["feature"]),
            kind=d["kind"],
            splits=tuple(float(s) for s in d["splits"]),
            groups=tuple(tuple(str(c) for c in g) for g in d["groups"]),
            special_codes=tuple(d["special_codes"]),
            n_good=tuple(_count(v) for v in d["n_good"]),
            n_bad=tuple(_count(v) for v in d["n_bad"]),
        )
        t._check_rule()
        if len(t.n_good) != t.n_bins or len(t.n_bad) != t.n_bins:
            raise DataError(f"feature '{t.feature}': counts do not match the number of bins")
        return t

    def to_json(self, path: str | None = None) -> str:
        """JSON text of :meth:`to_dict`; also written to ``path`` when given."""
        text = json.dumps(self.to_dict(), indent=2)
        if path is not None:
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(text)
        return text

    def to_csv(self, path: str | None = None) -> str:
        """CSV text of :meth:`to_frame`; also written to ``path`` when given."""
        text = self.to_frame().to_csv(index=False)
        if path is not None:
            with open(path, "w", encoding="utf-8", newline="") as fh:
                fh.write(text)
        return text

    def plot(self, lang: str = "en") -> Any:
        """A Plotly figure: bin shares as bars, WOE as a line on a second axis (titles in
        ``lang``: ``en`` or ``zh-CN``).

        Empty bins (a special code or missing values never seen) are left out: their WOE of 0
        is a convention, not evidence, and would bend the line.
        """
        import plotly.graph_objects as go

        from creditfactory._html import resolve_lang, tr

        lang = resolve_lang(lang)
        df = self.to_frame().iloc[:-1]
        df = df[df["count"] > 0]
        fig = go.Figure()
        fig.add_bar(x=df["bin"], y=df["share"], name=tr("share", lang), yaxis="y")
        fig.add_scatter(x=df["bin"], y=df["woe"], name="WOE", yaxis="y2", mode="lines+markers")
        fig.update_layout(
            title=f"{self.feature} (IV {self.iv:.3f})",
            yaxis={"title": tr("share", lang), "tickformat": ".0%"},
            yaxis2={"title": tr("WOE", lang), "overlaying": "y", "side": "right"},
            legend={"orientation": "h"},
            margin={"l": 40, "r": 40, "t": 40, "b": 40},
        )
        return fig

    # ----------------------------------------------------------------- manual editing
    def merge(self, first: int, last: int | None = None) -> BinningTable:
        """Merge regular bins ``first..last`` (inclusive; default: ``first`` and the next one).

        Exact from the counts alone: no data needed.
        """
        last = first + 1 if last is None else last
        if not (0 <= first < last < self.n_regular):
            raise ConfigError(
                f"feature '{self.feature}': cannot merge bins {first}..{last}; "
                f"regular bins are 0..{self.n_regular - 1}"
            )
        g = list(self.n_good)
        b = list(self.n_bad)
        g[first : last + 1] = [sum(g[first : last + 1])]
        b[first : last + 1] = [sum(b[first : last + 1])]
        if self.kind == "numerical":
            splits = self.splits[:first] + self.splits[last:]
            return replace(self, splits=splits, n_good=tuple(g), n_bad=tuple(b))
        merged = tuple(c for grp in self.groups[first : last + 1] for c in grp)
        groups = (*self.groups[:first], merged, *self.groups[last + 1 :])
        return replace(self, groups=groups, n_good=tuple(g), n_bad=tuple(b))

    def split(self, edges: Iterable[float], x: object, y: object) -> BinningTable:
        """Add numeric split points and recount on the data ``x, y``."""
        if self.kind != "numerical":
            raise ConfigError(f"feature '{self.feature}': split applies to numeric features")
        new = sorted(set(self.splits).union(float(e) for e in edges))
        return self.with_rule(x, y, splits=new)

    def group(
        self, categories: Iterable[object], x: object | None = None, y: object | None = None
    ) -> BinningTable:
        """Put the given categories into one new group (taken out of their old groups).

        Uses the per-category counts kept at fit time; pass ``x, y`` to recount instead.
        """
        if self.kind != "categorical":
            raise ConfigError(f"feature '{self.feature}': group applies to categorical features")
        cats = tuple(str(c) for c in categories)
        known = {c for g in self.groups for c in g} | set(self.category_counts)
        unknown = [c for c in cats if c not in known]
        if unknown:
            raise ConfigError(f"feature '{self.feature}': unknown category {unknown[0]!r}")
        rest = [tuple(c for c in g if c not in cats) for g in self.groups]
        groups = [g for g in rest if g] + [cats]
        if x is not None and y is not None:
            return self.with_rule(x, y, groups=groups)
        return self._recount_from_categories(tuple(groups))

    def with_rule(
        self,
        x: object,
        y: object,
        *,
        splits: Iterable[float] | None = None,
        groups: Iterable[Iterable[object]] | None = None,
    ) -> BinningTable:
        """Same feature and special values, a new rule, counts recomputed on ``x, y``."""
        return BinningTable.from_data(
            self.feature,
            self.kind,
            np.asarray(x, dtype=object) if self.kind == "categorical" else np.asarray(x),
            np.asarray(y),
            splits=self.splits if splits is None else splits,
            groups=self.groups if groups is None else groups,
            special_codes=self.special_codes,
        )

    def _recount_from_categories(self, groups: tuple[tuple[str, ...], ...]) -> BinningTable:
        cc = self.category_counts
        reg_g = [sum(cc.get(c, (0, 0))[0] for c in g) for g in groups]
        reg_b = [sum(cc.get(c, (0, 0))[1] for c in g) for g in groups]
        tail = slice(self.n_regular, None)
        return replace(
            self,
            groups=groups,
            n_good=(*reg_g, *self.n_good[tail]),
            n_bad=(*reg_b, *self.n_bad[tail]),
        )


def _count(v: Any) -> float:
    """A count as ``int`` when whole (unweighted data), else ``float`` (weighted)."""
    f = float(v)
    return round(f) if abs(f - round(f)) < 1e-9 else f


def _jsonable(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    return v


def _as_float(x: object, feature: str) -> np.ndarray:
    """Raw values as float64, with a clear error naming the column for non-numeric text."""
    arr = np.asarray(x)
    if arr.dtype.kind in "fiub":
        return arr.astype(float, copy=False)  # callers never write into it
    s = pd.Series(arr, dtype=object)
    num = pd.to_numeric(s, errors="coerce")
    bad = num.isna() & s.notna() & ~s.map(lambda v: isinstance(v, float) and math.isnan(v))
    if bad.any():
        example = s[bad].iloc[0]
        raise DataError(
            f"column '{feature}' is numeric but holds non-numeric value {example!r} "
            f"({int(bad.sum())} such rows)"
        )
    return num.to_numpy(dtype=float)


def _as_category_strings(x: object) -> np.ndarray:
    """Raw values as an object array of strings; missing values stay ``None``."""
    if isinstance(x, pd.Series) and pd.api.types.is_string_dtype(x.dtype) and x.dtype != object:
        return x.to_numpy(dtype=object, na_value=None)
    arr = np.asarray(x, dtype=object)
    miss = pd.isna(arr)
    if pd.api.types.infer_dtype(arr, skipna=True) in {"string", "empty"}:
        if miss.any():
            arr = arr.copy()
            arr[miss] = None
        return arr
    out = pd.Series(arr).astype(str).to_numpy(dtype=object)
    out[miss] = None
    return out
