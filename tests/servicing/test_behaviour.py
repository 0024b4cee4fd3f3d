"""Behaviour features (point in time), the B-score out of time, and limit management."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from creditfactory.data import Portfolio
from creditfactory.decision import Strategy
from creditfactory.exceptions import ConfigError, DataError
from creditfactory.servicing import (
    FEATURES,
    ServicingBook,
    behaviour_features,
    behaviour_outcome,
    book_from_portfolio,
    fit_behaviour_score,
    simulate_limit_strategy,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "strategies" / "limit_management.yaml"


def _toy() -> tuple[pd.DataFrame, pd.DataFrame]:
    # loan a (customer c1, limit 2,000): six monthly snapshots, 30 and 60 DPD in Feb and Mar,
    # cured in April. Loan b (c1 too) settled early in its second month. Loan c (c2) is young.
    months = pd.to_datetime(
        ["2024-01-10", "2024-02-10", "2024-03-10", "2024-04-10", "2024-05-10", "2024-06-10"]
    )
    a = pd.DataFrame(
        {
            "loan_id": "a",
            "month": months,
            "mob": range(1, 7),
            "dpd": [0, 30, 60, 0, 0, 0],
            "bucket": ["M0", "M1", "M2", "M0", "M0", "M0"],
            "principal_outstanding": [900.0, 900.0, 900.0, 600.0, 500.0, 400.0],
            "arrears": [0.0, 100.0, 200.0, 0.0, 0.0, 0.0],
            "amount_due": [100.0, 100.0, 200.0, 300.0, 100.0, 100.0],
            "amount_paid": [100.0, 0.0, 0.0, 300.0, 100.0, 50.0],
            "closed": False,
        }
    )
    b = pd.DataFrame(
        {
            "loan_id": "b",
            "month": pd.to_datetime(["2024-02-01", "2024-03-01"]),
            "mob": [1, 2],
            "dpd": [0, 0],
            "bucket": ["M0", "M0"],
            "principal_outstanding": [500.0, 0.0],
            "arrears": 0.0,
            "amount_due": [60.0, 500.0],
            "amount_paid": [60.0, 500.0],
            "closed": [False, True],
        }
    )
    c = pd.DataFrame(
        {
            "loan_id": "c",
            "month": pd.to_datetime(["2024-06-20"]),
            "mob": [1],
            "dpd": [0],
            "bucket": ["M0"],
            "principal_outstanding": [3000.0],
            "arrears": 0.0,
            "amount_due": [300.0],
            "amount_paid": [300.0],
            "closed": False,
        }
    )
    perf = pd.concat([a, b, c], ignore_index=True)
    loans = pd.DataFrame(
        {
            "loan_id": ["a", "b", "c"],
            "customer_id": ["c1", "c1", "c2"],
            "principal": [1000.0, 550.0, 3200.0],
            "limit": [2000.0, 1000.0, np.nan],
            "term": [12, 12, 12],
            "product": ["cash_loan"] * 3,
            "disbursed_at": pd.to_datetime(["2023-12-10", "2024-01-01", "2024-05-20"]),
        }
    )
    return perf, loans


def test_features_of_a_toy_book_worked_by_hand() -> None:
    perf, loans = _toy()
    f = behaviour_features(perf, loans, "2024-06").set_index("loan_id")
    assert f.index.tolist() == ["a", "c"]  # b was settled in March
    a = f.loc["a"]
    assert a["mob"] == 6
    assert a["dpd"] == 0
    assert a["max_dpd_3m"] == 0  # April-June
    assert a["max_dpd_6m"] == 60
    assert a["max_dpd_12m"] == 60
    assert a["times_30dpd_12m"] == 2
    assert a["months_since_delinquency"] == 3  # June - March
    assert a["payment_ratio_3m"] == pytest.approx(450 / 500)
    assert a["payment_ratio_6m"] == pytest.approx(550 / 900)
    assert a["utilisation"] == pytest.approx(400 / 2000)
    assert a["balance_change_3m"] == pytest.approx((400 - 1100) / 1000)  # March: 900 + 200
    assert np.isnan(a["utilisation_change_6m"])  # no snapshot six months back
    assert a["customer_loans"] == 1
    assert a["customer_prepaid_loans"] == 1  # b closed at mob 2 of 12
    assert a["customer_max_dpd_12m"] == 60
    c = f.loc["c"]
    assert c["utilisation"] == pytest.approx(3000 / 3200)  # no limit: the principal
    assert np.isnan(c["months_since_delinquency"])
    assert c["customer_loans"] == 0
    # as of the end of March, a is 60 DPD and b has just closed
    march = behaviour_features(perf, loans, "2024-03-31").set_index("loan_id")
    assert march.index.tolist() == ["a"]
    assert march.loc["a", "dpd"] == 60
    assert march.loc["a", "months_since_delinquency"] == 0
    assert set(FEATURES) <= set(f.columns)


def test_outcome_and_its_window() -> None:
    perf, _ = _toy()
    assert behaviour_outcome(perf, ["a", "c"], "2024-01-31", 3).tolist() == [0, 0]
    perf.loc[(perf["loan_id"] == "a") & (perf["mob"] == 5), "dpd"] = 90
    assert behaviour_outcome(perf, ["a", "c"], "2024-01-31", 4).tolist() == [1, 0]
    assert behaviour_outcome(perf, ["a"], "2024-01-31", 3).tolist() == [0]  # May is after
    with pytest.raises(DataError, match="as_of: 2024-03-31 \\+ 6 months ends after"):
        behaviour_outcome(perf, ["a"], "2024-03", 6)
    with pytest.raises(ConfigError, match="horizon"):
        behaviour_outcome(perf, ["a"], "2024-03", 0)
    with pytest.raises(ConfigError, match="as_of: not a date"):
        behaviour_features(perf, _toy()[1], "the day after")


def test_features_are_point_in_time(twin: Portfolio) -> None:
    book = book_from_portfolio(twin)
    as_of = "2025-03-31"
    before = behaviour_features(book.performance, book.loans, as_of)
    # scramble everything that happened after the date, and what the loans table says of the
    # book's end (status, months observed): the features must not move
    rng = np.random.default_rng(0)
    perf = book.performance.copy()
    later = perf["month"] > pd.Timestamp(as_of)
    n = int(later.sum())
    perf.loc[later, "dpd"] = rng.integers(0, 200, n)
    perf.loc[later, "amount_paid"] = rng.uniform(0, 1e4, n)
    perf.loc[later, "principal_outstanding"] = rng.uniform(0, 1e5, n)
    perf.loc[later, "closed"] = rng.random(n) < 0.5
    loans = book.loans.copy()
    loans["status"] = "charged_off"
    loans["months_observed"] = 0
    after = behaviour_features(perf, loans, as_of)
    pd.testing.assert_frame_equal(before, after)
    # and cutting the tables at the date gives the same features too
    cut = behaviour_features(book.performance[~later], book.loans, as_of)
    pd.testing.assert_frame_equal(before, cut)
    assert len(before) > 1000


def test_bscore_is_tested_out_of_time(twin: Portfolio) -> None:
    book = book_from_portfolio(twin)
    train = [f"2024-{m:02d}" for m in range(6, 13)]
    with pytest.raises(ConfigError, match="not after the last training date"):
        fit_behaviour_score(book.performance, book.loans, train, ["2024-12"], horizon=6)
    bs = fit_behaviour_score(book.performance, book.loans, train, ["2025-06"], horizon=6)
    assert bs.strictly_out_of_time
    assert set(bs.test["as_of"]) == {pd.Timestamp("2025-06-30")}
    test = bs.metrics.set_index(["sample", "as_of"]).loc[("test", "all")]
    # the AUC reported is sklearn's on the out-of-time sample, and it has rank power
    assert test["auc"] == pytest.approx(roc_auc_score(bs.test["bad"], bs.test["b_pd"]))
    assert test["auc"] > 0.62
    assert test["rows"] == len(bs.test)
    # loans already 90+ at a date are not in its sample
    assert (bs.train["dpd"] < 90).all()
    # higher points = safer
    low = bs.test["b_score"] < bs.test["b_score"].median()
    assert bs.test.loc[low, "bad"].mean() > bs.test.loc[~low, "bad"].mean()
    not_strict = fit_behaviour_score(book.performance, book.loans, train, ["2025-03"], 6)
    assert not not_strict.strictly_out_of_time
    # a 12-month B-score on 24 months of history: the test window must still end in the book
    with pytest.raises(DataError, match="the outcome is not yet known"):
        fit_behaviour_score(book.performance, book.loans, ["2024-09"], ["2025-03"], 12)
    year = fit_behaviour_score(
        book.performance, book.loans, ["2024-06", "2024-09"], ["2024-12"], horizon=12
    )
    assert not year.strictly_out_of_time
    assert year.test["bad"].mean() > bs.train["bad"].mean()  # a year holds more bads than 6 m


def test_limit_management_against_the_twin(twin: Portfolio) -> None:
    book = book_from_portfolio(twin)
    train = [f"2024-{m:02d}" for m in range(6, 13)]
    bs = fit_behaviour_score(book.performance, book.loans, train, ["2025-06"], horizon=6)
    strategy = Strategy.load(EXAMPLE)
    sim = simulate_limit_strategy(strategy, book, bs, "2025-06", portfolio=twin)
    acc = sim.accounts
    # the rules, checked from the features by hand
    assert (acc.loc[acc["dpd"] >= 30, "action"] == "freeze").all()
    assert (acc.loc[acc["b_score"] < 555, "action"] == "freeze").all()
    up = acc[acc["action"] == "increase"]
    assert (up["mob"] >= 6).all()
    assert (up["max_dpd_6m"] == 0).all()
    expected = np.minimum(
        np.floor(up["current_limit"] * 1.3 / 100) * 100, np.maximum(up["current_limit"], 200_000)
    )
    np.testing.assert_allclose(up["new_limit"], expected)
    assert acc.loc[acc["action"] == "freeze", "new_limit"].isna().all()
    s = sim.summary.set_index("action")
    assert s["accounts"].sum() == len(acc)
    # by the truth (what the twin did next): freeze goes bad far more than increase, and the
    # accounts raised were safer at booking, by the twin's own PD
    assert s.loc["freeze", "bad_rate_low"] > s.loc["increase", "bad_rate_high"]
    assert s.loc["increase", "true_pd_at_booking"] < s.loc["hold", "true_pd_at_booking"]
    assert s.loc["increase", "bad_rate"] == pytest.approx(
        acc.loc[acc["action"] == "increase", "bad"].mean()
    )


def test_a_strategy_without_an_action_output_is_refused(twin: Portfolio, tmp_path: Path) -> None:
    text = EXAMPLE.read_text().replace("outputs: [action, factor]", "outputs: [factor]")
    path = tmp_path / "lm.yaml"
    path.write_text(text)
    book = book_from_portfolio(twin)
    small = ServicingBook(book.loans, book.performance, "simulated")
    bs = fit_behaviour_score(
        small.performance, small.loans, ["2024-09", "2024-12"], ["2025-06"], horizon=6
    )
    with pytest.raises(DataError, match="no 'action' output"):
        simulate_limit_strategy(Strategy.load(path), small, bs, "2025-06")
