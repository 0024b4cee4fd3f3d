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
from creditfactory.data import Portfolio, SimulationConfig, simulate
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


def _six_months(portfolio: Portfolio, strategy: Strategy) -> pd.DataFrame:
    acc = account_months(portfolio)
    months = sorted(acc["month"].unique())[-6:]
    scores = CollectionScores().fit(acc[acc["month"] < months[0]])  # fitted before them all
    return pd.concat(
        [plan_collections(portfolio, strategy, as_of=f"{m:%Y-%m}", scores=scores) for m in months],
        ignore_index=True,
    )


@pytest.mark.parametrize(
    "settings",
    [
        {},
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
def test_the_example_strategy_beats_the_incumbent_at_no_more_cost(settings: dict) -> None:
    cfg = SimulationConfig(**{"n_applications": 15_000, "seed": 8, **settings})
    portfolio = simulate(cfg)
    plan = _six_months(portfolio, Strategy.load(EXAMPLE))
    result = evaluate_plan(portfolio, plan)
    assert result.plan["accounts"] == result.incumbent["accounts"] == len(plan)
    assert result.plan["cost"] <= result.incumbent["cost"]
    assert result.plan["net_recovery"] > result.incumbent["net_recovery"]
    # the planned actions also beat the same mix dealt out at random: targeting pays
    assert result.plan["net_recovery"] > result.same_mix["net_recovery"]
    assert result.plan["cost"] == pytest.approx(result.same_mix["cost"], rel=1e-9)


def test_the_incumbent_is_its_policy_mix(book: Portfolio) -> None:
    acc = account_months(book)
    rows = acc[acc["bucket"] == "M1"].head(200)
    shares = book.config.collection_policy["M1"]
    plans = {a: rows[["loan_id", "mob"]].assign(action=a) for a in shares}
    results = {a: evaluate_plan(book, p) for a, p in plans.items()}
    mixed = sum(s * results[a].plan["net_recovery"] for a, s in shares.items())
    assert results["sms"].incumbent["net_recovery"] == pytest.approx(mixed, rel=1e-6)


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


def test_cli_plan_then_evaluate(book: Portfolio, tmp_path: Path) -> None:
    book.write(tmp_path / "book")
    runner = CliRunner()
    planned = runner.invoke(
        app,
        ["collections", "plan", "--book", str(tmp_path / "book"), "--strategy", str(EXAMPLE),
         "--out", str(tmp_path / "plan.parquet")],
    )  # fmt: skip
    assert planned.exit_code == 0, planned.output
    assert "催收计划" in planned.output
    plan = pd.read_parquet(tmp_path / "plan.parquet")
    last = pd.Timestamp(book.collections["month"].max()).to_period("M").to_timestamp()
    assert (plan["month"] == last).all()
    out = runner.invoke(
        app,
        ["collections", "evaluate", "--book", str(tmp_path / "book"),
         "--plan", str(tmp_path / "plan.parquet"), "--json"],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    doc = json.loads(out.output)
    for side in ("plan", "incumbent"):
        assert {"recovered", "cost", "net_recovery", "cures"} <= set(doc[side])
        assert doc[side]["net_recovery"] == pytest.approx(
            doc[side]["recovered"] - doc[side]["cost"], abs=0.02
        )
    missing = runner.invoke(
        app, ["collections", "evaluate", "--book", str(tmp_path / "book"), "--plan", "nope.pq"]
    )
    assert missing.exit_code == 2
    assert "--plan: nope.pq does not exist" in missing.output
