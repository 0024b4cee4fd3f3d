"""Matured outcomes, decision rates and alert rules on small hand-made frames (known answers)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from creditfactory.exceptions import ConfigError, DataError
from creditfactory.monitoring import AlertThresholds, decision_rates, find_alerts, matured_outcomes


def _loans_and_performance() -> tuple[pd.DataFrame, pd.DataFrame]:
    loans = pd.DataFrame(
        {
            "application_id": ["A1", "A2", "A3", "A4", "A5"],
            "loan_id": ["L1", "L2", "L3", "L4", "L5"],
            "months_observed": [6, 6, 2, 6, 6],
        }
    )
    rows = [
        ("L1", 1, "M0"), ("L1", 2, "M1"), ("L1", 3, "M2"),  # bad at MOB 3
        ("L2", 1, "M1"), ("L2", 2, "M0"),  # cured: good at bucket 2
        ("L3", 1, "M1"), ("L3", 2, "M2"),  # bad, but only two months observed
        ("L4", 1, "M0"), ("L4", 5, "M3"),  # bad after a 4-month window
        ("L5", 1, "charged_off"),
    ]  # fmt: skip
    perf = pd.DataFrame(rows, columns=["loan_id", "mob", "bucket"])
    return loans, perf


def test_matured_outcomes_known_answers():
    loans, perf = _loans_and_performance()
    got = matured_outcomes(loans, perf, window=4, bad_bucket=2)
    assert got.index.tolist() == ["A1", "A2", "A3", "A4", "A5"]
    np.testing.assert_array_equal(got.to_numpy(), [1.0, 0.0, np.nan, 0.0, 1.0])
    got1 = matured_outcomes(loans, perf, window=4, bad_bucket=1)
    assert got1["A2"] == 1.0  # M1 is bad at bucket 1
    got6 = matured_outcomes(loans, perf, window=6, bad_bucket=3)
    assert got6["A4"] == 1.0
    assert got6["A1"] == 0.0


def test_matured_outcomes_names_bad_input():
    loans, perf = _loans_and_performance()
    with pytest.raises(ConfigError, match="window"):
        matured_outcomes(loans, perf, window=0)
    with pytest.raises(ConfigError, match="bad_bucket"):
        matured_outcomes(loans, perf, bad_bucket=7)
    with pytest.raises(DataError, match="loans: column 'months_observed' is missing"):
        matured_outcomes(loans.drop(columns="months_observed"), perf)
    with pytest.raises(DataError, match="performance: column 'bucket' is missing"):
        matured_outcomes(loans, perf.drop(columns="bucket"))


def test_decision_rates_known_answers():
    frame = pd.DataFrame(
        {
            "month": ["2025-01"] * 4 + ["2025-02"] * 2,
            "decision": ["approve", "decline", "refer", "approve", "refer", "decline"],
            "review_outcome": [None, "approve", "approve", "decline", None, None],
        }
    )
    out = decision_rates(frame).set_index("month")
    jan = out.loc["2025-01"]
    assert jan["n"] == 4
    assert jan["approval_rate"] == pytest.approx(0.5)
    assert jan["referral_rate"] == pytest.approx(0.25)
    assert jan["reviewed"] == 3
    # the decline and the approval reversed by underwriters are overrides; the referral is not
    assert jan["override_rate"] == pytest.approx(0.5)
    assert jan["final_approval_rate"] == pytest.approx(0.75)  # A, D->A, R->A, A->D
    feb = out.loc["2025-02"]
    assert (feb["approval_rate"], feb["referral_rate"], feb["override_rate"]) == (0.0, 0.5, 0.0)
    with pytest.raises(DataError, match="decision: 'maybe'"):
        decision_rates(frame.assign(decision="maybe"))
    with pytest.raises(DataError, match="column 'review_outcome' is missing"):
        decision_rates(frame.drop(columns="review_outcome"))


def test_thresholds_validate():
    assert AlertThresholds().psi_watch == 0.1
    with pytest.raises(ValidationError, match="psi_watch"):
        AlertThresholds(psi_watch=0.3, psi_act=0.2)
    with pytest.raises(ValidationError, match="extra"):
        AlertThresholds(psi_wach=0.3)


def test_alert_rules_and_the_month_they_are_raised_in():
    stability = pd.DataFrame(
        [
            ("2025-01", "(score)", 500, 0.05, "stable"),
            ("2025-02", "(score)", 500, 0.12, "watch"),
            ("2025-02", "income", 500, 0.30, "act"),
            ("2025-03", "(score)", 50, 0.90, "act"),  # too few rows to alert
        ],
        columns=["month", "variable", "n", "index", "band"],
    )
    cal = pd.DataFrame(
        {
            "month": ["2025-01", "2025-02", "2025-03"],
            "ratio": [1.5, 1.1, 1.6],
            "p_value": [0.001, 1e-6, 0.2],
            "hl_p_value": [0.3, 0.5, 0.5],
        }
    )
    t = AlertThresholds()
    a = find_alerts(t, stability=stability, calibration=cal, window=3)
    drift = a[a["kind"] == "drift"]
    assert drift[["month", "subject", "metric", "level"]].values.tolist() == [
        ["2025-02", "income", "csi", "act"],
        ["2025-02", "score", "psi", "watch"],
    ]
    calib = a[a["kind"] == "calibration"]
    # only January: significant and off by more than 20%; known three months later
    assert calib[["month", "cohort"]].values.tolist() == [["2025-04", "2025-01"]]
    assert calib["p_value"].iloc[0] == pytest.approx(0.001)
    loose = AlertThresholds(calibration_alpha=0.3, calibration_ratio=0.05, min_rows=10)
    b = find_alerts(loose, stability=stability, calibration=cal)
    assert b[b["kind"] == "calibration"]["month"].tolist() == ["2025-01", "2025-02", "2025-03"]
    assert "2025-03" in b[b["kind"] == "drift"]["month"].tolist()
    with pytest.raises(DataError, match="YYYY-MM"):
        find_alerts(t, calibration=cal.assign(month=["a", "b", "c"]), window=1)


def test_rate_alerts():
    rates = pd.DataFrame(
        {
            "month": ["2025-01", "2025-02", "2025-03"],
            "approval_rate": [0.50, 0.55, 0.35],
            "override_rate": [0.01, 0.08, 0.02],
        }
    )
    a = find_alerts(AlertThresholds(), rates=rates)
    assert a[["month", "metric"]].values.tolist() == [
        ["2025-02", "override_rate"],
        ["2025-03", "approval_rate"],
    ]
