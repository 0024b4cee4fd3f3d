"""Rank, separation and calibration metrics as pure functions over arrays.

Population stability (``psi``, ``psi_from_counts``) lives in :mod:`creditfactory.monitoring`.

Conventions: ``y_true`` is 0/1 with 1 = bad; ``y_score`` is any score where *higher means
riskier* (a probability of bad, say). Pass ``-points`` when the score is "higher = safer".
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from creditfactory.exceptions import DataError

__all__ = [
    "auc",
    "calibration_table",
    "gini",
    "hosmer_lemeshow",
    "ks",
    "lift_table",
]

_EPS = 1e-6


def _check_binary(y_true: object, y_score: object) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true)
    s = np.asarray(y_score, dtype=float)
    if y.ndim != 1 or s.ndim != 1:
        raise DataError("y_true and y_score must be one-dimensional")
    if y.shape[0] != s.shape[0]:
        raise DataError(f"y_true has {y.shape[0]} values but y_score has {s.shape[0]}")
    if np.isnan(s).any():
        raise DataError("y_score contains missing values")
    try:
        yf = y.astype(float)
    except (TypeError, ValueError) as exc:
        raise DataError("y_true must be 0/1 (1 = bad)") from exc
    if np.isnan(yf).any() or not np.isin(yf, (0.0, 1.0)).all():
        raise DataError("y_true must be 0/1 (1 = bad)")
    yi = yf.astype(np.int8)
    if yi.min() == yi.max():
        raise DataError("y_true holds one class only; the metric needs both goods and bads")
    return yi, s


def auc(y_true: object, y_score: object) -> float:
    """Area under the ROC curve (Mann-Whitney U with average ranks for ties).

    Examples
    --------
    >>> auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    """
    y, s = _check_binary(y_true, y_score)
    ranks = stats.rankdata(s)
    n_bad = int(y.sum())
    n_good = y.size - n_bad
    u = ranks[y == 1].sum() - n_bad * (n_bad + 1) / 2.0
    return float(u / (n_bad * n_good))


def gini(y_true: object, y_score: object) -> float:
    """Gini coefficient (accuracy ratio), ``2 * AUC - 1``.

    Examples
    --------
    >>> gini([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.5
    """
    return 2.0 * auc(y_true, y_score) - 1.0


def ks(y_true: object, y_score: object) -> float:
    """Kolmogorov-Smirnov statistic: the largest gap between the bads' and goods' score CDFs.

    Examples
    --------
    >>> ks([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.5
    """
    y, s = _check_binary(y_true, y_score)
    order = np.argsort(-s, kind="mergesort")
    s_sorted = s[order]
    y_sorted = y[order]
    cum_bad = np.cumsum(y_sorted) / y_sorted.sum()
    cum_good = np.cumsum(1 - y_sorted) / (y_sorted.size - y_sorted.sum())
    # Evaluate only at the last row of each tied score: ties cannot be split by a cut-off.
    last_of_tie = np.r_[s_sorted[1:] != s_sorted[:-1], True]
    return float(np.max(np.abs(cum_bad - cum_good)[last_of_tie]))


def _quantile_bands(s: np.ndarray, n_bins: int) -> np.ndarray:
    """Band index 0..k-1 by quantiles of ``s``, 0 = highest score; ties stay in one band."""
    if n_bins < 1:
        raise DataError(f"n_bins must be at least 1, got {n_bins}")
    ranks = stats.rankdata(-s, method="min") - 1  # 0 = highest; ties share the lowest rank
    return np.minimum((ranks * n_bins) // s.size, n_bins - 1).astype(int)


def lift_table(y_true: object, y_score: object, n_bins: int = 10) -> pd.DataFrame:
    """Lift and gains table by score band (band 1 = riskiest ``n_bins``-th of the population).

    Columns: ``band, n, n_bad, bad_rate, min_score, max_score, cum_n_share, cum_bad_share``
    (gains, or capture rate), ``lift``, ``cum_lift`` and ``ks`` (gap between cumulative bad and
    good shares at the band's end).

    Examples
    --------
    >>> t = lift_table([0, 0, 0, 1, 0, 1, 0, 0, 1, 1], range(10), n_bins=5)
    >>> t["n_bad"].tolist()
    [2, 0, 1, 1, 0]
    """
    y, s = _check_binary(y_true, y_score)
    band = _quantile_bands(s, n_bins)
    frame = pd.DataFrame({"band": band + 1, "y": y, "s": s})
    g = frame.groupby("band", sort=True)
    out = pd.DataFrame(
        {
            "n": g["y"].size(),
            "n_bad": g["y"].sum(),
            "min_score": g["s"].min(),
            "max_score": g["s"].max(),
        }
    ).reset_index()
    total_bad = y.sum()
    total_good = y.size - total_bad
    overall = total_bad / y.size
    out["bad_rate"] = out["n_bad"] / out["n"]
    cum_n = out["n"].cumsum()
    cum_bad = out["n_bad"].cumsum()
    cum_good = (out["n"] - out["n_bad"]).cumsum()
    out["cum_n_share"] = cum_n / y.size
    out["cum_bad_share"] = cum_bad / total_bad
    out["lift"] = out["bad_rate"] / overall
    out["cum_lift"] = (cum_bad / cum_n) / overall
    out["ks"] = (cum_bad / total_bad - cum_good / total_good).abs()
    cols = ["band", "n", "n_bad", "bad_rate", "min_score", "max_score", "cum_n_share"]
    cols += ["cum_bad_share", "lift", "cum_lift", "ks"]
    return out[cols]


def calibration_table(y_true: object, y_prob: object, n_bins: int = 10) -> pd.DataFrame:
    """Predicted against observed bad rate by band of predicted probability (equal counts).

    Bands run from the lowest predicted probability (band 1) to the highest.
    Columns: ``band, n, n_bad, mean_predicted, observed_rate, expected_bad``.

    Examples
    --------
    >>> t = calibration_table([0, 0, 1, 1], [0.1, 0.2, 0.7, 0.9], n_bins=2)
    >>> t["observed_rate"].tolist()
    [0.0, 1.0]
    """
    y, p = _check_binary(y_true, y_prob)
    if (p < 0).any() or (p > 1).any():
        raise DataError("y_prob must lie in [0, 1]")
    band = n_bins - _quantile_bands(p, n_bins)  # 1 = lowest probability
    frame = pd.DataFrame({"band": band, "y": y, "p": p})
    g = frame.groupby("band", sort=True)
    out = pd.DataFrame(
        {"n": g["y"].size(), "n_bad": g["y"].sum(), "mean_predicted": g["p"].mean()}
    ).reset_index()
    out["observed_rate"] = out["n_bad"] / out["n"]
    out["expected_bad"] = out["mean_predicted"] * out["n"]
    return out[["band", "n", "n_bad", "mean_predicted", "observed_rate", "expected_bad"]]


def hosmer_lemeshow(y_true: object, y_prob: object, n_bins: int = 10) -> tuple[float, float]:
    """Hosmer-Lemeshow goodness-of-fit statistic and its p-value (chi-squared, ``g - 2`` df).

    Returns
    -------
    (statistic, p_value)
        A small p-value (say < 0.05) says predicted and observed bad rates disagree.

    Examples
    --------
    >>> stat, p = hosmer_lemeshow([0, 1] * 50, [0.5] * 100, n_bins=2)
    >>> round(stat, 6), round(p, 6)
    (0.0, 1.0)
    """
    t = calibration_table(y_true, y_prob, n_bins)
    n = t["n"].to_numpy(float)
    obs = t["n_bad"].to_numpy(float)
    pbar = np.clip(t["mean_predicted"].to_numpy(float), _EPS, 1 - _EPS)
    exp = n * pbar
    stat = float(np.sum((obs - exp) ** 2 / (exp * (1 - pbar))))
    df = max(len(t) - 2, 1)
    return stat, float(stats.chi2.sf(stat, df))
