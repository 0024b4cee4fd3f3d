"""Weight of evidence and information value from good/bad counts (pure functions).

Sign convention (as optbinning and most scorecard texts): ``WOE = ln(%good / %bad)``, so a bin
safer than average has a positive WOE.
"""

from __future__ import annotations

import numpy as np

__all__ = ["iv", "woe"]

_SMOOTH = 0.5


def woe(n_good: object, n_bad: object) -> np.ndarray:
    """Weight of evidence per bin, ``ln((good_i / G) / (bad_i / B))``.

    An empty bin gets 0 (neutral). A non-empty bin with no goods or no bads would have an
    infinite WOE; both of its counts then get 0.5 added (a Haldane correction) so it stays finite.

    Examples
    --------
    >>> woe([90, 80, 0], [10, 20, 0]).round(4).tolist()
    [0.4626, -0.3483, 0.0]
    """
    g = np.asarray(n_good, dtype=float)
    b = np.asarray(n_bad, dtype=float)
    total_g, total_b = g.sum(), b.sum()
    if total_g <= 0 or total_b <= 0:
        return np.zeros_like(g)
    degenerate = ((g == 0) | (b == 0)) & ((g + b) > 0)
    g_adj = np.where(degenerate, g + _SMOOTH, g)
    b_adj = np.where(degenerate, b + _SMOOTH, b)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.log((g_adj / total_g) / (b_adj / total_b))
    return np.where((g + b) > 0, w, 0.0)


def iv(n_good: object, n_bad: object) -> np.ndarray:
    """Information value per bin, ``(%good_i - %bad_i) * WOE_i``; sum it for the feature's IV.

    Examples
    --------
    >>> round(float(iv([90, 80], [10, 20]).sum()), 4)
    0.159
    """
    g = np.asarray(n_good, dtype=float)
    b = np.asarray(n_bad, dtype=float)
    total_g, total_b = g.sum(), b.sum()
    if total_g <= 0 or total_b <= 0:
        return np.zeros_like(g)
    return (g / total_g - b / total_b) * woe(g, b)
