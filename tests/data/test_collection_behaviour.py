"""The twin's collections against shared/DOMAIN.md (the audit in docs/data.md, "Collections
against DOMAIN.md"): early-stage cure rates of 60-80%; treatments that differ in cost (SMS <<
robo-call < agent call < field visit < legal) and in effect by segment, cheap channels working on
forgetful payers and expensive ones on the able but unwilling; the unable barely moved."""

from __future__ import annotations

import pandas as pd
import pytest

from creditfactory.data import Portfolio, collection_oracle

ACTIONS = ("sms", "robo_call", "agent_call", "field_visit", "agency", "legal")


@pytest.fixture(scope="module")
def by_payer(book: Portfolio) -> dict[str, pd.DataFrame]:
    """True cure probability of every genuine M1 and M2 account-month under each action, mean
    by payer type (rows) and action (columns)."""
    coll = book.collections
    app = book.loans.set_index("loan_id").loc[coll["loan_id"], "application_id"].to_numpy()
    truth = book.truth.set_index("application_id").loc[app]
    genuine = ~truth["is_fraud"].to_numpy(bool)
    out = {}
    for bucket in ("M1", "M2"):
        rows = (coll["bucket"] == bucket).to_numpy() & genuine
        payer = truth["payer_type"].to_numpy(str)[rows]
        plan = coll.loc[rows, ["loan_id", "mob"]]
        out[bucket] = pd.DataFrame(
            {
                a: pd.Series(collection_oracle(book, plan.assign(action=a))["cure_prob"].to_numpy())
                .groupby(payer)
                .mean()
                for a in ACTIONS
            }
        )
    return out


def test_early_stage_cures_and_roll_rates_are_in_domain_ranges(book: Portfolio) -> None:
    coll = book.collections
    outcome = coll["outcome"].astype(str)
    m1, m2 = coll["bucket"] == "M1", coll["bucket"] == "M2"
    assert 0.60 <= (outcome[m1] == "cured").mean() <= 0.80  # M1 cure 60-80%
    assert 0.20 <= (outcome[m1] == "rolled").mean() <= 0.40  # M1 -> M2 20-40%
    assert 0.50 <= (outcome[m2] == "rolled").mean() <= 0.70  # M2 -> M3 50-70%


def test_costs_rise_with_the_treatment(book: Portfolio) -> None:
    costs = [book.config.action_costs[a] for a in ("sms", "robo_call", "agent_call",
                                                   "field_visit", "legal")]  # fmt: skip
    assert costs == sorted(costs)
    assert len(set(costs)) == len(costs)
    assert costs[0] * 10 <= costs[1]  # an SMS costs cents: far below anything else


@pytest.mark.parametrize("bucket", ["M1", "M2"])
def test_each_payer_type_needs_its_own_treatment(
    by_payer: dict[str, pd.DataFrame], bucket: str
) -> None:
    table = by_payer[bucket]
    forgetful, unwilling, unable = (table.loc[p] for p in ("forgetful", "unwilling", "unable"))
    # a text moves the forgetful almost as far as a collector's call ...
    assert forgetful["agent_call"] - forgetful["sms"] < 0.06
    # ... but not the able and unwilling, whom a call and most of all a visit move
    assert unwilling["agent_call"] - unwilling["sms"] > 0.08
    assert unwilling["field_visit"] - unwilling["sms"] > 0.2
    assert unwilling["field_visit"] - unwilling["sms"] > 4 * (
        forgetful["field_visit"] - forgetful["sms"]
    )
    # the unable pay least, whatever is done
    assert (unable < forgetful).all()
    assert unable.max() - unable.min() < 0.08
    # so what works best on an unwilling payer is dear (a visit or the courts), while a
    # forgetful one gets within a few points of their best from a text
    assert unwilling.idxmax() in ("field_visit", "legal")
    assert forgetful.max() - forgetful["sms"] < 0.06
