"""Quality monitoring: population stability, performance drift, calibration and alerts.

``psi``/``psi_from_counts`` and the stability bands are pure functions (``scorecard`` uses
them for its own train-against-test stability); :func:`monitor` runs everything over a book
month by month for any model that offers points, probabilities and bin indices (a fitted
``Scorecard``); :func:`monitoring_report` renders the result as one offline HTML page.
"""

import typing

from creditfactory import _lazy_exports

if typing.TYPE_CHECKING:
    from creditfactory.monitoring._alerts import ALERT_COLUMNS, AlertThresholds, find_alerts
    from creditfactory.monitoring._monitor import MonitoringReport, ScoringModel, monitor
    from creditfactory.monitoring._outcomes import matured_outcomes
    from creditfactory.monitoring._performance import (
        band_distribution,
        calibration_by_band,
        performance_by_month,
        rank_metrics,
    )
    from creditfactory.monitoring._rates import decision_rates
    from creditfactory.monitoring._report import monitoring_report
    from creditfactory.monitoring._stability import (
        STABILITY_BANDS,
        psi,
        psi_from_counts,
        stability_band,
        stability_by_month,
    )

__all__ = [
    "ALERT_COLUMNS",
    "STABILITY_BANDS",
    "AlertThresholds",
    "MonitoringReport",
    "ScoringModel",
    "band_distribution",
    "calibration_by_band",
    "decision_rates",
    "find_alerts",
    "matured_outcomes",
    "monitor",
    "monitoring_report",
    "performance_by_month",
    "psi",
    "psi_from_counts",
    "rank_metrics",
    "stability_band",
    "stability_by_month",
]

if not typing.TYPE_CHECKING:  # each name is imported from its module on first use
    __getattr__, __dir__ = _lazy_exports(__name__)
