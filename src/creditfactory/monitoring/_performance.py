"""Performance drift: rank power and calibration by month, as outcomes mature.

Conventions: ``y`` is 0/1 with 1 = bad, NaN where the outcome is not known yet (the loan has
not been on book for the whole outcome window, or there is no loan); ``pd_pred`` is the model's
predicted probability of bad, so higher means riskier.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from creditfactory.exceptions import DataError

__all__ = [
    "auc_standard_error",
    "band_distribution",
    "calibration_by_band",
    "performance_by_month",
    "rank_metrics",
]


def _arrays(months: object, y: object, pd_pred: object) -> tuple[np.ndarray, ...]:
    m = np.asarray(months)
    yy = np.asarray(y, dtype=float)
    p = np.asarray(pd_pred, dtype=float)
    if not m.shape[0] == yy.shape[0] == p.shape[0]:
        raise DataError(
            f"months, y and pd_pred differ in length ({m.shape[0]}, {yy.shape[0]}, {p.shape[0]})"
        )
    known = ~np.isnan(yy)
    if not np.isin(yy[known], (0.0, 1.0)).all():
        raise DataError("y must be 0/1 (1 = bad) or NaN where the outcome is not known yet")
    if np.isnan(p).any() or (p < 0).any() or (p > 1).any():
        raise DataError("pd_pred must hold probabilities in [0, 1] with no missing values")
    return m, yy, p


def rank_metrics(y: object, risk: object) -> dict[str, float]:
    """AUC, KS and Gini of a risk score (higher = riskier) against 0/1 outcomes (1 = bad).

    KS is the largest gap between the cumulative shares of bads and goods, read off the ROC
    curve as ``max(tpr - fpr)``; Gini is ``2 * AUC - 1``.

    Examples
    --------
    >>> rank_metrics([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    {'auc': 0.75, 'ks': 0.5, 'gini': 0.5}
    """
    from sklearn.metrics import roc_auc_score, roc_curve

    yy = np.asarray(y, dtype=float)
    s = np.asarray(risk, dtype=float)
    if yy.shape != s.shape or yy.ndim != 1:
        raise DataError("y and risk must be one-dimensional and of the same length")
    if np.isnan(yy).any() or not np.isin(yy, (0.0, 1.0)).all():
        raise DataError("y must be 0/1 (1 = bad)")
    if np.unique(yy).size < 2:
        raise DataError("y holds one class only; rank metrics need both goods and bads")
    auc = float(roc_auc_score(yy, s))
    fpr, tpr, _ = roc_curve(yy, s)
    return {"auc": auc, "ks": float(np.max(tpr - fpr)), "gini": 2 * auc - 1}


def auc_standard_error(auc: float, n_bad: int, n_good: int) -> float:
    """Standard error of an AUC (Hanley and McNeil, 1982).

    Examples
    --------
    >>> round(auc_standard_error(0.75, 50, 450), 4)
    0.0412
    """
    if n_bad < 1 or n_good < 1:
        raise DataError("the AUC's standard error needs at least one bad and one good")
    q1 = auc / (2 - auc)
    q2 = 2 * auc**2 / (1 + auc)
    var = (auc * (1 - auc) + (n_bad - 1) * (q1 - auc**2) + (n_good - 1) * (q2 - auc**2)) / (
        n_bad * n_good
    )
    return float(np.sqrt(max(var, 0.0)))


def performance_by_month(
    months: object, y: object, pd_pred: object, min_bads: int = 20
) -> pd.DataFrame:
    """Rank power and overall calibration of each month's matured outcomes.

    Returns one row per month: ``n`` (rows), ``matured`` (rows with a known outcome),
    ``n_bad``, ``bad_rate`` (observed), ``predicted`` (mean predicted PD of the matured rows),
    ``auc``, ``ks``, ``gini`` (NaN when fewer than ``min_bads`` bads or goods are known).
    """
    m, yy, p = _arrays(months, y, pd_pred)
    rows = []
    for month in sorted(pd.unique(m)):
        sel = m == month
        known = sel & ~np.isnan(yy)
        yk, pk = yy[known], p[known]
        n_bad = int(yk.sum())
        row: dict[str, object] = {
            "month": month,
            "n": int(sel.sum()),
            "matured": int(known.sum()),
            "n_bad": n_bad,
            "bad_rate": float(yk.mean()) if yk.size else np.nan,
            "predicted": float(pk.mean()) if pk.size else np.nan,
        }
        enough = n_bad >= min_bads and yk.size - n_bad >= min_bads
        row.update(rank_metrics(yk, pk) if enough else dict.fromkeys(("auc", "ks", "gini"), np.nan))
        rows.append(row)
    return pd.DataFrame(rows)


def calibration_by_band(
    months: object, bands: object, y: object, pd_pred: object
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Predicted against observed bad rate by score band and month, with their tests.

    Each band of each month gets an exact two-sided binomial test of its bad count against
    its mean predicted PD. Each month gets the Hosmer-Lemeshow statistic over its bands,
    ``sum((O - E)^2 / (E * (1 - p)))``, against a chi-square with as many degrees of freedom as
    bands with matured rows: the model was not fitted on these months, so no degrees of freedom
    are spent (the ``G - 2`` of the in-sample test becomes ``G``).

    Returns
    -------
    bands : DataFrame
        ``month``, ``band``, ``n``, ``n_bad``, ``observed``, ``predicted``, ``p_value``.
    months : DataFrame
        ``month``, ``matured``, ``observed``, ``predicted``, ``ratio`` (observed / predicted),
        ``z`` and ``p_value`` (calibration in the large: the month's bad count against the sum
        of its predicted PDs, a normal approximation of the Poisson-binomial), ``hl_stat``,
        ``hl_df``, ``hl_p_value``.
    """
    m, yy, p = _arrays(months, y, pd_pred)
    b = np.asarray(bands)
    if b.shape[0] != m.shape[0]:
        raise DataError(f"bands has {b.shape[0]} values but months has {m.shape[0]}")
    known = ~np.isnan(yy)
    band_rows, month_rows = [], []
    for month in sorted(pd.unique(m)):
        sel = known & (m == month)
        hl, groups = 0.0, 0
        for band in sorted(pd.unique(b[sel])) if sel.any() else []:
            cell = sel & (b == band)
            n = int(cell.sum())
            k = int(yy[cell].sum())
            pbar = float(np.clip(p[cell].mean(), 1e-9, 1 - 1e-9))
            pv = float(stats.binomtest(k, n, pbar).pvalue)
            band_rows.append((month, band, n, k, k / n, pbar, pv))
            hl += (k - n * pbar) ** 2 / (n * pbar * (1 - pbar))
            groups += 1
        obs = float(yy[sel].mean()) if sel.any() else np.nan
        pred = float(p[sel].mean()) if sel.any() else np.nan
        var = float(np.sum(p[sel] * (1 - p[sel])))
        z = (float(yy[sel].sum()) - float(p[sel].sum())) / np.sqrt(var) if var > 0 else np.nan
        month_rows.append(
            (
                month,
                int(sel.sum()),
                obs,
                pred,
                obs / pred if sel.any() and pred > 0 else np.nan,
                z,
                float(2 * stats.norm.sf(abs(z))) if z == z else np.nan,
                hl if groups else np.nan,
                groups,
                float(stats.chi2.sf(hl, groups)) if groups else np.nan,
            )
        )
    by_band = pd.DataFrame(
        band_rows, columns=["month", "band", "n", "n_bad", "observed", "predicted", "p_value"]
    )
    by_month = pd.DataFrame(
        month_rows,
        columns=["month", "matured", "observed", "predicted", "ratio", "z", "p_value", "hl_stat",
                 "hl_df", "hl_p_value"],
    )  # fmt: skip
    return by_band, by_month


def band_distribution(months: object, bands: object, n_bands: int) -> pd.DataFrame:
    """Share of each month's rows in each score band (rows: months, columns: bands 0..n-1)."""
    m = np.asarray(months)
    b = np.asarray(bands)
    if b.shape[0] != m.shape[0]:
        raise DataError(f"bands has {b.shape[0]} values but months has {m.shape[0]}")
    if b.size and (b.min() < 0 or b.max() >= n_bands):
        raise DataError(f"bands: band index outside 0..{n_bands - 1}")
    table = pd.crosstab(pd.Series(m, name="month"), pd.Series(b, name="band"), normalize="index")
    return table.reindex(columns=range(n_bands), fill_value=0.0)
