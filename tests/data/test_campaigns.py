"""Marketing that connects: responders apply and are decided; dormant customers respond less."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from creditfactory.data import Portfolio, SimulationConfig, response_oracle, simulate


def test_every_response_is_an_application_the_incumbent_decided(book: Portfolio) -> None:
    camp = book.campaigns
    responded = camp[camp["responded"]]
    assert len(responded) > 200
    assert responded["application_id"].notna().all()
    assert camp.loc[~camp["responded"], "application_id"].isna().all()
    assert responded["application_id"].is_unique
    apps = book.applications.set_index("application_id").loc[responded["application_id"]]
    assert (apps["customer_id"].to_numpy() == responded["customer_id"].to_numpy()).all()
    same_day = apps["applied_at"].dt.floor("D").to_numpy() == responded["responded_at"].to_numpy()
    assert same_day.all()
    assert (apps["channel"] == "app").all()
    decisions = book.incumbent_decisions.set_index("application_id").loc[apps.index]
    assert set(decisions["decision"]) == {"approve", "decline"}
    # approved responders who take the offer up are booked like anyone else, and only they
    taken = (decisions["decision"] == "approve") & decisions["taken_up"].fillna(False).astype(bool)
    assert 0 < taken.sum() < (decisions["decision"] == "approve").sum()
    booked = apps.index.isin(list(book.loans["application_id"]))
    assert (booked == taken.to_numpy()).all()
    assert len(book.applications) == book.config.n_applications


def test_responses_stop_at_the_observation_date() -> None:
    pf = simulate(SimulationConfig(n_applications=3_000, seed=2, months_of_history=1))
    obs = pd.Timestamp(pf.config.observation_date)
    assert (pf.applications["applied_at"] < obs).all()
    assert (pf.campaigns["responded_at"].dropna() < obs).all()


def test_dormant_customers_respond_less_and_their_uplift_sits_with_a_minority(
    book: Portfolio,
) -> None:
    camp = book.campaigns
    treated = camp[camp["treatment"]]
    by_state = treated.groupby("dormant")["responded"].agg(["mean", "size"])
    active, dormant = by_state.loc[False], by_state.loc[True]
    se = np.sqrt(
        active["mean"] * (1 - active["mean"]) / active["size"]
        + dormant["mean"] * (1 - dormant["mean"]) / dormant["size"]
    )
    assert dormant["mean"] < active["mean"] - 3 * se
    # the true uplift of every contact, from the oracle: dormant lower on average ...
    truth = response_oracle(book, camp)
    up = truth["uplift"].to_numpy()
    is_dormant = truth["dormant"].to_numpy()
    assert up[is_dormant].mean() < 0.8 * up[~is_dormant].mean()

    # ... and concentrated: the top fifth of dormant contacts hold most of their uplift
    def top_fifth_share(values: np.ndarray) -> float:
        v = np.sort(np.clip(values, 0, None))[::-1]
        return float(v[: len(v) // 5].sum() / v.sum())

    assert top_fifth_share(up[is_dormant]) > 0.6
    assert top_fifth_share(up[is_dormant]) > top_fifth_share(up[~is_dormant]) + 0.15


@pytest.mark.parametrize("seed", [4, 9])
def test_response_rates_by_channel_stay_in_the_documented_ranges(seed: int) -> None:
    # shared/DOMAIN.md: SMS about 0.1-1%, app push 0.5-2%, calls 2-5% of contacts
    pf = simulate(SimulationConfig(n_applications=20_000, seed=seed))
    treated = pf.campaigns[pf.campaigns["treatment"]]
    rates = treated.groupby("channel")["responded"].mean()
    assert 0.001 <= rates["sms"] <= 0.015
    assert 0.005 <= rates["push"] <= 0.025
    assert 0.02 <= rates["call"] <= 0.05
