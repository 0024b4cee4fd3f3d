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
# Their data are separable: with every feature in (the default has no stepwise below 1,000
# bads) the maximum likelihood does not exist, the probabilities run to 1e-9 and where Newton
# stops differs between weighted and repeated rows; forward stepwise keeps the fit finite, so
# that the weight checks test the weights.
SMALL_DATA = Scorecard(min_bin_n_bad=None, min_bin_share=0.05, selection="forward")


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.SkipTestWarning")
@parametrize_with_checks([SMALL_DATA], expected_failed_checks=lambda est: EXPECTED_FAILED)
def test_sklearn_compatible(estimator, check):
    check(estimator)
