"""Plans: a collection strategy in the decision language, champion/challenger included."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from creditfactory.collections import (
    ACTIONS,
    PLAN_COLUMNS,
    CollectionScores,
    account_months,
    plan_collections,
)
from creditfactory.data import Portfolio
from creditfactory.decision import Strategy
from creditfactory.exceptions import DataError, StrategyError

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "strategies" / "collections.yaml"


def _strategy(flow: str, inputs: str = "bucket: str\n  amount_due: float") -> Strategy:
    return Strategy.from_yaml(
        f"strategy: t\nversion: '1'\nkey: loan_id\ninputs:\n  loan_id: str\n  {inputs}\n"
        f"flow:\n{flow}\noutputs: [action]\n"
    )


def test_the_example_plan(book: Portfolio, scores: CollectionScores) -> None:
    plan = plan_collections(book, Strategy.load(EXAMPLE), scores=scores)
    acc = account_months(book)
    last = acc[acc["month"] == acc["month"].max()]
    assert sorted(plan["loan_id"]) == sorted(last["loan_id"])
    assert list(plan.columns) == list(PLAN_COLUMNS)
    assert set(plan["action"]) <= set(ACTIONS)
    assert set(plan["arm"]) == {"champion", "challenger"}
    assert plan["expected_net"].is_monotonic_decreasing
    # the cells, read off the YAML: M2 owing 4,000 or more gets a visit from the champion
    big = plan[(plan["arm"] == "champion") & (plan["bucket"] == "M2")]
    assert (big.loc[big["amount_due"] >= 4000, "action"] == "field_visit").all()
    assert (big.loc[big["amount_due"].between(150, 3999.99), "action"] == "agent_call").all()


def test_arms_follow_the_split_share(book: Portfolio, scores: CollectionScores) -> None:
    acc = account_months(book)
    months = sorted(acc["month"].unique())[-4:]
    plans = pd.concat(
        [plan_collections(book, Strategy.load(EXAMPLE), as_of=m, scores=scores) for m in months]
    )
    share = (plans["arm"] == "challenger").mean()
    n = len(plans)
    assert abs(share - 0.2) < 4 * np.sqrt(0.16 / n)
    # the same loan stays in its arm from month to month
    assert (plans.groupby("loan_id")["arm"].nunique() == 1).all()


def test_the_lenders_estimate_follows_the_scores(book: Portfolio, scores: CollectionScores) -> None:
    costs = {"sms": 1.0, "robo_call": 2.0, "agent_call": 3.0, "field_visit": 4.0,
             "agency": 5.0, "legal": 6.0}  # fmt: skip
    rule = "  - assign: {set: {action: \"'sms'\"}}"
    plan = plan_collections(book, _strategy(rule), scores=scores, costs=costs)
    row = plan.iloc[0]
    cash = row["p_cure"] * row["amount_due"] + (row["p_pay"] - row["p_cure"]) * row["instalment"]
    assert row["expected_recovery"] == pytest.approx(cash, abs=0.01)
    assert (plan["action_cost"] == 1.0).all()
    assert plan["arm"].isna().all()


def test_strategies_that_are_not_collection_strategies(
    book: Portfolio, scores: CollectionScores
) -> None:
    no_action = Strategy.from_yaml("strategy: t\nversion: '1'\ninputs: {bucket: str}\nflow: []\n")
    with pytest.raises(StrategyError, match="must declare the output 'action'"):
        plan_collections(book, no_action, scores=scores)
    stranger = _strategy("  - assign: {set: {action: \"'sms'\"}}", "income: float")
    with pytest.raises(StrategyError, match=r"input\(s\) \['income'\] are not account figures"):
        plan_collections(book, stranger, scores=scores)
    telegram = _strategy("  - assign: {set: {action: \"'telegram'\"}}")
    with pytest.raises(StrategyError, match="action 'telegram' for loan_id="):
        plan_collections(book, telegram, scores=scores)
    with pytest.raises(DataError, match="as_of: no delinquent account in 2031-01"):
        plan_collections(book, Strategy.load(EXAMPLE), as_of="2031-01", scores=scores)
    with pytest.raises(DataError, match=r"costs: missing action\(s\) \['robo_call',"):
        plan_collections(book, Strategy.load(EXAMPLE), scores=scores, costs={"sms": 1.0})


def test_a_strategy_can_call_the_scores_as_models(
    book: Portfolio, scores: CollectionScores
) -> None:
    model = scores.registry().get("collection_cure_late", "1")
    # each input declared with the type the model was fitted on (its input schema says)
    schema = dict(getattr(model, "input_schema", None) or {})

    def declared(name: str, kind: str) -> str:
        fitted = (schema.get(name) or {}).get("type")
        if fitted in ("int", "float", "str", "bool"):
            return str(fitted)
        return "str" if kind == "categorical" else "float"

    features = "\n".join(
        f"  {name}: {{type: {declared(name, kind)}, nullable: true}}"
        for name, kind in model.features.items()
    )
    text = (
        "strategy: m\nversion: '1'\nkey: loan_id\ninputs:\n  loan_id: str\n" + features + "\n"
        "models:\n  c: {name: collection_cure_late, version: '1'}\n"
        "flow:\n  - model: {model: c, bind: {score: c_late, pd: no_cure}}\n"
        "  - assign: {set: {action: \"if(no_cure < 0.8, 'field_visit', 'agent_call')\"}}\n"
        "outputs: [action, c_late]\n"
    )
    strategy = Strategy.from_yaml(text, models=scores.registry())
    plan = plan_collections(book, strategy, scores=scores)
    # the model step's probability is the late cure score's, so the rule reads off p_cure
    late = plan[plan["bucket"] != "M1"]
    visit = late["p_cure"] > 0.2 + 1e-9
    assert (late.loc[visit, "action"] == "field_visit").all()
    assert (late.loc[late["p_cure"] < 0.2 - 1e-9, "action"] == "agent_call").all()
