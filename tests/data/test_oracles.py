"""Counterfactual oracles agree with what the twin realised, on two seeds.

Consistency: each realised outcome is a Bernoulli draw with the oracle's probability given the
account's (or customer's) state, so ``sum(y - p)`` has variance ``sum(p (1 - p))`` and the mean
oracle probability is within 4 of those standard errors of the realised rate. Counterfactuals:
the incumbent's actions and the campaigns' channels are assigned at random, so the oracle's
probability under action ``a`` averaged over *every* row estimates the realised rate of the rows
that happened to get ``a`` (4 binomial standard errors of that subgroup).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from creditfactory.data import (
    Portfolio,
    SimulationConfig,
    collection_oracle,
    response_oracle,
    simulate,
)
from creditfactory.exceptions import DataError


@pytest.fixture(scope="module")
def books(book: Portfolio) -> list[Portfolio]:
    return [book, simulate(SimulationConfig(n_applications=30_000, seed=12))]


def _delinquent(pf: Portfolio) -> pd.DataFrame:
    """Collections rows of delinquent account-months (not the months after charge-off)."""
    coll = pf.collections
    return coll[coll["bucket"] != "charged_off"]


def _within(p: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Realised rate, mean probability and 4 standard errors of their difference."""
    return float(y.mean()), float(p.mean()), 4.0 * float(np.sqrt((p * (1 - p)).sum())) / len(p)


def test_collection_oracle_reproduces_the_realised_probabilities(books: list[Portfolio]) -> None:
    for pf in books:
        coll = _delinquent(pf)
        got = collection_oracle(pf, coll)
        assert got.index.equals(coll.index)
        # the realised probability was stored as float32
        np.testing.assert_allclose(got["cure_prob"], coll["true_cure_prob"], atol=1e-5)
        cured = (coll["outcome"] == "cured").to_numpy()
        paid = coll["outcome"].isin(["cured", "partial"]).to_numpy()
        for p, y in ((got["cure_prob"].to_numpy(), cured), (got["pay_prob"].to_numpy(), paid)):
            realised, expected, tol = _within(p, y)
            assert realised == pytest.approx(expected, abs=tol)


def test_collection_oracle_counterfactuals_match_the_randomised_actions(
    books: list[Portfolio],
) -> None:
    for pf in books:
        coll = pf.collections
        for bucket in ("M1", "M2"):
            rows = coll[coll["bucket"] == bucket]
            for action in rows["action"].astype(str).unique():
                given = rows["action"].astype(str) == action
                if given.sum() < 300:
                    continue
                plan = rows[["loan_id", "mob"]].assign(action=action)
                everyone = collection_oracle(pf, plan)["cure_prob"].to_numpy()
                realised = (rows.loc[given, "outcome"] == "cured").mean()
                se = np.sqrt(realised * (1 - realised) / given.sum())
                assert everyone.mean() == pytest.approx(realised, abs=4 * se), (bucket, action)


def test_collectors_and_segments_matter(books: list[Portfolio]) -> None:
    pf = books[0]
    coll = pf.collections
    m2 = coll[coll["bucket"] == "M2"].head(500)
    skill = np.asarray(pf.meta["collector_skill"]["call"])
    best, worst = (f"CALL-{k + 1:03d}" for k in (skill.argmax(), skill.argmin()))
    good = collection_oracle(pf, m2.assign(action="agent_call", collector_id=best))
    bad = collection_oracle(pf, m2.assign(action="agent_call", collector_id=worst))
    pooled = collection_oracle(pf, m2[["loan_id", "mob"]].assign(action="agent_call"))
    fraud = _fraud_rows(pf, m2)
    assert (good["cure_prob"][~fraud] > bad["cure_prob"][~fraud]).all()
    assert (bad["cure_prob"] <= pooled["cure_prob"] + 1e-12).all()
    assert (pooled["cure_prob"] <= good["cure_prob"] + 1e-12).all()
    # fraud neither cures more under any action nor pays part
    assert np.allclose(good["cure_prob"][fraud], bad["cure_prob"][fraud])
    assert np.allclose(good["pay_prob"][fraud], good["cure_prob"][fraud])


def _fraud_rows(pf: Portfolio, rows: pd.DataFrame) -> np.ndarray:
    app = pf.loans.set_index("loan_id").loc[rows["loan_id"], "application_id"]
    return pf.truth.set_index("application_id").loc[app, "is_fraud"].to_numpy(bool)


def test_response_oracle_reproduces_and_agrees_with_realised_responses(
    books: list[Portfolio],
) -> None:
    for pf in books:
        camp = pf.campaigns
        got = response_oracle(pf, camp)
        np.testing.assert_allclose(got["p_control"], camp["true_p_control"], rtol=1e-12)
        np.testing.assert_allclose(got["uplift"], camp["true_uplift"], rtol=1e-12, atol=1e-15)
        assert (got["dormant"].to_numpy() == camp["dormant"].to_numpy()).all()
        treated = camp["treatment"].to_numpy()
        p = np.where(treated, got["p_contacted"], got["p_control"])
        realised, expected, tol = _within(p, camp["responded"].to_numpy())
        assert realised == pytest.approx(expected, abs=tol)
        # counterfactual channels: channels were assigned at random
        for channel in ("sms", "push", "call"):
            everyone = response_oracle(pf, camp.assign(channel=channel))["p_contacted"]
            given = treated & (camp["channel"] == channel).to_numpy()
            rate = camp.loc[given, "responded"].mean()
            se = np.sqrt(rate * (1 - rate) / given.sum())
            assert everyone.mean() == pytest.approx(rate, abs=4 * se), channel


def test_response_oracle_answers_for_customers_never_contacted(book: Portfolio) -> None:
    contacted = set(book.campaigns["customer_id"])
    genuine = book.customers[book.customers["true_latent"].notna()]
    never = genuine[~genuine["customer_id"].isin(contacted)].head(200)
    assert len(never) == 200
    got = response_oracle(
        book,
        never[["customer_id"]].assign(sent_at="2025-03-10", channel="push", offer="rate_discount"),
    )
    assert got["p_control"].between(0, 1).all()
    assert (got["p_contacted"].between(0, 1)).all()


def test_oracles_work_on_a_book_read_back(tmp_path: Path) -> None:
    pf = simulate(SimulationConfig(n_applications=3_000, seed=5))
    back = Portfolio.read(pf.write(tmp_path / "book"))
    a = collection_oracle(pf, _delinquent(pf).assign(action="legal"))
    b = collection_oracle(back, _delinquent(back).assign(action="legal"))
    np.testing.assert_allclose(a["cure_prob"], b["cure_prob"], rtol=1e-12)
    c = response_oracle(pf, pf.campaigns.assign(channel="call"))
    d = response_oracle(back, back.campaigns.assign(channel="call"))
    np.testing.assert_allclose(c["uplift"], d["uplift"], rtol=1e-12)


def test_bad_plans_are_named(book: Portfolio) -> None:
    coll = book.collections.head(3)
    with pytest.raises(DataError, match="action"):
        collection_oracle(book, coll.assign(action="prayer"))
    with pytest.raises(DataError, match="collector_id"):
        collection_oracle(book, coll.assign(action="agent_call", collector_id="FIELD-001"))
    with pytest.raises(DataError, match="not a delinquent account-month"):
        collection_oracle(book, coll.assign(mob=99))
    after = book.collections[book.collections["bucket"] == "charged_off"].head(2)
    assert len(after) == 2
    with pytest.raises(DataError, match="not a delinquent account-month"):
        collection_oracle(book, after.assign(action="agency"))
    with pytest.raises(DataError, match=r"missing column\(s\) \['action'\]"):
        collection_oracle(book, coll[["loan_id", "mob"]])
    camp = book.campaigns.head(3)
    with pytest.raises(DataError, match="channel"):
        response_oracle(book, camp.assign(channel="pigeon"))
    with pytest.raises(DataError, match="customer_id"):
        response_oracle(book, camp.assign(customer_id="C99999999"))
    with pytest.raises(DataError, match="portfolio"):
        response_oracle(object(), camp)  # type: ignore[arg-type]
