"""Rank metrics and calibration: cross-checked against scikit-learn, SciPy and known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import roc_auc_score

from creditfactory.exceptions import DataError
from creditfactory.monitoring import (
    band_distribution,
    calibration_by_band,
    performance_by_month,
    rank_metrics,
)
from creditfactory.monitoring._performance import auc_standard_error


@pytest.fixture(scope="module")
def book() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(11)
    n = 6_000
    months = np.repeat(["2025-01", "2025-02", "2025-03"], n // 3)
    z = rng.normal(size=n)
    p = 1 / (1 + np.exp(-(-2.5 + z)))
    y = (rng.random(n) < p).astype(float)
    return months, y, p


def test_rank_metrics_match_sklearn_and_scipy(book):
    _, y, p = book
    got = rank_metrics(y, p)
    assert got["auc"] == pytest.approx(roc_auc_score(y, p), abs=1e-12)
    assert got["gini"] == pytest.approx(2 * roc_auc_score(y, p) - 1, abs=1e-12)
    # KS = the two-sample Kolmogorov-Smirnov statistic between bads' and goods' scores
    assert got["ks"] == pytest.approx(stats.ks_2samp(p[y == 1], p[y == 0]).statistic, abs=1e-12)
    with pytest.raises(DataError, match="one class only"):
        rank_metrics([0, 0], [0.1, 0.2])
    with pytest.raises(DataError, match="0/1"):
        rank_metrics([0, 2], [0.1, 0.2])


def test_auc_standard_error_is_the_mann_whitney_null_variance_at_one_half():
    # Hanley-McNeil at AUC = 0.5 reduces to the exact null variance of the Mann-Whitney U / mn
    for nb, ng in ((10, 20), (50, 450), (300, 300)):
        assert auc_standard_error(0.5, nb, ng) == pytest.approx(
            np.sqrt((nb + ng + 1) / (12 * nb * ng))
        )
    with pytest.raises(DataError, match="at least one bad"):
        auc_standard_error(0.7, 0, 10)


def test_performance_by_month_uses_matured_rows_only(book):
    months, y, p = book
    y = y.copy()
    y[months == "2025-03"] = np.nan  # not matured yet
    y[:100] = np.nan
    perf = performance_by_month(months, y, p).set_index("month")
    jan = (months == "2025-01") & ~np.isnan(y)
    assert perf.loc["2025-01", "matured"] == jan.sum()
    assert perf.loc["2025-01", "n"] == 2_000
    assert perf.loc["2025-01", "bad_rate"] == pytest.approx(y[jan].mean())
    assert perf.loc["2025-01", "predicted"] == pytest.approx(p[jan].mean())
    assert perf.loc["2025-01", "auc"] == pytest.approx(roc_auc_score(y[jan], p[jan]))
    assert perf.loc["2025-03", "matured"] == 0
    assert np.isnan(perf.loc["2025-03", "auc"])
    with pytest.raises(DataError, match="pd_pred must hold probabilities"):
        performance_by_month(months, y, p * 3)


def test_calibration_tests_by_band_and_month(book):
    months, y, p = book
    bands = np.digitize(p, np.quantile(p, [0.25, 0.5, 0.75]))
    by_band, by_month = calibration_by_band(months, bands, y, p)
    row = by_band[(by_band["month"] == "2025-02") & (by_band["band"] == 3)].iloc[0]
    cell = (months == "2025-02") & (bands == 3)
    k, n = int(y[cell].sum()), int(cell.sum())
    assert (row["n"], row["n_bad"]) == (n, k)
    assert row["p_value"] == pytest.approx(stats.binomtest(k, n, p[cell].mean()).pvalue)
    # Hosmer-Lemeshow by hand over the four bands, G degrees of freedom out of sample
    sel = months == "2025-02"
    hl = 0.0
    for b in range(4):
        c = sel & (bands == b)
        e, pb = p[c].sum(), p[c].mean()
        hl += (y[c].sum() - e) ** 2 / (e * (1 - pb))
    feb = by_month.set_index("month").loc["2025-02"]
    assert feb["hl_stat"] == pytest.approx(hl)
    assert feb["hl_p_value"] == pytest.approx(stats.chi2.sf(hl, 4))
    z = (y[sel].sum() - p[sel].sum()) / np.sqrt((p[sel] * (1 - p[sel])).sum())
    assert feb["z"] == pytest.approx(z)
    # the outcomes were drawn from p: calibrated; doubling the bads' odds is not
    assert (by_month["hl_p_value"] > 0.001).all()
    assert (by_month["p_value"] > 0.001).all()
    worse = np.clip(p * 0.5, 0, 1)
    _, off = calibration_by_band(months, bands, y, worse)
    assert (off["hl_p_value"] < 1e-6).all()
    assert (off["ratio"] > 1.5).all()


def test_band_distribution_rows_sum_to_one():
    months = np.array(["a", "a", "a", "b"])
    out = band_distribution(months, [0, 1, 1, 2], n_bands=4)
    assert list(out.columns) == [0, 1, 2, 3]
    np.testing.assert_allclose(out.loc["a"].to_numpy(), [1 / 3, 2 / 3, 0, 0])
    np.testing.assert_allclose(out.sum(axis=1).to_numpy(), 1.0)
    with pytest.raises(DataError, match=r"outside 0\.\.3"):
        band_distribution(months, [0, 1, 1, 4], n_bands=4)
    assert isinstance(out, pd.DataFrame)
