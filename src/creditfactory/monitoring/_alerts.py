"""Alerts: configurable thresholds over the stability, performance, calibration and rate tables."""

from __future__ import annotations

from typing import Any, Self

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator
from scipy import stats

from creditfactory.exceptions import DataError
from creditfactory.monitoring._performance import auc_standard_error

__all__ = ["ALERT_COLUMNS", "AlertThresholds", "find_alerts"]

ALERT_COLUMNS = [
    "month", "cohort", "kind", "subject", "metric", "value", "threshold", "p_value", "level"
]  # fmt: skip


class AlertThresholds(BaseModel):
    """When the monitor raises an alert. Every field can be set (e.g. from a YAML file).

    Examples
    --------
    >>> AlertThresholds(psi_watch=0.15).psi_act
    0.25
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    psi_watch: float = Field(0.1, gt=0, description="Score PSI from which to watch.")
    psi_act: float = Field(0.25, gt=0, description="Score PSI from which to act.")
    csi_watch: float = Field(0.1, gt=0, description="Characteristic CSI from which to watch.")
    csi_act: float = Field(0.25, gt=0, description="Characteristic CSI from which to act.")
    min_rows: int = Field(
        200, ge=1, description="Months with fewer applications raise no stability alert."
    )
    gini_drop: float = Field(
        0.1, gt=0, description="Alert when a month's Gini is this far below the reference."
    )
    ks_drop: float = Field(
        0.1, gt=0, description="Alert when a month's KS is this far below the reference."
    )
    min_bads: int = Field(
        20, ge=1, description="Months with fewer matured bads (or goods) get no rank metrics."
    )
    performance_alpha: float = Field(
        0.01,
        gt=0,
        lt=1,
        description="... and only when the AUC is significantly below the reference's at this "
        "level (one-sided, Hanley-McNeil standard errors).",
    )
    calibration_alpha: float = Field(
        0.01,
        gt=0,
        lt=1,
        description="Calibration fails when the month's overall test (bad count against summed "
        "PDs) or its Hosmer-Lemeshow test over the score bands has a p-value below this ...",
    )
    calibration_ratio: float = Field(
        0.2,
        ge=0,
        description="... and only when observed / predicted bad rate is off by more than this.",
    )
    approval_rate_change: float = Field(
        0.1, gt=0, description="Alert when the approval rate moves this far from the first month."
    )
    override_rate: float = Field(0.05, ge=0, description="Alert above this override rate.")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        for name in ("psi", "csi"):
            watch, act = getattr(self, f"{name}_watch"), getattr(self, f"{name}_act")
            if watch > act:
                raise ValueError(f"{name}_watch ({watch}) must not exceed {name}_act ({act})")
        return self


def _stability_alerts(stability: pd.DataFrame, t: AlertThresholds) -> list[tuple[object, ...]]:
    out: list[tuple[object, ...]] = []
    for row in stability.itertuples(index=False):
        if row.n < t.min_rows or row.index != row.index:
            continue
        score = row.variable == "(score)"
        watch, act = (t.psi_watch, t.psi_act) if score else (t.csi_watch, t.csi_act)
        if row.index >= watch:
            level = "act" if row.index >= act else "watch"
            metric = "psi" if score else "csi"
            subject = "score" if score else str(row.variable)
            thr = act if level == "act" else watch
            out.append(
                (row.month, row.month, "drift", subject, metric, float(row.index), thr, np.nan,
                 level)
            )  # fmt: skip
    return out


def _auc_p_value(row: Any, reference: dict[str, float]) -> float:
    """One-sided p-value that the month's AUC is below the reference's."""
    auc, ref = float(row.auc), reference["auc"]
    se = auc_standard_error(auc, int(row.n_bad), int(row.matured - row.n_bad))
    se_ref = auc_standard_error(ref, int(reference["n_bad"]), int(reference["n_good"]))
    spread = float(np.hypot(se, se_ref))
    return float(stats.norm.sf((ref - auc) / spread)) if spread > 0 else float(auc >= ref)


def _performance_alerts(
    perf: pd.DataFrame, reference: dict[str, float], t: AlertThresholds, raised: Any
) -> list[tuple[object, ...]]:
    out: list[tuple[object, ...]] = []
    if "auc" not in reference:
        return out
    for row in perf.itertuples(index=False):
        if row.auc != row.auc:
            continue
        p = _auc_p_value(row, reference)
        if p >= t.performance_alpha:
            continue
        for metric, drop in (("gini", t.gini_drop), ("ks", t.ks_drop)):
            ref, value = reference[metric], float(getattr(row, metric))
            if value < ref - drop:
                level = "act" if value < ref - 2 * drop else "watch"
                out.append((raised(row.month), row.month, "performance", "model", metric, value,
                            ref - drop, p, level))  # fmt: skip
    return out


def _calibration_alerts(
    cal: pd.DataFrame, t: AlertThresholds, raised: Any
) -> list[tuple[object, ...]]:
    out: list[tuple[object, ...]] = []
    for row in cal.itertuples(index=False):
        p = float(np.nanmin([row.p_value, row.hl_p_value, np.inf]))
        ratio = row.ratio
        if ratio == ratio and p < t.calibration_alpha and abs(ratio - 1) > t.calibration_ratio:
            out.append((raised(row.month), row.month, "calibration", "model",
                        "observed/predicted", ratio, 1 + t.calibration_ratio
                        if ratio > 1 else 1 - t.calibration_ratio, p, "act"))  # fmt: skip
    return out


def _rate_alerts(rates: pd.DataFrame, t: AlertThresholds) -> list[tuple[object, ...]]:
    out: list[tuple[object, ...]] = []
    if rates.empty:
        return out
    first = float(rates["approval_rate"].iloc[0])
    for row in rates.itertuples(index=False):
        if abs(row.approval_rate - first) > t.approval_rate_change:
            out.append(
                (row.month, row.month, "rates", "decisions", "approval_rate", row.approval_rate,
                 t.approval_rate_change, np.nan, "watch")
            )  # fmt: skip
        if row.override_rate > t.override_rate:
            out.append(
                (row.month, row.month, "rates", "decisions", "override_rate", row.override_rate,
                 t.override_rate, np.nan, "watch")
            )  # fmt: skip
    return out


def find_alerts(
    thresholds: AlertThresholds,
    stability: pd.DataFrame | None = None,
    performance: pd.DataFrame | None = None,
    reference: dict[str, float] | None = None,
    calibration: pd.DataFrame | None = None,
    rates: pd.DataFrame | None = None,
    window: int = 0,
) -> pd.DataFrame:
    """Every alert the tables raise, one row each, sorted by the month it is raised in.

    Columns: ``month`` (when the alert is raised), ``cohort`` (the application month the
    figure is about), ``kind`` (drift, performance, calibration, rates), ``subject``,
    ``metric``, ``value``, ``threshold``, ``p_value`` (of the test behind a performance or
    calibration alert) and ``level`` (watch or act).

    Stability and rates are known in the month itself. An outcome over a ``window``-month
    window is known only when the window is over, so a performance or calibration alert about
    application month ``m`` is raised in month ``m + window`` (months are then ``YYYY-MM``
    labels): it is the month the evidence arrives, and a macro shock that strikes a vintage's
    later instalments shows up after the shock, not before it.
    """

    def raised(month: object) -> object:
        if not window:
            return month
        try:
            return str(pd.Period(str(month), freq="M") + window)
        except ValueError as exc:
            raise DataError(f"month: {month!r} is not a YYYY-MM month") from exc

    rows: list[tuple[object, ...]] = []
    if stability is not None:
        rows += _stability_alerts(stability, thresholds)
    if performance is not None:
        rows += _performance_alerts(performance, reference or {}, thresholds, raised)
    if calibration is not None:
        rows += _calibration_alerts(calibration, thresholds, raised)
    if rates is not None:
        rows += _rate_alerts(rates, thresholds)
    frame = pd.DataFrame(rows, columns=ALERT_COLUMNS)
    order = ["month", "cohort", "kind", "subject"]
    return frame.sort_values(order, kind="stable").reset_index(drop=True)
