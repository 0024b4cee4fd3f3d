"""The portfolio twin is realistic and its truth is what it claims to be."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from creditfactory.data import Portfolio, SimulationConfig, simulate, valid_id_mask


def _joined(book: Portfolio) -> pd.DataFrame:
    return book.applications.merge(book.truth, on="application_id").merge(
        book.incumbent_decisions, on="application_id"
    )


def test_every_table_is_present_and_keyed(book: Portfolio) -> None:
    apps = book.applications
    assert apps["application_id"].is_unique
    assert len(book.truth) == len(apps) == len(book.incumbent_decisions)
    assert (book.truth["application_id"] == apps["application_id"]).all()
    assert apps["customer_id"].isin(book.customers["customer_id"]).all()
    approved = book.incumbent_decisions["decision"] == "approve"
    taken = book.incumbent_decisions["taken_up"].fillna(False).astype(bool)
    assert (taken <= approved).all()
    assert len(book.loans) == taken.sum()
    assert book.performance["loan_id"].isin(book.loans["loan_id"]).all()
    assert book.collections["loan_id"].isin(book.loans["loan_id"]).all()
    assert book.campaigns["customer_id"].isin(book.customers["customer_id"]).all()
    assert apps["applied_at"].is_monotonic_increasing


def test_realised_bad_rate_matches_the_target(book: Portfolio) -> None:
    target = book.config.target_bad_rate
    se = np.sqrt(target * (1 - target) / len(book.truth))
    assert book.truth["bad"].mean() == pytest.approx(target, abs=4 * se + 0.002)
    # the mean of the true probability is the target by calibration
    assert book.truth["pd_true"].mean() == pytest.approx(target, rel=0.01)


def test_realised_default_by_decile_matches_the_true_probability(book: Portfolio) -> None:
    truth = book.truth
    decile = pd.qcut(truth["pd_true"], 10, labels=False)
    grouped = truth.groupby(decile).agg(
        pd=("pd_true", "mean"), bad=("bad", "mean"), n=("bad", "size")
    )
    se = np.sqrt(grouped["pd"] * (1 - grouped["pd"]) / grouped["n"])
    assert (np.abs(grouped["bad"] - grouped["pd"]) <= 4 * se + 0.003).all(), grouped
    # and the deciles really rank: the top decile is many times the bottom one
    assert grouped["bad"].iloc[-1] > 10 * max(grouped["bad"].iloc[0], 1e-3)


def test_rank_power_of_the_truth_is_realistic(book: Portfolio) -> None:
    genuine = ~book.truth["is_fraud"]
    auc = roc_auc_score(book.truth.loc[genuine, "bad"], book.truth.loc[genuine, "pd_true"])
    # docs/data.md: "truth AUC about 0.86"; 10 books of 30,000 (seeds 20-29): mean 0.861,
    # sd 0.0057 -> 4 sd = 0.023 (observable data allow less: see test_headline_figures.py)
    assert auc == pytest.approx(0.86, abs=0.023)


def test_fraud_rate_rings_and_first_payment_default(book: Portfolio) -> None:
    truth = book.truth
    assert truth["is_fraud"].mean() == pytest.approx(book.config.fraud_rate, abs=0.002)
    in_ring = truth["ring_id"].notna()
    assert (truth.loc[in_ring, "is_fraud"]).all()
    assert in_ring.sum() / truth["is_fraud"].sum() == pytest.approx(
        book.config.ring_share, abs=0.05
    )
    fpd = truth.loc[truth["is_fraud"], "fpd"].mean()
    assert 0.5 <= fpd <= 0.9
    approved = book.incumbent_decisions["decision"] == "approve"
    honest_fpd = truth.loc[~truth["is_fraud"] & approved, "fpd"].mean()
    assert 0.005 <= honest_fpd <= 0.03  # DOMAIN: first-party FPD around 1-3%


def test_ring_members_share_identifiers(book: Portfolio) -> None:
    frame = book.applications.merge(book.truth[["application_id", "ring_id"]], on="application_id")
    rings = frame[frame["ring_id"].notna()]
    kinds = ["device_id", "phone", "address_id", "emergency_contact_phone"]
    for ring_id, members in rings.groupby("ring_id"):
        if len(members) < 3:
            continue
        shared = [members[k].nunique() < len(members) for k in kinds]
        assert any(shared), f"ring {ring_id} shares nothing"
    # outside rings, devices are (almost) personal
    honest = frame[frame["ring_id"].isna()]
    per_device = honest.groupby("device_id")["customer_id"].nunique()
    assert (per_device > 1).mean() < 0.03


def test_ring_applications_come_in_bursts(book: Portfolio) -> None:
    frame = book.applications.merge(book.truth[["application_id", "ring_id"]], on="application_id")
    spans = frame[frame["ring_id"].notna()].groupby("ring_id")["applied_at"].agg(["min", "max"])
    days = (spans["max"] - spans["min"]).dt.total_seconds() / 86_400
    assert (days <= book.config.ring_burst_days + 1).all()


def test_id_numbers_are_valid_except_the_forged_ones(book: Portfolio) -> None:
    valid = valid_id_mask(book.applications["id_number"].to_numpy())
    forged = book.truth["id_forged"].to_numpy()
    assert forged.any()
    assert (valid == ~forged).all()
    assert book.truth.loc[book.truth["id_forged"], "is_fraud"].all()


def test_id_numbers_carry_birth_date_and_sex(book: Portfolio) -> None:
    customers = book.customers
    genuine = customers[customers["customer_since"] < pd.Timestamp(book.config.first_month)]
    ids = genuine["id_number"]
    birth = pd.to_datetime(ids.str.slice(6, 14), format="%Y%m%d")
    assert (birth == genuine["birth_date"]).all()
    male = ids.str.slice(16, 17).astype(int) % 2 == 1
    assert (male == (genuine["gender"] == "male")).all()


def test_phone_numbers_are_mainland_mobiles(book: Portfolio) -> None:
    phones = book.applications["phone"]
    assert phones.str.fullmatch(r"1[3-9]\d{9}").all()


def test_observed_performance_agrees_with_the_truth(book: Portfolio) -> None:
    """Every approved loan observed for 12 months shows 90+ DPD within them iff it is bad."""
    observed = book.observed_outcomes(months=12, dpd=90)
    truth = observed.merge(book.truth[["application_id", "bad"]], on="application_id")
    assert len(observed) > 1_000
    assert len(observed) == (book.loans["months_observed"] >= 12).sum()
    assert (truth["bad_x"] == truth["bad_y"]).all()


def test_only_approved_applications_have_performance(book: Portfolio) -> None:
    declined = book.incumbent_decisions.loc[
        book.incumbent_decisions["decision"] == "decline", "application_id"
    ]
    assert not book.loans["application_id"].isin(declined).any()
    # the truth is still known for declined applicants, and they are riskier
    frame = _joined(book)
    by_decision = frame.groupby("decision")["bad"].mean()
    assert by_decision["decline"] > 2 * by_decision["approve"]


def test_incumbent_policy_is_realistic(book: Portfolio) -> None:
    frame = _joined(book)
    assert frame["decision"].eq("approve").mean() == pytest.approx(0.55, abs=0.03)
    approved = frame[frame["decision"] == "approve"]
    assert approved["apr"].max() <= book.config.apr_cap + 1e-12
    assert (approved["amount_approved"] <= approved["amount_requested"]).all()
    # its score ranks risk, but worse than the truth
    auc = roc_auc_score(frame["bad"], -frame["score"])
    assert 0.6 < auc < roc_auc_score(frame["bad"], frame["pd_true"])


def test_thin_file_share_is_in_the_documented_range(book: Portfolio) -> None:
    share = book.applications["thin_file"].mean()
    assert 0.2 <= share <= 0.5
    thin = book.applications["thin_file"]
    assert book.applications.loc[thin, "utilisation"].isna().all()
    assert book.applications.loc[thin, "bureau_history_months"].isna().all()


def test_third_party_score_has_coverage_gaps(book: Portfolio) -> None:
    covered = book.applications["third_party_score"].notna().mean()
    assert 0.5 < covered < 0.9


def test_amounts_terms_and_ages_are_in_range(book: Portfolio) -> None:
    apps = book.applications
    assert apps["amount_requested"].between(500, 500_000).all()
    assert set(apps["term_requested"]) <= {3, 6, 12, 24, 36}
    assert apps["age"].between(18, 70).all()
    assert set(book.customers["cohort"]) <= {"50后", "60后", "70后", "80后", "90后", "00后"}


def test_roll_rates_are_in_the_documented_ranges(book: Portfolio) -> None:
    from creditfactory.servicing import roll_rates

    rr = roll_rates(book.performance)
    # docs/data.md: M1->M2 ~25%, M2->M3 ~61%, M3->M4 ~85%. Month-on-month transitions of the
    # same loans are not independent draws, so the spread is the seed-to-seed sd of 10 books of
    # 30,000 (seeds 20-29): M1->M2 mean 0.255 sd 0.0095; M2->M3 0.613 sd 0.020; M3->M4 0.850
    # sd 0.020. Tolerance 3 sd around the documented figure.
    assert rr.loc["M1", "M2"] == pytest.approx(0.25, abs=3 * 0.0095)
    assert rr.loc["M2", "M3"] == pytest.approx(0.61, abs=3 * 0.020)
    assert rr.loc["M3", "M4"] == pytest.approx(0.85, abs=3 * 0.020)


def test_collection_actions_have_segment_specific_effects(book: Portfolio) -> None:
    """Within M1, randomised actions: SMS works on forgetful payers, not on unwilling ones."""
    coll = book.collections.merge(book.loans[["loan_id", "application_id"]], on="loan_id")
    coll = coll.merge(book.truth[["application_id", "payer_type"]], on="application_id")
    m1 = coll[coll["bucket"] == "M1"]
    cure = m1.assign(cured=m1["outcome"] == "cured").groupby(
        ["payer_type", "action"], observed=True
    )
    rates = cure["cured"].mean().unstack()
    assert rates.loc["forgetful", "sms"] > rates.loc["unwilling", "sms"] + 0.1
    # the true cure probabilities agree with the realised cures on average
    assert m1["true_cure_prob"].mean() == pytest.approx((m1["outcome"] == "cured").mean(), abs=0.03)
    assert set(coll["action"].astype(str)) <= {
        "sms",
        "robo_call",
        "agent_call",
        "field_visit",
        "agency",
        "legal",
        "debt_sale",  # after charge-off
    }
    assert (m1["action"].astype(str).value_counts(normalize=True) > 0.15).sum() == 3


def test_campaigns_are_randomised_and_lift_response(book: Portfolio) -> None:
    camp = book.campaigns
    assert camp["treatment"].mean() == pytest.approx(
        1 - book.config.campaign_control_share, abs=0.02
    )
    treated = camp[camp["treatment"]]
    rates = treated.groupby("channel")["responded"].agg(["mean", "size"])
    # docs/data.md: SMS/push/call response about 1.0% / 1.6% / 3.0%. Binomial se
    # sqrt(p(1-p)/n) on this book's treated sends (n ~13,600 SMS: se 0.09 points; ~9,500 push:
    # 0.13; ~4,100 calls: 0.27); 4 se. (10 books: 0.99% / 1.59% / 3.02%, sd 0.13 / 0.14 / 0.21.)
    for channel, documented in [("sms", 0.010), ("push", 0.016), ("call", 0.030)]:
        got, n = rates.loc[channel, "mean"], rates.loc[channel, "size"]
        se = np.sqrt(documented * (1 - documented) / n)
        assert got == pytest.approx(documented, abs=4 * se), (channel, got, n)
    lift = treated["responded"].mean() - camp.loc[~camp["treatment"], "responded"].mean()
    assert lift > 0
    assert (camp["true_uplift"] < 0).any()  # some customers are put off
    assert camp["dormant"].any()
    assert (~camp["dormant"]).any()


def test_customers_go_dormant(book: Portfolio) -> None:
    obs = pd.Timestamp(book.config.observation_date)
    idle = (obs - book.customers["last_active_date"]).dt.days
    assert 0.15 < (idle >= 180).mean() < 0.5


def test_macro_shock_raises_default_after_its_month(book: Portfolio) -> None:
    frame = _joined(book)
    # genuine applications: fraud defaults regardless of the economy, and rings arrive in
    # bursts that move a period's bad rate by more than the shock does
    frame = frame[~frame["is_fraud"]]
    shock = pd.Timestamp(book.config.macro_shock_month)
    before = frame[frame["applied_at"] < shock - pd.DateOffset(months=12)]
    after = frame[frame["applied_at"] >= shock]
    # genuine applicants (fraud defaults whatever the economy; rings come in lumps): seed 11
    # measured 2.2x; the bound leaves room for a book this size
    genuine_before, genuine_after = before[~before["is_fraud"]], after[~after["is_fraud"]]
    assert genuine_after["bad"].mean() > 1.5 * genuine_before["bad"].mean()
    # applicants drift: utilisation rises after the shock (what monitoring should find)
    assert after["utilisation"].mean() > before["utilisation"].mean() + 0.03
    # and the roll from M1 to M2 of genuine loans rises in the months after the shock
    genuine = book.loans.merge(book.truth[["application_id", "is_fraud"]])
    genuine = genuine.loc[~genuine["is_fraud"], "loan_id"]
    perf = book.performance[book.performance["loan_id"].isin(genuine)]
    perf = perf.sort_values(["loan_id", "mob"])
    nxt = perf.groupby("loan_id")["bucket"].shift(-1)
    m1 = perf[(perf["bucket"] == "M1") & nxt.notna()]
    rolled = nxt[m1.index] == "M2"
    late = m1["month"] >= shock
    assert rolled[late].mean() > rolled[~late].mean()


def test_no_shock_means_no_late_rise() -> None:
    cfg = SimulationConfig(n_applications=20_000, seed=5, macro_shock_month=None)
    book = simulate(cfg)
    frame = book.applications.merge(book.truth, on="application_id")
    first = frame[frame["applied_at"] < pd.Timestamp("2024-07-01")]["pd_true"].mean()
    last = frame[frame["applied_at"] >= pd.Timestamp("2025-07-01")]["pd_true"].mean()
    assert last == pytest.approx(first, rel=0.15)


def test_same_seed_same_book_bit_for_bit(tmp_path) -> None:
    cfg = SimulationConfig(n_applications=3_000, seed=21)
    a = simulate(cfg).write(tmp_path / "a")
    b = simulate(cfg).write(tmp_path / "b")
    for file in sorted(a.glob("*.parquet")):
        assert file.read_bytes() == (b / file.name).read_bytes(), file.name
    assert (a / "portfolio.json").read_text() == (b / "portfolio.json").read_text()


def test_different_seed_different_book() -> None:
    one = simulate(SimulationConfig(n_applications=3_000, seed=1))
    two = simulate(SimulationConfig(n_applications=3_000, seed=2))
    assert not one.applications["amount_requested"].equals(two.applications["amount_requested"])
    assert not one.truth["bad"].equals(two.truth["bad"])


def test_config_rejects_bad_values_naming_the_field() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="target_bad_rate"):
        SimulationConfig(target_bad_rate=1.5)
    with pytest.raises(ValidationError, match="channel_mix"):
        SimulationConfig(channel_mix={"moon": 1.0})
    with pytest.raises(ValidationError, match="ring_size_max must be >= ring_size_min"):
        SimulationConfig(ring_size_min=10, ring_size_max=5)
    with pytest.raises(ValidationError, match="n_aplications"):
        SimulationConfig(n_aplications=10)  # typo: extra fields are refused


def test_tiny_books_work() -> None:
    book = simulate(SimulationConfig(n_applications=1, seed=0, n_campaigns=0))
    assert len(book.applications) == 1
    assert len(book.campaigns) == 0
