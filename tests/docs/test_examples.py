"""The example files the docs use are what they say they are."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from creditfactory.data import SimulationConfig, simulate
from creditfactory.decision import Strategy
from creditfactory.scorecard import check_target

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_the_application_has_every_input_of_the_reference_strategy() -> None:
    strategy = Strategy.load(EXAMPLES / "strategies" / "reference.yaml")
    application = json.loads((EXAMPLES / "application.json").read_text(encoding="utf-8"))
    # every input a client sends; the fraud features are looked up, not sent
    sent = [spec.name for spec in strategy.inputs if spec.name not in strategy.provided_inputs]
    assert strategy.provided_inputs, "the reference strategy looks its fraud features up"
    assert sorted(application) == sorted(sent)
    decision = strategy.decide(application)
    # the README's tour decides this application: it shows an approval with a limit, the
    # path a newcomer wants to see (a rebuilt example that declines fails here, loudly)
    assert decision.decision == "approve"
    assert decision.reasons == []
    assert decision.limit is not None
    assert decision.limit > 0


def test_the_training_table_has_a_0_1_target_and_the_reference_model_inputs() -> None:
    loans = pd.read_csv(EXAMPLES / "loans.csv.gz")
    y = check_target(loans["bad"].to_numpy(), len(loans))  # raises on anything but 0/1
    assert 0.01 < y.mean() < 0.2  # a realistic bad rate among booked loans
    assert loans["application_id"].is_unique
    seen = simulate(SimulationConfig(n_applications=200, seed=1)).applications
    features = [c for c in loans.columns if c != "bad"]
    assert set(features) <= set(seen.columns)  # only what the lender saw at application
    assert set(features) & set(seen.columns) - {"application_id"}
