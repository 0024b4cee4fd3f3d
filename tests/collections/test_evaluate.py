"""Plans against the twin's truth: the truth agrees with what happened, and the score-driven
example strategy beats the incumbent's one-size-fits-all policy on several twins."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from creditfactory.cli import app
from creditfactory.collections import (
    CollectionScores,
    account_months,
    evaluate_plan,
    plan_collections,
    true_values,
)
from creditfactory.data import Portfolio, SimulationConfig, collection_horizon, simulate
from creditfactory.decision import Strategy
from creditfactory.exceptions import DataError

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "strategies" / "collections.yaml"


def test_the_truth_of_what_was_done_matches_what_happened(book: Portfolio) -> None:
    acc = account_months(book)
    done = acc[["loan_id", "mob"]].assign(
        action=acc["taken_action"].astype(str), collector_id=acc["collector_id"].to_numpy()
    )
    truth = true_values(book, done, acc)
    # expected cash of the month against the cash the simulator drew, within 4 s.e.
    due, inst = acc["amount_due"].to_numpy(), acc["instalment"].to_numpy()
    cure, pay = truth["cure_prob"].to_numpy(), truth["pay_prob"].to_numpy()
    second = cure * due**2 + (pay - cure) * inst**2
    var = second - truth["recovered"].to_numpy() ** 2
    gap = acc["amount_recovered"].sum() - truth["recovered"].sum()
    assert abs(gap) < 4 * np.sqrt(var.sum())
    assert abs(acc["cured"].sum() - cure.sum()) < 4 * np.sqrt((cure * (1 - cure)).sum())
    # costs: the book's own, to the cent, where no agency commission is involved
    fixed = acc["taken_action"].astype(str) != "agency"
    assert np.allclose(truth["cost"][fixed], acc["taken_cost"][fixed], atol=0.006)


def _first_months(portfolio: Portfolio, horizon: int) -> pd.DataFrame:
    """Each loan's first delinquent account-month whose horizon the book observes in full."""
    acc = account_months(portfolio)
    last = acc["month"].max()
    early = acc[acc["month"] <= last - pd.DateOffset(months=horizon)]
    early = early.sort_values(["loan_id", "mob"]).drop_duplicates("loan_id")
    return early.reset_index(drop=True)


@pytest.mark.parametrize("horizon", [3, 6])
def test_the_horizon_truth_matches_what_happened(book: Portfolio, horizon: int) -> None:
    acc = account_months(book)
    first = _first_months(book, horizon)
    done = first[["loan_id", "mob"]].assign(
        action=first["taken_action"].astype(str), collector_id=first["collector_id"].to_numpy()
    )
    truth = true_values(book, done, acc, horizon_months=horizon)
    assert len(truth) > 300
    # what the simulator realised over the same months: the borrower's payments (performance)
    # and the incumbent's action costs (collections), from the plan's month on
    perf = book.performance[["loan_id", "mob", "amount_paid", "status"]].merge(
        first[["loan_id", "mob"]].rename(columns={"mob": "start"}), on="loan_id"
    )
    perf = perf[(perf["mob"] >= perf["start"]) & (perf["mob"] < perf["start"] + horizon)]
    paid = perf.groupby("loan_id")["amount_paid"].sum().reindex(first["loan_id"], fill_value=0)
    coll = book.collections[["loan_id", "mob", "cost"]].merge(
        first[["loan_id", "mob"]].rename(columns={"mob": "start"}), on="loan_id"
    )
    coll = coll[(coll["mob"] >= coll["start"]) & (coll["mob"] < coll["start"] + horizon)]
    cost = coll.groupby("loan_id")["cost"].sum().reindex(first["loan_id"], fill_value=0)
    charged = (perf["status"].astype(str) == "charged_off").groupby(perf["loan_id"]).any()
    charged = charged.reindex(first["loan_id"], fill_value=False).to_numpy()
    before_sale = truth["horizon_recovered"] - truth["after_charge_off"]
    for realised, expected in (
        (paid.to_numpy(), before_sale.to_numpy()),
        (cost.to_numpy(), (truth["horizon_cost"] - truth["after_charge_off_cost"]).to_numpy()),
        (charged.astype(float), truth["p_charged_off"].to_numpy()),
    ):
        # independent accounts (one row per loan): the sums agree within 4 standard errors,
        # the standard error estimated from the realised spread around the truth
        se = np.sqrt(((realised - expected) ** 2).sum())
        assert abs(realised.sum() - expected.sum()) <= 4 * se
    assert (truth["horizon_recovered"] >= truth["recovered"] - 1e-6).all()
    one = true_values(book, done, acc, horizon_months=1)
    assert np.allclose(one["horizon_recovered"] - one["after_charge_off"], one["recovered"])
    assert np.allclose(one["horizon_cost"] - one["after_charge_off_cost"], one["cost"], atol=0.006)


def test_what_charged_off_debt_brings_back_matches_what_happened(
    book: Portfolio, accounts: pd.DataFrame
) -> None:
    # accounts in M6+ that roll this month are charged off; the agency and the debt buyer then
    # pay within seven months: the book must have seen all of it
    portfolio, acc = book, accounts
    last = acc["month"].max()
    late = acc[(acc["bucket"] == "M6+") & (acc["month"] <= last - pd.DateOffset(months=8))]
    late = late.sort_values(["loan_id", "mob"]).drop_duplicates("loan_id")
    done = late[["loan_id", "mob"]].assign(
        action=late["taken_action"].astype(str), collector_id=late["collector_id"].to_numpy()
    )
    truth = true_values(portfolio, done, acc, horizon_months=1)
    coll = portfolio.collections
    after = coll[coll["outcome"].astype(str).isin(["recovered", "no_payment", "sold"])]
    after = after.merge(late[["loan_id", "mob"]].rename(columns={"mob": "start"}), on="loan_id")
    after = after[after["mob"] == after["start"] + 1]  # none before the agency's first month
    assert len(after) > 30
    got = (
        coll[coll["outcome"].astype(str).isin(["recovered", "sold"])]
        .groupby("loan_id")[["amount_recovered", "cost"]]
        .sum()
        .reindex(late["loan_id"], fill_value=0.0)
    )
    for realised, expected in (
        (got["amount_recovered"].to_numpy(), truth["after_charge_off"].to_numpy()),
        (got["cost"].to_numpy(), truth["after_charge_off_cost"].to_numpy()),
    ):
        se = np.sqrt(((realised - expected) ** 2).sum())
        assert abs(realised.sum() - expected.sum()) <= 4 * se
    # a roll from M6+ is a charge-off: the truth's probability is the month's no-cure, no-pay
    assert np.allclose(truth["p_charged_off"], 1 - truth["pay_prob"])


def test_the_life_of_the_loan_ends_every_account(book: Portfolio) -> None:
    acc = account_months(book)
    rows = _first_months(book, 0).head(400)
    plan = rows[["loan_id", "mob"]].assign(action="agent_call")
    life = true_values(book, plan, acc, horizon_months="life")
    # every account ends closed, current to its term, or charged off
    assert np.allclose(life["p_current"] + life["p_charged_off"], 1.0, atol=1e-6)
    year = true_values(book, plan, acc, horizon_months=12)
    assert (life["horizon_recovered"] >= year["horizon_recovered"] - 1e-6).all()
    assert (life["p_charged_off"] >= year["p_charged_off"] - 1e-9).all()
    # evaluate_plan's default is the loan's life
    result = evaluate_plan(book, plan)
    assert result.horizon == "life"
    assert result.plan["horizon_recovered"] == pytest.approx(
        life["horizon_recovered"].sum(), abs=0.01
    )


def _six_months(
    portfolio: Portfolio, strategy: Strategy, scores: CollectionScores | None = None
) -> pd.DataFrame:
    acc = account_months(portfolio)
    months = sorted(acc["month"].unique())[-6:]
    if scores is None:
        scores = CollectionScores().fit(acc[acc["month"] < months[0]])  # fitted before them all
    return pd.concat(
        [plan_collections(portfolio, strategy, as_of=f"{m:%Y-%m}", scores=scores) for m in months],
        ignore_index=True,
    )


@pytest.mark.parametrize(
    "settings",
    [
        None,
        # calls cost twice as much, field visits less
        {"action_costs": {"sms": 0.05, "robo_call": 0.6, "agent_call": 16.0,
                          "field_visit": 100.0, "agency": 20.0, "legal": 900.0}},
        # a book that cures less on its own, with an incumbent that calls more at M1
        {"base_cure_logit": (0.3, -1.2, -2.5),
         "collection_policy": {
             "M1": {"sms": 0.2, "robo_call": 0.3, "agent_call": 0.5},
             "M2": {"agent_call": 0.7, "field_visit": 0.3},
             "M3": {"agent_call": 0.4, "field_visit": 0.4, "agency": 0.2},
             "M4": {"field_visit": 0.5, "agency": 0.5},
             "M5": {"field_visit": 0.3, "agency": 0.4, "legal": 0.3},
             "M6+": {"agency": 0.6, "legal": 0.4}}},
        # unwilling payers answer calls less and visits more
        {"seed": 5, "collection_effects": {
            "forgetful": {"sms": 1.0, "robo_call": 1.1, "agent_call": 1.2, "field_visit": 1.2,
                          "agency": 0.6, "legal": 0.3},
            "unwilling": {"sms": 0.0, "robo_call": 0.1, "agent_call": 0.4, "field_visit": 1.6,
                          "agency": 0.9, "legal": 1.3},
            "unable": {"sms": 0.0, "robo_call": 0.0, "agent_call": 0.15, "field_visit": 0.25,
                       "agency": 0.1, "legal": 0.15}}},
    ],
    ids=["default", "dear-calls", "low-cure", "stubborn"],
)  # fmt: skip
def test_the_example_strategy_beats_the_incumbent_at_no_more_cost(
    settings: dict | None, book: Portfolio, scores: CollectionScores
) -> None:
    if settings is None:  # the default twin: the session's book and its scores
        portfolio = book
        plan = _six_months(portfolio, Strategy.load(EXAMPLE), scores)
    else:
        portfolio = simulate(SimulationConfig(**{"n_applications": 15_000, "seed": 8, **settings}))
        plan = _six_months(portfolio, Strategy.load(EXAMPLE))
    result = evaluate_plan(portfolio, plan)
    assert result.plan["accounts"] == result.incumbent["accounts"] == len(plan)
    assert result.plan["cost"] <= result.incumbent["cost"]
    assert result.plan["net_recovery"] > result.incumbent["net_recovery"]
    # the planned actions also beat the same mix dealt out at random: targeting pays
    assert result.plan["net_recovery"] > result.same_mix["net_recovery"]
    assert result.plan["cost"] == pytest.approx(result.same_mix["cost"], rel=1e-9)
    # over the loan's life too (a cure's later instalments, a roll's charge-off counted)
    assert result.horizon == "life"
    assert result.plan["horizon_net_recovery"] > result.incumbent["horizon_net_recovery"]
    assert result.plan["charged_off"] < result.incumbent["charged_off"]
    assert result.plan["horizon_cost"] <= result.incumbent["horizon_cost"]


def test_the_incumbent_is_its_policy_mix(book: Portfolio) -> None:
    acc = account_months(book)
    rows = acc[acc["bucket"] == "M1"].head(200)
    shares = book.config.collection_policy["M1"]
    plans = {a: rows[["loan_id", "mob"]].assign(action=a) for a in shares}
    results = {a: evaluate_plan(book, p, horizon_months=2) for a, p in plans.items()}
    for figure in ("net_recovery", "horizon_net_recovery"):
        mixed = sum(s * results[a].plan[figure] for a, s in shares.items())
        assert results["sms"].incumbent[figure] == pytest.approx(mixed, rel=1e-6)


def test_bad_plans_are_refused(book: Portfolio) -> None:
    acc = account_months(book).head(3)
    plan = acc[["loan_id", "mob"]].assign(action="telegram")
    with pytest.raises(DataError, match=r"action: unknown value\(s\) \['telegram'\]"):
        evaluate_plan(book, plan)
    with pytest.raises(DataError, match=r"missing column\(s\) \['action'\]"):
        evaluate_plan(book, acc[["loan_id", "mob"]])
    twice = pd.concat([plan, plan]).assign(action="sms")
    with pytest.raises(DataError, match="appears more than once"):
        evaluate_plan(book, twice)
    unknown = plan.head(1).assign(action="sms", mob=999)
    with pytest.raises(DataError, match="not delinquent account-months of the book"):
        evaluate_plan(book, unknown)
    for bad in (0, 2.5, True):
        with pytest.raises(DataError, match="horizon_months: must be a whole number"):
            evaluate_plan(book, plan.assign(action="sms"), horizon_months=bad)
    with pytest.raises(DataError, match="months: the horizon must be a whole number"):
        collection_horizon(book, plan.assign(action="sms"), months=0)


def test_cli_plan_then_evaluate(book: Portfolio, book_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    planned = runner.invoke(
        app,
        ["collections", "plan", "--book", str(book_dir), "--strategy", str(EXAMPLE),
         "--out", str(tmp_path / "plan.parquet")],
    )  # fmt: skip
    assert planned.exit_code == 0, planned.output
    assert "催收计划" in planned.output
    plan = pd.read_parquet(tmp_path / "plan.parquet")
    last = pd.Timestamp(book.collections["month"].max()).to_period("M").to_timestamp()
    assert (plan["month"] == last).all()
    out = runner.invoke(
        app,
        ["collections", "evaluate", "--book", str(book_dir),
         "--plan", str(tmp_path / "plan.parquet"), "--json", "--horizon", "3"],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    doc = json.loads(out.output)
    for side in ("plan", "incumbent"):
        assert {"recovered", "cost", "net_recovery", "cures"} <= set(doc[side])
        assert doc[side]["net_recovery"] == pytest.approx(
            doc[side]["recovered"] - doc[side]["cost"], abs=0.02
        )
        assert doc[side]["horizon_months"] == 3
        assert doc[side]["horizon_net_recovery"] == pytest.approx(
            doc[side]["horizon_recovered"] - doc[side]["horizon_cost"], abs=0.02
        )
        # three months hold the first one, and every account ends somewhere
        assert doc[side]["horizon_recovered"] > doc[side]["recovered"]
        assert doc[side]["horizon_cost"] >= doc[side]["cost"]
        assert doc[side]["current_at_end"] + doc[side]["charged_off"] <= len(plan)
    missing = runner.invoke(
        app, ["collections", "evaluate", "--book", str(book_dir), "--plan", "nope.pq"]
    )
    assert missing.exit_code == 2
    assert "--plan: nope.pq does not exist" in missing.output
