"""The monitor on the twin: its macro shock raises drift and calibration alerts from the shock
month on and none before, wherever the shock falls; the report renders offline."""

from __future__ import annotations

import datetime as dt
import functools
import warnings

import numpy as np
import pandas as pd
import pytest
from tests.test_html import check_pages

from creditfactory.data import SimulationConfig, simulate
from creditfactory.exceptions import ConfigError, DataError
from creditfactory.monitoring import (
    MonitoringReport,
    matured_outcomes,
    monitor,
    monitoring_report,
    psi_from_counts,
)
from creditfactory.scorecard import Scorecard

WINDOW = 3  # outcome: 30+ days past due within three months on book
# characteristics that a stressed applicant's data moves (bureau, multi-borrowing, phone)
FEATURES = [
    "inquiries_3m",
    "inquiries_other_1m",
    "utilisation",
    "loan_apps_installed",
    "third_party_score",
    "delinquencies_24m",
    "lending_institutions",
    "loans_elsewhere",
    "contacts_blacklisted_share",
]


@functools.cache
def _monitored(shock: str | None) -> tuple[MonitoringReport, Scorecard, list[str], int]:
    """A ten-month book with the shock (or none), a scorecard fitted on the applications whose
    outcome window closed before the shock, and the monitor over every month.

    The shock is stronger than the default (log-odds 1.0 on the monthly delinquency hazard,
    stress up 1 SD) so that months of ~700 loans show it; fraud is turned down because ring
    bursts move one month's bad rate on their own, which is not what this test is about.
    """
    cfg = SimulationConfig(
        n_applications=12_000,
        seed=5,
        months_of_history=10,
        max_months_on_book=WINDOW + 1,
        macro_shock_month=None if shock is None else dt.date.fromisoformat(shock + "-01"),
        macro_shock_strength=1.0,
        macro_shock_drift=1.0,
        approval_rate=0.9,
        fraud_rate=0.005,
        n_campaigns=1,
    )
    book = simulate(cfg)
    apps = book.observable("applications")
    y = matured_outcomes(book.loans, book.performance, window=WINDOW, bad_bucket=1)
    y = y.reindex(apps["application_id"]).to_numpy()
    months = apps["applied_at"].dt.strftime("%Y-%m").to_numpy()
    ordered = sorted(set(months))
    first_hit = ordered.index(shock) - WINDOW if shock else len(ordered) - WINDOW
    clean = ordered[:first_hit]  # every instalment of these cohorts fell due before the shock
    train = np.isin(months, clean) & ~np.isnan(y)
    X = apps[FEATURES]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sc = Scorecard(selection=None, min_bin_n_bad=10, max_iv_pvalue=0.05)
        sc.fit(X[train], y[train].astype(int))
    report = monitor(sc, X, months, y, baseline_months=len(clean), window=WINDOW)
    return report, sc, ordered, len(clean)


@pytest.mark.parametrize("shock", ["2024-06", "2024-07"])
def test_the_shock_raises_drift_and_calibration_alerts_after_it_and_none_before(shock):
    report, _, ordered, _ = _monitored(shock)
    a = report.alerts
    drift = a[a["kind"] == "drift"]
    calib = a[a["kind"] == "calibration"]
    before = [m for m in ordered if m < shock]
    after = [m for m in ordered if m >= shock]
    assert not drift["month"].isin(before).any(), drift
    assert not calib["month"].isin(before).any(), calib
    assert set(drift["month"]) == set(after)  # the population drifts from the shock on
    # every cohort applying after the shock whose outcomes have matured is flagged, in the
    # month its outcome window closes
    matured = report.performance.query("matured > 0")["month"]
    hit = sorted(m for m in matured if m >= shock)
    assert hit
    assert set(hit) <= set(calib["cohort"])
    assert (calib["value"] > 1).all()  # more bads than the model predicts
    assert (calib["month"] >= shock).all()
    # the score's PSI against the baseline months is stable before the shock
    score = report.stability[report.stability["variable"] == "(score)"]
    assert (score.loc[score["month"] < shock, "index"] < 0.1).all()


def test_without_a_shock_there_is_no_alert():
    report, sc, _, k = _monitored(None)
    assert report.alerts[report.alerts["kind"].isin(["drift", "calibration"])].empty
    assert len(sc.selected_features_) >= 1
    # the last month's PSI is psi_from_counts of the score band counts against those of the
    # baseline months (rebuilt from the band shares)
    counts = np.round(report.bands.to_numpy() * report.summary["n"].to_numpy()[:, None])
    assert report.summary["psi"].iloc[-1] == pytest.approx(
        psi_from_counts(counts[:k].sum(axis=0), counts[-1]), rel=1e-9
    )


def test_monitor_report_is_offline_and_in_the_language_asked():
    report, _, _, _ = _monitored("2024-07")
    en = monitoring_report(report, model="test model", source="twin")
    zh = monitoring_report(report, model="test model", source="twin", lang="zh-CN")
    check_pages(
        en,
        zh,
        chinese=("模型监控报告", "警报", "群体稳定性", "校准", "<th>月份</th>", "月度稳定性"),
        english=("Model monitoring report", "Alerts", "Population stability", "<th>month</th>",
                 "Stability by month"),
    )  # fmt: skip
    assert "CSI" in zh
    assert "calibration" in en  # an alert's kind
    assert "2024-07" in en
    assert "2024-07" in zh
    with pytest.raises(DataError, match="lang: 'fr' is not supported"):
        monitoring_report(report, lang="fr")


def test_monitor_names_bad_input():
    report, sc, _, _ = _monitored(None)
    X = pd.DataFrame({f: [0.0] for f in FEATURES})
    with pytest.raises(DataError, match="months has 2 values"):
        monitor(sc, X, ["2024-01", "2024-02"])
    with pytest.raises(ConfigError, match="baseline_months"):
        monitor(sc, X, ["2024-01"], baseline_months=1)
    with pytest.raises(DataError, match="y has 2 values"):
        monitor(sc, X, ["2024-01"], y=[0, 1])
    assert isinstance(report, MonitoringReport)


class _LinearModel:
    """A model with the monitor's protocol and no scorecard behind it: one characteristic,
    PD = sigmoid(x - 3), points falling with x, five fixed bins of x."""

    edges = np.array([-1.0, 0.0, 1.0, 2.0])

    def __init__(self, x_dev: np.ndarray) -> None:
        idx = np.searchsorted(self.edges, x_dev, side="right")
        self.binning_tables_ = {"x": _Table(np.bincount(idx, minlength=5))}
        self.train_score_edges_ = np.array([560.0, 580.0, 600.0])
        pts = self.predict_points(pd.DataFrame({"x": x_dev}))
        self.train_score_counts_ = np.bincount(
            np.searchsorted(self.train_score_edges_, pts, side="right"), minlength=4
        )

    def predict_points(self, X: pd.DataFrame) -> np.ndarray:
        return 600 - 20 * X["x"].to_numpy()

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        p = 1 / (1 + np.exp(-(X["x"].to_numpy() - 3)))
        return np.column_stack([1 - p, p])

    def bin_indices(self, X: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"x": np.searchsorted(self.edges, X["x"].to_numpy(), side="right")})


class _Table:
    def __init__(self, count: np.ndarray) -> None:
        self.count = count
        self.n_bins = count.size


def test_monitor_against_the_development_sample_with_any_model():
    from optbinning.binning.metrics import jeffrey

    rng = np.random.default_rng(8)
    model = _LinearModel(rng.normal(size=5_000))
    x = np.r_[rng.normal(size=1_000), rng.normal(loc=0.6, size=1_000)]
    months = np.repeat(["2025-01", "2025-02"], 1_000)
    report = monitor(model, pd.DataFrame({"x": x}), months)  # no outcomes: stability only
    st = report.stability.set_index(["month", "variable"])
    for month, sel in (("2025-01", slice(0, 1_000)), ("2025-02", slice(1_000, 2_000))):
        cur = np.bincount(np.searchsorted(model.edges, x[sel], side="right"), minlength=5)
        dev = model.binning_tables_["x"].count
        assert st.loc[(month, "x"), "index"] == pytest.approx(
            jeffrey(cur / cur.sum(), dev / dev.sum(), return_sum=True), rel=1e-9
        )
    assert st.loc[("2025-01", "x"), "band"] == "stable"
    assert st.loc[("2025-02", "x"), "band"] in ("watch", "act")
    assert report.baseline.startswith("development sample")
    assert report.performance["matured"].sum() == 0
    assert set(report.alerts["kind"]) == {"drift"}
    assert (report.alerts["month"] == "2025-02").all()
