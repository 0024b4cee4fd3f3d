"""Population stability: PSI of a score and CSI of each characteristic, with the usual bands.

The index compares the distribution of one variable over fixed bins between a baseline
(the development sample, or the first months of the book) and a later sample:
``sum((a - e) * ln(a / e))`` over bin shares ``e`` (baseline) and ``a`` (actual). The same
formula gives the PSI of a score and the CSI (characteristic stability index) of each
characteristic; only what is binned differs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from creditfactory.exceptions import ConfigError, DataError

__all__ = [
    "STABILITY_BANDS",
    "psi",
    "psi_from_counts",
    "stability_band",
    "stability_by_month",
]

_EPS = 1e-6

STABILITY_BANDS: tuple[float, float] = (0.1, 0.25)
"""The usual bands: stable below 0.1, watch from 0.1, act from 0.25."""


def psi_from_counts(expected: object, actual: object) -> float:
    """Population stability index between two count (or share) vectors over the same bins.

    Empty cells are floored at a share of 1e-6 so the index stays finite.

    Examples
    --------
    >>> round(psi_from_counts([50, 50], [40, 60]), 6)
    0.040547
    """
    e = np.asarray(expected, dtype=float)
    a = np.asarray(actual, dtype=float)
    if e.shape != a.shape or e.ndim != 1:
        raise DataError("expected and actual must be count vectors of the same length")
    if (e < 0).any() or (a < 0).any() or e.sum() <= 0 or a.sum() <= 0:
        raise DataError("counts must be non-negative with a positive total")
    pe = np.maximum(e / e.sum(), _EPS)
    pa = np.maximum(a / a.sum(), _EPS)
    return float(np.sum((pa - pe) * np.log(pa / pe)))


def psi(expected: object, actual: object, n_bins: int = 10) -> float:
    """Population stability index of a numeric variable, bands from ``expected``'s quantiles.

    Missing values form their own band.

    Examples
    --------
    >>> psi(list(range(100)), list(range(100)))
    0.0
    """
    e = np.asarray(expected, dtype=float)
    a = np.asarray(actual, dtype=float)
    if e.size == 0 or a.size == 0:
        raise DataError("psi needs non-empty expected and actual samples")
    e_ok = e[~np.isnan(e)]
    edges: np.ndarray | list[float] = (
        np.unique(np.quantile(e_ok, np.linspace(0, 1, n_bins + 1)[1:-1])) if e_ok.size else []
    )

    def counts(v: np.ndarray) -> np.ndarray:
        ok = ~np.isnan(v)
        idx = np.searchsorted(edges, v[ok], side="right")
        c = np.bincount(idx, minlength=len(edges) + 1).astype(float)
        return np.r_[c, (~ok).sum()]

    return psi_from_counts(counts(e), counts(a))


def stability_band(value: float, bands: tuple[float, float] = STABILITY_BANDS) -> str:
    """``"stable"``, ``"watch"`` or ``"act"`` for a PSI/CSI value (``bands``: watch, act).

    Examples
    --------
    >>> [stability_band(v) for v in (0.05, 0.1, 0.2, 0.25)]
    ['stable', 'watch', 'watch', 'act']
    """
    watch, act = bands
    if not 0 < watch <= act:
        raise ConfigError(f"bands: need 0 < watch <= act, got {bands}")
    if value != value:  # NaN: nothing to compare
        return ""
    return "act" if value >= act else "watch" if value >= watch else "stable"


def stability_by_month(
    months: object, bins: pd.DataFrame, baseline: dict[str, object]
) -> pd.DataFrame:
    """PSI/CSI of every binned variable in every month against its baseline counts.

    Parameters
    ----------
    months : array-like
        The month of each row (any sortable labels, e.g. ``"2025-07"``).
    bins : DataFrame
        One column per variable holding each row's bin index (``0 .. n_bins - 1``).
    baseline : dict
        Variable name -> baseline count per bin (its length is the number of bins).

    Returns
    -------
    DataFrame
        One row per month and variable: ``month``, ``variable``, ``n``, ``index`` (the PSI or
        CSI) and ``band``.
    """
    m = np.asarray(months)
    if m.shape[0] != len(bins):
        raise DataError(f"months has {m.shape[0]} values but bins has {len(bins)} rows")
    missing = [c for c in bins.columns if c not in baseline]
    if missing:
        raise DataError(f"baseline: no counts for '{missing[0]}'")
    rows = []
    for month in sorted(pd.unique(m)):
        sel = m == month
        for var in bins.columns:
            base = np.asarray(baseline[var], dtype=float)
            idx = bins[var].to_numpy()[sel]
            if idx.size and (idx.min() < 0 or idx.max() >= base.size):
                raise DataError(f"{var}: bin index outside 0..{base.size - 1}")
            cur = np.bincount(idx.astype(np.int64), minlength=base.size)
            value = psi_from_counts(base, cur) if idx.size else float("nan")
            rows.append((month, var, int(idx.size), value, stability_band(value)))
    return pd.DataFrame(rows, columns=["month", "variable", "n", "index", "band"])
