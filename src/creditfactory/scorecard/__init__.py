"""Scorecard modelling: metrics, binning, WOE/IV, selection, points scaling and reason codes."""

import typing

from creditfactory import _lazy_exports

# imported now, not on first use: the built-in binning solvers register themselves by name
# ("optbinning" in _binners, "dp" here) when their modules load
from creditfactory.scorecard import _dp_binner  # noqa: F401

if typing.TYPE_CHECKING:
    from creditfactory._schema import (
        column_schema,
        input_schema_of,
        legacy_schema,
        value_key,
    )
    from creditfactory.scorecard._adjust import BinAdjuster
    from creditfactory.scorecard._artefact import load
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
    from creditfactory.scorecard._defaults import resolve_defaults
    from creditfactory.scorecard._dp_binner import DPBinner, optimal_partition
    from creditfactory.scorecard._export import to_scoring_spec, to_sql
    from creditfactory.scorecard._inputs import (
        ScorecardWarning,
        TabularEstimatorMixin,
        as_frame,
        check_target,
    )
    from creditfactory.scorecard._logit import LogitResult, fit_logit
    from creditfactory.scorecard._metrics import (
        auc,
        calibration_table,
        gini,
        hosmer_lemeshow,
        ks,
        lift_table,
    )
    from creditfactory.scorecard._points import PointsScaling
    from creditfactory.scorecard._reject import AugmentedData, RejectInference, augment_rejects
    from creditfactory.scorecard._report import build_report
    from creditfactory.scorecard._scorecard import Scorecard
    from creditfactory.scorecard._selection import SelectionReport, filter_features, stepwise, vif
    from creditfactory.scorecard._validation import (
        ValidationSummary,
        bootstrap_ci,
        characteristic_stability,
        correlation_vif,
        cutoff_sweep,
        pvalue_decisions,
        score_bands,
        time_split,
        trust_warnings,
    )
    from creditfactory.scorecard._woe import iv, woe

__all__ = [
    "AugmentedData",
    "BinAdjuster",
    "Binner",
    "BinningConstraints",
    "BinningTable",
    "DPBinner",
    "LogitResult",
    "OptbinningBinner",
    "PointsScaling",
    "RejectInference",
    "Scorecard",
    "ScorecardWarning",
    "SelectionReport",
    "TabularEstimatorMixin",
    "ValidationSummary",
    "as_frame",
    "auc",
    "augment_rejects",
    "available_binners",
    "bin_feature",
    "bootstrap_ci",
    "build_report",
    "calibration_table",
    "characteristic_stability",
    "check_target",
    "column_schema",
    "correlation_vif",
    "cutoff_sweep",
    "filter_features",
    "fit_logit",
    "get_binner",
    "gini",
    "hosmer_lemeshow",
    "infer_kind",
    "input_schema_of",
    "iv",
    "ks",
    "legacy_schema",
    "lift_table",
    "load",
    "optimal_partition",
    "pvalue_decisions",
    "register_binner",
    "resolve_defaults",
    "score_bands",
    "stepwise",
    "time_split",
    "to_scoring_spec",
    "to_sql",
    "trust_warnings",
    "value_key",
    "vif",
    "woe",
]

if not typing.TYPE_CHECKING:  # each name is imported from its module on first use
    __getattr__, __dir__ = _lazy_exports(__name__)
