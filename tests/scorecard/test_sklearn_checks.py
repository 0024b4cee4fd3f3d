"""scikit-learn's estimator checks, with the ones that contradict the 0/1 target contract marked."""

from __future__ import annotations

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from creditfactory.scorecard import Scorecard

_NOT_01 = "the target must be 0/1 with 1 = bad by design; the check fits other labels"
EXPECTED_FAILED = {
    "check_estimators_dtypes": _NOT_01,
    "check_sample_weights_pandas_series": _NOT_01,
    "check_sample_weights_not_an_array": _NOT_01,
    "check_sample_weights_shape": _NOT_01,
    "check_sample_weights_not_overwritten": _NOT_01,
    "check_classifier_data_not_an_array": _NOT_01,
    "check_classifiers_classes": _NOT_01,
}


# The checks fit on a few dozen rows: the default of 20 bads per bin would leave one bin.
SMALL_DATA = Scorecard(min_bin_n_bad=None, min_bin_share=0.05)
# The default has no stepwise below 1,000 bads: every feature goes in. The weight-equivalence
# check's data are separable, so the maximum likelihood does not exist, the probabilities run to
# 1e-9 and where Newton stops differs between weighted and repeated rows (about 1e-7). Forward
# stepwise keeps that fit finite, so the same checks also run with it, weight check included.
FORWARD = Scorecard(min_bin_n_bad=None, min_bin_share=0.05, selection="forward")
_SEPARABLE = {
    "check_sample_weight_equivalence_on_dense_data": (
        "separable data with every feature in: no finite maximum likelihood (checked with "
        "selection='forward' instead)"
    )
}


def _expected_failed(estimator: Scorecard) -> dict[str, str]:
    if estimator.selection == "forward":
        return EXPECTED_FAILED
    return {**EXPECTED_FAILED, **_SEPARABLE}


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.SkipTestWarning")
@parametrize_with_checks([SMALL_DATA, FORWARD], expected_failed_checks=_expected_failed)
def test_sklearn_compatible(estimator, check):
    check(estimator)
