"""The GBM challenger behind a strategy's model step: same answers online and in batch."""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl
import pytest

from creditfactory.data import SimulationConfig, simulate
from creditfactory.decision import DecisionModel, EstimatorModel, Strategy, load_model
from creditfactory.models import GBMChallenger

FEATURES = ["age", "monthly_income", "utilisation", "inquiries_6m", "housing", "channel"]


@pytest.fixture(scope="module")
def challenger_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pf = simulate(SimulationConfig(n_applications=3_000, seed=4))
    gbm = GBMChallenger(n_estimators=30).fit(pf.applications[FEATURES], pf.truth["bad"])
    out = tmp_path_factory.mktemp("gbm")
    gbm.save(str(out))
    return out


STRATEGY = """
strategy: gbm
version: "1"
inputs:
  age: {type: int}
  monthly_income: {type: float}
  utilisation: {type: float, nullable: true}
  inquiries_6m: {type: int}
  housing: str
  channel: str
models:
  gbm: {name: challenger, version: "1", path: PATH}
flow:
  - model: {model: gbm, bind: {score: g_score, pd: g_pd}, reasons: 2}
  - rules:
      rules:
        - {name: risky, when: "g_pd > 0.12", action: decline, reason: GBM_HIGH}
  - assign:
      set: {limit: "floor_to(monthly_income * 3, 100)", apr: "min(loan_apr(g_pd, 10000, 12), 0.24)"}
outputs: [g_score, g_pd]
"""


def test_challenger_in_a_strategy(challenger_dir: Path) -> None:
    model = load_model(challenger_dir, "challenger", "1")
    assert isinstance(model, EstimatorModel)
    assert isinstance(model, DecisionModel)
    s = Strategy.from_yaml(STRATEGY.replace("PATH", str(challenger_dir)))
    apps = simulate(SimulationConfig(n_applications=300, seed=9)).applications[FEATURES]
    out = s.decide_batch(pl.from_pandas(apps))
    assert set(out["decision"]) == {"approve", "decline"}
    for i, row in enumerate(apps.to_dict("records")[:60]):
        row = {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in row.items()}
        d = s.decide(row)
        batch = out.row(i, named=True)
        assert (d.decision, d.reasons, d.limit) == (
            batch["decision"],
            batch["reasons"],
            batch["limit"],
        )
        assert d.values["g_pd"] == pytest.approx(batch["g_pd"], rel=1e-12)
    declined = out.filter(pl.col("decision") == "decline")
    assert (declined["reasons"].list.len() >= 2).all()  # GBM_HIGH plus the model's codes
