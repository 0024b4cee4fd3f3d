"""Scorecard modelling: metrics, binning, WOE/IV, selection, points scaling and reason codes."""

from creditfactory.scorecard._binners import (
    Binner,
    BinningConstraints,
    OptbinningBinner,
    available_binners,
    get_binner,
    register_binner,
)
from creditfactory.scorecard._binning import bin_feature, infer_kind
from creditfactory.scorecard._binning_table import BinningTable
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
from creditfactory.scorecard._woe import iv, woe

__all__ = [
    "Binner",
    "BinningConstraints",
    "BinningTable",
    "OptbinningBinner",
    "auc",
    "available_binners",
    "bin_feature",
    "calibration_table",
    "get_binner",
    "gini",
    "hosmer_lemeshow",
    "infer_kind",
    "iv",
    "ks",
    "lift_table",
    "psi",
    "psi_from_counts",
    "register_binner",
    "woe",
]
