"""Scorecard modelling: metrics, binning, WOE/IV, selection, points scaling and reason codes."""

from creditfactory.scorecard._metrics import (
    auc,
    calibration_table,
    gini,
    hosmer_lemeshow,
    ks,
    lift_table,
    psi,
    psi_from_counts,
)

__all__ = [
    "auc",
    "calibration_table",
    "gini",
    "hosmer_lemeshow",
    "ks",
    "lift_table",
    "psi",
    "psi_from_counts",
]
