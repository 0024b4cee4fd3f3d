"""``monitor``: stability, performance drift, calibration and alerts of a scoring model, by month.

The model is taken through a small protocol (what a fitted ``creditfactory.scorecard.Scorecard``
offers: points, probabilities, bin indices and its development distributions), so this package
sits below ``scorecard`` and ``scorecard`` can use its stability maths.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from creditfactory.exceptions import ConfigError, DataError
from creditfactory.monitoring._alerts import AlertThresholds, find_alerts
from creditfactory.monitoring._performance import (
    band_distribution,
    calibration_by_band,
    performance_by_month,
    rank_metrics,
)
from creditfactory.monitoring._stability import stability_band, stability_by_month

__all__ = ["MonitoringReport", "ScoringModel", "monitor"]

SCORE = "(score)"


class ScoringModel(Protocol):
    """What the monitor needs of a fitted model (a ``Scorecard`` has all of it)."""

    binning_tables_: Mapping[str, Any]  # each with ``count`` (per bin) and ``n_bins``
    train_score_edges_: np.ndarray  # score band edges (points) of the development sample
    train_score_counts_: np.ndarray  # development rows per score band

    def predict_points(self, X: Any) -> np.ndarray: ...

    def predict_proba(self, X: Any) -> np.ndarray: ...

    def bin_indices(self, X: Any) -> pd.DataFrame: ...


@dataclass
class MonitoringReport:
    """Everything the monitor found; the CLI, the HTML report and the dashboard only render it.

    Attributes
    ----------
    summary : one row per month: applications, mean points, score PSI and band, the largest
        CSI, matured outcomes, observed and predicted bad rate, AUC, KS, Gini, Hosmer-Lemeshow
        p-value and the number of alerts.
    stability : PSI of the score (variable ``(score)``) and CSI of each characteristic, by month.
    performance : rank power and overall calibration by month (matured outcomes only).
    calibration : predicted against observed bad rate by score band and month, binomial tests.
    calibration_months : per month, the Hosmer-Lemeshow test over the score bands.
    bands : share of each month's applications in each score band (0 = fewest points).
    rates : approval, referral and override rates by month (None without decisions).
    alerts : the alerts raised (see :func:`find_alerts`).
    reference : the reference rank metrics (pooled over the baseline months).
    baseline : what the stability indices compare against.
    """

    summary: pd.DataFrame
    stability: pd.DataFrame
    performance: pd.DataFrame
    calibration: pd.DataFrame
    calibration_months: pd.DataFrame
    bands: pd.DataFrame
    alerts: pd.DataFrame
    thresholds: AlertThresholds
    reference: dict[str, float] = field(default_factory=dict)
    window: int = 0
    rates: pd.DataFrame | None = None
    baseline: str = "development sample"


def _score_bands(model: ScoringModel, points: np.ndarray) -> np.ndarray:
    return np.searchsorted(np.asarray(model.train_score_edges_, float), points, side="right")


def _baseline_counts(
    model: ScoringModel, bins: pd.DataFrame, sel: np.ndarray | None
) -> dict[str, object]:
    n_bands = np.asarray(model.train_score_edges_).size + 1
    if sel is None:
        counts: dict[str, object] = {SCORE: np.asarray(model.train_score_counts_)}
        for f in bins.columns:
            if f != SCORE:
                counts[f] = np.asarray(model.binning_tables_[f].count)
        return counts
    out: dict[str, object] = {}
    for f in bins.columns:
        size = n_bands if f == SCORE else int(model.binning_tables_[f].n_bins)
        out[f] = np.bincount(bins[f].to_numpy()[sel].astype(np.int64), minlength=size)
    return out


def monitor(
    model: ScoringModel,
    X: pd.DataFrame,
    months: object,
    y: object = None,
    *,
    baseline_months: int | None = None,
    thresholds: AlertThresholds | None = None,
    decisions: pd.DataFrame | None = None,
    window: int = 0,
) -> MonitoringReport:
    """Monitor ``model`` over applications ``X`` month by month.

    Parameters
    ----------
    model : ScoringModel
        A fitted scorecard (``creditfactory.scorecard.load(folder)``).
    X : DataFrame
        The applications' characteristics (every column the model uses).
    months : array-like
        Each application's month label, e.g. ``"2025-07"``.
    y : array-like, optional
        Outcome per application: 0/1 (1 = bad), NaN while not matured or without a loan.
        Without it only stability and the score band distribution are reported.
    baseline_months : int, optional
        Compare stability against the first this-many months of ``X``; by default against the
        model's development sample (kept in its artefact).
    thresholds : AlertThresholds, optional
        When to alert (defaults: PSI/CSI 0.1 watch, 0.25 act, …).
    decisions : DataFrame, optional
        Stored decisions (``month``, ``decision``, ``review_outcome``) for the rate table.
    window : int
        The outcome window of ``y`` in months on book (see :func:`matured_outcomes`): an alert
        on an application month's outcomes is raised when they are known, ``window`` months
        later (``months`` must then be ``YYYY-MM``). 0 raises it in the month itself.

    Returns
    -------
    MonitoringReport
    """
    from creditfactory.monitoring._rates import decision_rates

    t = thresholds or AlertThresholds()
    if not isinstance(X, pd.DataFrame):
        raise DataError(f"X must be a pandas DataFrame, got {type(X).__name__}")
    m = np.asarray(months).astype(str)
    if m.shape[0] != len(X):
        raise DataError(f"months has {m.shape[0]} values but X has {len(X)} rows")
    if len(X) == 0:
        raise DataError("X has no rows to monitor")
    points = np.asarray(model.predict_points(X), dtype=float)
    pd_pred = np.asarray(model.predict_proba(X), dtype=float)[:, 1]
    bands = _score_bands(model, points)
    n_bands = np.asarray(model.train_score_edges_).size + 1
    bins = model.bin_indices(X).reset_index(drop=True)
    bins.insert(0, SCORE, bands)
    ordered = sorted(pd.unique(m))
    sel = None
    label = "development sample 开发样本"
    if baseline_months is not None:
        if not 1 <= baseline_months < len(ordered):
            raise ConfigError(
                f"baseline_months: must lie in 1..{len(ordered) - 1} (the book has "
                f"{len(ordered)} months), got {baseline_months}"
            )
        base = ordered[:baseline_months]
        sel = np.isin(m, base)
        label = f"{base[0]} to {base[-1]}" if len(base) > 1 else base[0]
    stability = stability_by_month(m, bins, _baseline_counts(model, bins, sel))

    yy = np.full(len(X), np.nan) if y is None else np.asarray(y, dtype=float)
    if yy.shape[0] != len(X):
        raise DataError(f"y has {yy.shape[0]} values but X has {len(X)} rows")
    perf = performance_by_month(m, yy, pd_pred, min_bads=t.min_bads)
    cal_bands, cal_months = calibration_by_band(m, bands, yy, pd_pred)
    reference = _reference(m, yy, pd_pred, ordered, baseline_months, t.min_bads)
    rates = decision_rates(decisions) if decisions is not None else None
    alerts = find_alerts(t, stability, perf, reference, cal_months, rates, window=window)
    summary = _summary(stability, perf, cal_months, alerts, m, points)
    return MonitoringReport(
        summary=summary,
        stability=stability,
        performance=perf,
        calibration=cal_bands,
        calibration_months=cal_months,
        bands=band_distribution(m, bands, n_bands),
        alerts=alerts,
        thresholds=t,
        reference=reference,
        rates=rates,
        baseline=label,
        window=window,
    )


def _reference(
    m: np.ndarray,
    y: np.ndarray,
    p: np.ndarray,
    ordered: list[str],
    baseline_months: int | None,
    min_bads: int,
) -> dict[str, float]:
    """Rank metrics pooled over the baseline months (or, against the development sample, the
    first three months with matured outcomes)."""
    known = ~np.isnan(y)
    if baseline_months is not None:
        use = ordered[:baseline_months]
    else:
        use = [mo for mo in ordered if (known & (m == mo)).any()][:3]
    sel = known & np.isin(m, use)
    n_bad = int(y[sel].sum())
    n_good = int(sel.sum()) - n_bad
    if n_bad < min_bads or n_good < min_bads:
        return {}
    return {**rank_metrics(y[sel], p[sel]), "n_bad": n_bad, "n_good": n_good}


def _summary(
    stability: pd.DataFrame,
    perf: pd.DataFrame,
    cal: pd.DataFrame,
    alerts: pd.DataFrame,
    m: np.ndarray,
    points: np.ndarray,
) -> pd.DataFrame:
    score = stability[stability["variable"] == SCORE].set_index("month")
    chars = stability[stability["variable"] != SCORE]
    top = (
        chars.sort_values("index", ascending=False, kind="stable").groupby("month").head(1)
        if not chars.empty
        else chars
    ).set_index("month")
    out = pd.DataFrame({"month": score.index})
    out["n"] = score["n"].to_numpy()
    pts = pd.Series(points).groupby(m).mean()
    out["mean_points"] = pts.reindex(out["month"]).to_numpy()
    out["psi"] = score["index"].to_numpy()
    out["psi_band"] = [stability_band(v) for v in out["psi"]]
    out["max_csi"] = top["index"].reindex(out["month"]).to_numpy()
    out["max_csi_variable"] = top["variable"].reindex(out["month"]).to_numpy()
    p = perf.set_index("month").reindex(out["month"])
    for col in ("matured", "bad_rate", "predicted", "auc", "ks", "gini"):
        out[col] = p[col].to_numpy()
    c = cal.set_index("month").reindex(out["month"])
    out["calibration_p_value"] = c["p_value"].to_numpy()
    out["hl_p_value"] = c["hl_p_value"].to_numpy()
    counts = alerts.groupby("cohort").size()
    out["alerts"] = counts.reindex(out["month"]).fillna(0).astype(int).to_numpy()
    return out
