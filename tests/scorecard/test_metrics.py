"""Metrics: cross-checked against scikit-learn and SciPy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from sklearn.calibration import calibration_curve
from sklearn.metrics import roc_auc_score, roc_curve

from creditfactory.exceptions import DataError
from creditfactory.scorecard import (
    auc,
    calibration_table,
    gini,
    hosmer_lemeshow,
    ks,
    lift_table,
)


@pytest.fixture(scope="module")
def scored() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    n = 5_000
    z = rng.normal(size=n)
    p = 1 / (1 + np.exp(-(-2.2 + 1.1 * z)))
    y = (rng.random(n) < p).astype(int)
    score = np.round(p + rng.normal(scale=0.02, size=n), 3)  # rounding makes ties
    return y, score


def test_auc_matches_sklearn_with_ties(scored):
    y, s = scored
    assert auc(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    assert gini(y, s) == pytest.approx(2 * roc_auc_score(y, s) - 1, abs=1e-12)


def test_ks_matches_roc_curve_and_scipy(scored):
    y, s = scored
    fpr, tpr, _ = roc_curve(y, s)
    assert ks(y, s) == pytest.approx(np.max(tpr - fpr), abs=1e-12)
    assert ks(y, s) == pytest.approx(stats.ks_2samp(s[y == 1], s[y == 0]).statistic, abs=1e-12)


def test_metrics_reject_bad_targets():
    with pytest.raises(DataError, match="0/1"):
        auc([0, 2, 1], [0.1, 0.2, 0.3])
    with pytest.raises(DataError, match="one class"):
        ks([0, 0, 0], [0.1, 0.2, 0.3])
    with pytest.raises(DataError, match="3 values but y_score has 2"):
        auc([0, 1, 1], [0.1, 0.2])
    with pytest.raises(DataError, match="missing"):
        auc([0, 1], [0.1, np.nan])


def test_lift_table_gains_and_ks(scored):
    y, s = scored
    t = lift_table(y, s)
    assert len(t) == 10
    assert t["n"].sum() == y.size
    assert t["n_bad"].sum() == y.sum()
    assert t["cum_bad_share"].iloc[-1] == pytest.approx(1.0)
    assert t["cum_lift"].iloc[-1] == pytest.approx(1.0)
    # riskiest band first: its bad rate beats the last band's and lift > 1
    assert t["bad_rate"].iloc[0] > t["bad_rate"].iloc[-1]
    assert t["lift"].iloc[0] > 1.5
    assert t["min_score"].iloc[0] >= t["max_score"].iloc[1]
    # KS at a band boundary never exceeds the exact KS
    assert t["ks"].max() <= ks(y, s) + 1e-12
    assert t["ks"].max() > 0.8 * ks(y, s)


def test_calibration_table_matches_sklearn(scored):
    y, _ = scored
    rng = np.random.default_rng(3)
    p = rng.random(y.size)  # no ties: equal-count bands coincide with sklearn's quantile bins
    t = calibration_table(y, p, n_bins=5)
    prob_true, prob_pred = calibration_curve(y, p, n_bins=5, strategy="quantile")
    np.testing.assert_allclose(t["observed_rate"], prob_true, atol=1e-12)
    np.testing.assert_allclose(t["mean_predicted"], prob_pred, atol=1e-12)


def test_hosmer_lemeshow_formula_and_power(scored):
    y, s = scored
    rng = np.random.default_rng(11)
    p_true = np.clip(s, 0.001, 0.999)
    y_cal = (rng.random(y.size) < p_true).astype(int)
    stat, pval = hosmer_lemeshow(y_cal, p_true)
    t = calibration_table(y_cal, p_true)
    exp = t["n"] * t["mean_predicted"]
    manual = (((t["n_bad"] - exp) ** 2) / (exp * (1 - t["mean_predicted"]))).sum()
    assert stat == pytest.approx(manual)
    assert pval == pytest.approx(stats.chi2.sf(manual, 8))
    assert pval > 0.001  # calibrated by construction
    _, p_bad = hosmer_lemeshow(y_cal, np.clip(p_true * 2.5, 0, 0.999))
    assert p_bad < 1e-6  # badly miscalibrated


def test_gini_matches_optbinning_metrics(scored):
    # (PSI moved to creditfactory.monitoring; tests/monitoring/test_stability.py checks it)
    from optbinning.binning.metrics import gini as ob_gini

    # Gini of a score with a few distinct values = optbinning's Gini of the binned counts
    y, s = scored
    band = np.digitize(s, np.quantile(s, [0.2, 0.4, 0.6, 0.8]))
    events = np.bincount(band, weights=y)
    nonevents = np.bincount(band, weights=1 - y)
    assert gini(y, band) == pytest.approx(ob_gini(events, nonevents), abs=1e-12)
