"""The challenger records the type and domain of its inputs; a strategy that calls it must
declare them as fitted, scores bool inputs as the challenger does, and traces unseen values."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import polars as pl
import pytest

from creditfactory._artefacts import write_artefact
from creditfactory.decision import ModelRegistry, Strategy, load_model
from creditfactory.exceptions import StrategyError
from creditfactory.models import GBMChallenger, load_challenger
from creditfactory.scorecard import ScorecardWarning


def _data(n: int, seed: int) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    night = rng.random(n) < 0.3
    tier = rng.integers(1, 4, n)
    channel = rng.choice(["app", "branch", "education"], n)
    score = rng.normal(600, 50, n).round()
    logit = -2 + 1.2 * night + 0.4 * tier - (score - 600) / 50 + 0.5 * (channel == "education")
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    X = pd.DataFrame({"night": night, "tier": tier, "channel": channel, "score": score})
    return X, pd.Series(y)


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> tuple[GBMChallenger, object]:
    X, y = _data(3_000, 1)
    m = GBMChallenger(n_estimators=60).fit(X, y)
    path = tmp_path_factory.mktemp("gbm")
    m.save(path)
    return m, path


def test_the_schema_is_recorded_and_saved(saved) -> None:
    m, path = saved
    s = m.input_schema_
    assert s["night"]["type"] == "bool"
    assert s["night"]["categories"] == ["False", "True"]
    assert s["tier"] == {"type": "int", "kind": "numerical", "nullable": False, "special": [],
                         "min": 1.0, "max": 3.0}  # fmt: skip
    assert s["channel"]["type"] == "str"
    assert s["score"]["type"] == "float"
    assert load_challenger(path).input_schema_ == s
    # an artefact from before the schema: inferred from the kinds and categories kept
    body = json.loads((path / "challenger.json").read_text(encoding="utf-8"))
    body.pop("input_schema")
    body.pop("sha256")
    write_artefact(path / "old" / "challenger.json", body)
    (path / "old" / "model.txt").write_text((path / "model.txt").read_text(encoding="utf-8"))
    old = load_challenger(path / "old").input_schema_
    assert old["night"]["type"] == "bool"
    assert old["channel"]["type"] == "str"
    assert old["tier"]["type"] == "float"
    assert old["tier"]["inferred"]


def _strategy(path: object, declared: str, unseen: str = "missing") -> Strategy:
    text = (
        f'strategy: g\nversion: "1"\nunseen: {unseen}\n'
        f"inputs: {{{declared}}}\n"
        "models: {m: {name: gbm, version: '1'}}\n"
        "flow:\n  - model: {name: score, model: m, bind: {score: s}}\noutputs: [s]\n"
    )
    return Strategy.from_yaml(text, ModelRegistry([load_model(path, "gbm", "1")]))


GOOD = "night: bool, tier: {type: int, min: 0, max: 9}, channel: str, score: float"


def test_a_strategy_scores_bool_inputs_as_the_challenger(saved) -> None:
    m, path = saved
    s = _strategy(path, GOOD)
    X, _ = _data(40, 2)
    rows = [{k: (bool(v) if isinstance(v, np.bool_) else v) for k, v in r.items()}
            for r in X.astype(object).to_dict("records")]  # fmt: skip
    want = m.predict_points(X)
    np.testing.assert_allclose([s.decide(r).values["s"] for r in rows], want, atol=1e-9)
    np.testing.assert_allclose(s.decide_batch(pl.DataFrame(rows))["s"].to_numpy(), want, atol=1e-9)


@pytest.mark.parametrize(
    ("declared", "wrong"),
    [
        (GOOD.replace("night: bool", "night: str"), "'night' was fitted on bool"),
        (GOOD.replace("channel: str", "channel: int"), "'channel' was fitted on str"),
        (GOOD.replace("tier: {type: int", "tier: {type: float"), "'tier' was fitted on int"),
    ],
)
def test_mismatched_declarations_are_refused(saved, declared: str, wrong: str) -> None:
    _, path = saved
    with pytest.raises(StrategyError, match=f"<string>:4: type mismatch: model 'm' input {wrong}"):
        _strategy(path, declared)


def test_unseen_categories_follow_the_policy(saved) -> None:
    m, path = saved
    row = {"night": False, "tier": 2, "channel": "深圳", "score": 610.0}
    d = _strategy(path, GOOD).decide(row)
    assert d.trace == ["score", "score: unseen channel"]
    with pytest.warns(ScorecardWarning, match="unseen categories"):
        want = m.predict_points(pd.DataFrame([row]))[0]
    assert d.values["s"] == pytest.approx(want, abs=1e-9)
    referred = _strategy(path, GOOD, "refer")
    assert referred.decide(row).reasons[0] == "UNSEEN_VALUE"
    batch = referred.decide_batch(pl.DataFrame([row, {**row, "channel": "app"}]))
    assert batch["decision"].to_list() == ["refer", "approve"]
    assert batch["trace"].to_list() == [["score", "score: unseen channel"], ["score"]]
