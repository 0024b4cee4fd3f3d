"""Flow rates, net flow, delinquency by segment and expected loss: hand-made tables with answers
worked out by hand, and a simulated book checked against independent arithmetic."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from creditfactory.data import Portfolio
from creditfactory.exceptions import ConfigError, DataError
from creditfactory.servicing import (
    book_from_portfolio,
    bucket_balances,
    charge_off_pd,
    delinquency_by_segment,
    expected_loss,
    expected_loss_by_bucket,
    flow_rates,
    net_flow_to_charge_off,
    roll_rates,
    vintage_curves,
)


def _perf(rows: list[tuple[str, str, int, str, float, float]]) -> pd.DataFrame:
    """(loan, month, mob, bucket, principal_outstanding, written_off); dpd from the bucket."""
    frame = pd.DataFrame(
        rows, columns=["loan_id", "month", "mob", "bucket", "principal_outstanding", "written_off"]
    )
    frame["month"] = pd.to_datetime(frame["month"])
    frame["dpd"] = [
        0 if b in ("M0", "charged_off") else 30 * (int(b[1]) if b != "M6+" else 6)
        for b in frame["bucket"]
    ]
    frame["closed"] = False
    return frame


@pytest.fixture
def three_months() -> pd.DataFrame:
    # a: M0 1000 -> M1 950 -> M2 950; b: M0 2000 -> 1800 -> 1600; c: M1 500 -> M2 -> M3
    return _perf(
        [
            ("a", "2024-01-05", 1, "M0", 1000.0, 0.0),
            ("a", "2024-02-05", 2, "M1", 950.0, 0.0),
            ("a", "2024-03-05", 3, "M2", 950.0, 0.0),
            ("b", "2024-01-20", 1, "M0", 2000.0, 0.0),
            ("b", "2024-02-20", 2, "M0", 1800.0, 0.0),
            ("b", "2024-03-20", 3, "M0", 1600.0, 0.0),
            ("c", "2024-01-28", 4, "M1", 500.0, 0.0),
            ("c", "2024-02-28", 5, "M2", 500.0, 0.0),
            ("c", "2024-03-28", 6, "M3", 500.0, 0.0),
        ]
    )


def test_flow_rates_by_balance_and_by_count(three_months: pd.DataFrame) -> None:
    fr = flow_rates(three_months)
    assert fr.index.astype(str).tolist() == ["2024-01", "2024-02", "2024-03"]
    assert fr.iloc[0].isna().all()  # no month before the first
    assert fr.loc["2024-02", "M0->M1"] == pytest.approx(950 / 3000)
    assert fr.loc["2024-03", "M0->M1"] == 0.0
    assert fr.loc["2024-02", "M1->M2"] == pytest.approx(500 / 500)
    assert fr.loc["2024-03", "M1->M2"] == pytest.approx(950 / 950)
    assert fr.loc["2024-03", "M2->M3"] == pytest.approx(500 / 500)
    assert np.isnan(fr.loc["2024-02", "M2->M3"])  # M2 was empty in January
    counts = flow_rates(three_months, weight="count")
    assert counts.loc["2024-02", "M0->M1"] == 0.5
    with pytest.raises(ConfigError, match="weight"):
        flow_rates(three_months, weight="loans")


def test_roll_rates_by_balance(three_months: pd.DataFrame) -> None:
    # from M0: a (1,000, Jan) rolled to M1; b (2,000 Jan, 1,800 Feb) stayed
    by_balance = roll_rates(three_months, weight="balance")
    assert by_balance.loc["M0", "M1"] == pytest.approx(1000 / 4800)
    assert by_balance.loc["M0", "M0"] == pytest.approx(3800 / 4800)
    assert by_balance.loc["M1", "M2"] == 1.0
    assert roll_rates(three_months).loc["M0", "M1"] == pytest.approx(1 / 3)
    with pytest.raises(ConfigError, match="weight"):
        roll_rates(three_months, weight="exposure")


def test_net_flow_telescopes_to_charge_offs_over_current_seven_months_before() -> None:
    # x climbs M0 .. M6+ and is charged off at 700 in month 8; y stays current at 3,000
    ladder = ["M0", "M1", "M2", "M3", "M4", "M5", "M6+", "charged_off"]
    rows = []
    for i, b in enumerate(ladder):
        month = f"2024-{i + 1:02d}-10"
        off = 700.0 if b == "charged_off" else 0.0
        rows.append(("x", month, i + 1, b, 0.0 if off else 1000.0, off))
        rows.append(("y", month, i + 1, "M0", 3000.0, 0.0))
    net = net_flow_to_charge_off(_perf(rows))
    # by hand: M0->M1 in Feb is 1000 / 4000, every later step 1000 / 1000, M6+->CO 700 / 1000
    assert net.loc["2024-08", "net_flow"] == pytest.approx(0.25 * 0.7)
    assert net.loc["2024-08", "charged_off"] == 700.0
    assert net.loc["2024-08", "current_balance_7m_ago"] == 4000.0
    assert net["net_flow"].iloc[:7].isna().all()


def test_delinquency_by_segment_on_a_toy_book(three_months: pd.DataFrame) -> None:
    loans = pd.DataFrame(
        {
            "loan_id": ["a", "b", "c"],
            "principal": [1000.0, 2000.0, 600.0],
            "product": ["cash", "cash", "inst"],
            "disbursed_at": pd.to_datetime(["2023-12-05", "2023-12-20", "2023-09-28"]),
        }
    )
    out = delinquency_by_segment(three_months, loans, "product").set_index("product")
    assert out.loc["cash", "loans"] == 2
    assert out.loc["cash", "exposure"] == pytest.approx(950 + 1600)
    assert out.loc["cash", "dpd30_share"] == pytest.approx(950 / 2550)  # a is M2 (60 DPD)
    assert out.loc["cash", "dpd90_share"] == 0.0
    assert out.loc["inst", "dpd90_share"] == 1.0  # c is M3
    assert out.loc["inst", "ever90_rate"] == 1.0
    assert out.loc["cash", "ever90_rate"] == 0.0
    # as of February, nothing is 90+ yet
    feb = delinquency_by_segment(three_months, loans, "product", as_of="2024-02-28")
    assert feb["ever90_rate"].tolist() == [0.0, 0.0]
    by_vintage = delinquency_by_segment(three_months, loans, "vintage")
    assert by_vintage["vintage"].tolist() == ["2023-09", "2023-12"]
    with pytest.raises(DataError, match=r"loans: missing column\(s\) \['channel'\]"):
        delinquency_by_segment(three_months, loans, "channel")


def test_charge_off_pd_from_the_roll_matrix_by_hand() -> None:
    # four loans in M6+ in January: p and q charged off in February, r stays M6+ and is charged
    # off in March, s cures to M0 and stays: from M6+, 3 of 5 transitions charge off, 1 stays,
    # 1 cures; from M0, 1 of 1 stays
    rows = [
        ("p", "2024-01-03", 9, "M6+", 100.0, 0.0),
        ("p", "2024-02-03", 10, "charged_off", 0.0, 100.0),
        ("q", "2024-01-03", 9, "M6+", 100.0, 0.0),
        ("q", "2024-02-03", 10, "charged_off", 0.0, 100.0),
        ("r", "2024-01-03", 9, "M6+", 100.0, 0.0),
        ("r", "2024-02-03", 10, "M6+", 100.0, 0.0),
        ("r", "2024-03-03", 11, "charged_off", 0.0, 100.0),
        ("s", "2024-01-03", 9, "M6+", 100.0, 0.0),
        ("s", "2024-02-03", 10, "M0", 100.0, 0.0),
        ("s", "2024-03-03", 11, "M0", 100.0, 0.0),
    ]
    perf = _perf(rows)
    assert charge_off_pd(perf, horizon=1)["M6+"] == pytest.approx(0.6)
    assert charge_off_pd(perf, horizon=2)["M6+"] == pytest.approx(0.6 + 0.2 * 0.6)
    assert charge_off_pd(perf, horizon=2)["M0"] == 0.0
    el = expected_loss_by_bucket(perf, lgd=0.5, horizon=1, as_of="2024-02-28").set_index("bucket")
    # open in February: r (M6+, 100) and s (M0, 100); p and q were charged off. Only the
    # January -> February transitions are known then: from M6+, 2 of 4 charged off
    assert el.loc["M6+", "pd"] == pytest.approx(0.5)
    assert el.loc["M6+", "el"] == pytest.approx(0.5 * 0.5 * 100)
    assert el.loc["total", "ead"] == 200.0
    assert el.loc["total", "el"] == pytest.approx(25.0)
    with pytest.raises(ConfigError, match="horizon"):
        charge_off_pd(perf, horizon=0)


def test_expected_loss_refuses_bad_inputs() -> None:
    assert expected_loss([0.1, 0.5], 0.5, [1000.0, 200.0]).tolist() == [50.0, 50.0]
    with pytest.raises(DataError, match="pd: values must be in"):
        expected_loss([1.2], 0.5, [1.0])
    with pytest.raises(DataError, match="ead: values must be non-negative"):
        expected_loss([0.2], 0.5, [-1.0])
    with pytest.raises(DataError, match="lgd: missing"):
        expected_loss([0.2], np.nan, [1.0])


@pytest.fixture(scope="module")
def book(twin: Portfolio) -> Portfolio:
    return twin


def test_count_flows_agree_with_the_roll_rates(book: Portfolio) -> None:
    # an account is in M(k+1) this month only if it was in Mk (and rolled) or in M(k+1) (and
    # stayed, paying part) the month before: bucket totals by month against transitions of each
    # account, two different countings of the same events
    perf = book.performance.sort_values(["loan_id", "mob"])
    counts = bucket_balances(perf, weight="count")
    rr = roll_rates(perf)
    has_next = (perf["loan_id"].shift(-1) == perf["loan_id"]).to_numpy()
    bucket = perf["bucket"].astype(str).to_numpy()
    for a, b in (("M1", "M2"), ("M2", "M3"), ("M3", "M4")):
        n_a = int((has_next & (bucket == a)).sum())
        n_b = int((has_next & (bucket == b)).sum())
        expected = rr.loc[a, b] * n_a + rr.loc[b, b] * n_b
        assert counts[b].iloc[1:].sum() == pytest.approx(expected, rel=1e-9)


def test_analysis_on_the_twin_matches_its_documented_rolls(book: Portfolio) -> None:
    from creditfactory.servicing import analyse_portfolio

    analysis = analyse_portfolio(book_from_portfolio(book))
    rr = analysis.roll_rates
    # docs/data.md: M1->M2 ~0.255, M2->M3 ~0.613, M3->M4 ~0.850 (means over ten books of
    # 30,000; seed-to-seed sd 0.0095, 0.020, 0.020 at that size): 4 sd on this smaller book
    assert rr.loc["M1", "M2"] == pytest.approx(0.255, abs=4 * 0.0095 * 1.25)
    assert rr.loc["M2", "M3"] == pytest.approx(0.613, abs=4 * 0.020 * 1.25)
    assert rr.loc["M3", "M4"] == pytest.approx(0.850, abs=4 * 0.020 * 1.25)
    # charge-off PD climbs with the bucket, and the total EL is the sum of the buckets'
    el = analysis.expected_loss.set_index("bucket")
    pds = el.drop("total")["pd"].to_numpy()
    assert (np.diff(pds) > 0).all()
    assert el.loc["total", "el"] == pytest.approx(el.drop("total")["el"].sum())
    # the open book's exposure is the principal outstanding plus arrears of the live loans
    perf = book.performance
    last = perf.sort_values(["loan_id", "mob"]).groupby("loan_id").tail(1)
    live = last[
        (last["month"] > perf["month"].max() - pd.Timedelta(days=31))
        & ~last["closed"]
        & (last["bucket"] != "charged_off")
    ]
    ead = (live["principal_outstanding"] + live["arrears"]).sum()
    assert el.loc["total", "ead"] == pytest.approx(ead)
    # segments: every loan with a due date passed is counted once (not yet due: no rows), and
    # written-off sums agree with the table
    for seg in ("product", "channel", "cohort", "vintage"):
        table = analysis.segments[seg]
        assert table["loans"].sum() == (book.loans["status"] != "not_yet_due").sum()
        assert table["written_off"].sum() == pytest.approx(perf["written_off"].sum())


def test_vintage_curves_by_segment_are_the_curves_of_each_segment(book: Portfolio) -> None:
    loans = book_from_portfolio(book).loans
    perf = book.performance
    by = vintage_curves(perf, loans, by="Q", segment="channel")
    branch = loans[loans["channel"] == "branch"]
    alone = vintage_curves(perf[perf["loan_id"].isin(branch["loan_id"])], branch, by="Q")
    pd.testing.assert_frame_equal(by.loc["branch"], alone, check_names=False)
