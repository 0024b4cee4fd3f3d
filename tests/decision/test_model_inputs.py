"""Typed model inputs: the strategy's points equal the scorecard's own, declarations must match
what the model was fitted on, and values the model never saw follow the declared policy."""

from __future__ import annotations

import warnings
from typing import ClassVar

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from creditfactory.data import SimulationConfig, simulate
from creditfactory.decision import InputError, ModelRegistry, PointsModel, Strategy, load_model
from creditfactory.exceptions import ArtefactError, StrategyError
from creditfactory.scorecard import Scorecard, ScorecardWarning, to_scoring_spec

from .conftest import TINY_SPEC

FEATURES = ["gps_city_mismatch", "inquiries_6m", "housing", "utilisation", "age"]
DECLARED = {
    "gps_city_mismatch": "bool",
    "inquiries_6m": "{type: int, min: 0, max: 1000}",
    "housing": "str",
    "utilisation": "{type: float, nullable: true, min: 0, max: 5}",
    "age": "{type: int, min: 0, max: 120}",
}


def _quiet_points(sc: Scorecard, frame: pd.DataFrame) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScorecardWarning)
        return sc.predict_points(frame)


@pytest.fixture(scope="module")
def book() -> tuple[Scorecard, pd.DataFrame]:
    pf = simulate(SimulationConfig(n_applications=5_000, seed=11))
    X = pf.applications[FEATURES]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScorecardWarning)
        sc = Scorecard(selection=None, min_iv=0.0, max_iv_pvalue=None).fit(X, pf.truth["bad"])
    assert "gps_city_mismatch" in sc.selected_features_  # the defect needs a bool input
    return sc, X.head(400).reset_index(drop=True)


def _yaml(declared: dict[str, str], unseen: str | None = None) -> str:
    inputs = "\n".join(f"  {k}: {v}" for k, v in declared.items())
    policy = "" if unseen is None else f"unseen: {unseen}\n"
    return (
        'strategy: typed\nversion: "1"\n' + policy + "inputs:\n" + inputs + "\n"
        "models:\n  m: {name: m, version: '1'}\n"
        "flow:\n  - model: {name: score, model: m, bind: {score: s, pd: p}, reasons: 2}\n"
        "outputs: [s, p]\n"
    )


def _strategy(sc: Scorecard, declared: dict[str, str] | None = None, **kw: str) -> Strategy:
    reg = ModelRegistry([PointsModel("m", "1", to_scoring_spec(sc))])
    return Strategy.from_yaml(_yaml(declared or DECLARED, kw.get("unseen")), reg)


def _rows(X: pd.DataFrame) -> list[dict[str, object]]:
    rows = X.astype(object).where(X.notna(), None).to_dict("records")
    return [{k: (bool(v) if isinstance(v, np.bool_) else v) for k, v in r.items()} for r in rows]


def test_bool_inputs_score_as_the_scorecard_does(book: tuple[Scorecard, pd.DataFrame]) -> None:
    sc, X = book
    s = _strategy(sc)
    want = _quiet_points(sc, X)
    online = np.array([s.decide(r).values["s"] for r in _rows(X)])
    np.testing.assert_allclose(online, want, rtol=0, atol=1e-9)
    batch = s.decide_batch(pl.DataFrame(_rows(X)))
    np.testing.assert_allclose(batch["s"].to_numpy(), want, rtol=0, atol=1e-9)
    # the flag matters: flipping it moves the points (it was scored as missing either way)
    flipped = X.assign(gps_city_mismatch=~X["gps_city_mismatch"])
    assert (_quiet_points(sc, flipped) != want).any()
    np.testing.assert_allclose(
        s.decide_batch(pl.DataFrame(_rows(flipped)))["s"].to_numpy(),
        _quiet_points(sc, flipped),
        atol=1e-9,
    )


def test_the_schema_is_recorded_and_survives_the_artefact(
    book: tuple[Scorecard, pd.DataFrame], tmp_path
) -> None:
    sc, X = book
    schema = sc.input_schema_
    assert schema["gps_city_mismatch"]["type"] == "bool"
    assert schema["housing"]["type"] == "str"
    cats = schema["housing"]["categories"]
    assert cats == sorted(cats)
    assert set(X["housing"].dropna().unique()) <= set(cats)
    assert schema["inquiries_6m"]["type"] == "int"
    assert schema["utilisation"]["nullable"] is True
    assert schema["age"]["min"] >= 18
    assert schema["age"]["max"] <= 120
    sc.save(tmp_path / "sc")
    model = load_model(tmp_path / "sc", "m", "1")
    assert model.input_schema == {f: schema[f] for f in sc.selected_features_}  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("feature", "declared", "fitted"),
    [
        ("gps_city_mismatch", "str", "bool"),
        ("gps_city_mismatch", "int", "bool"),
        ("housing", "int", "str"),
        ("inquiries_6m", "float", "int"),
        ("age", "bool", "int"),
    ],
)
def test_a_declaration_that_does_not_match_is_refused(
    book: tuple[Scorecard, pd.DataFrame], feature: str, declared: str, fitted: str
) -> None:
    sc, _ = book
    if feature not in sc.selected_features_:
        pytest.skip(f"{feature} was not selected")
    text = _yaml({**DECLARED, feature: declared})
    line = text.splitlines().index(f"  {feature}: {declared}") + 1
    reg = ModelRegistry([PointsModel("m", "1", to_scoring_spec(sc))])
    with pytest.raises(StrategyError) as err:
        Strategy.from_yaml(text, reg)
    msg = str(err.value)
    assert msg.startswith(f"<string>:{line}: type mismatch: model 'm' input {feature!r}")
    assert f"fitted on {fitted}" in msg
    assert f"declares {declared}" in msg


def test_an_int_may_feed_a_float_input(book: tuple[Scorecard, pd.DataFrame]) -> None:
    sc, X = book
    s = _strategy(sc, {**DECLARED, "utilisation": "{type: int, nullable: true}"})
    row = {**_rows(X)[0], "utilisation": 1}
    assert s.decide(row).values["s"] == pytest.approx(
        _quiet_points(sc, pd.DataFrame([row]))[0], abs=1e-9
    )


def _unseen_rows(X: pd.DataFrame) -> list[dict[str, object]]:
    rows = _rows(X.head(6))
    rows[1]["housing"] = "深圳"
    rows[4]["housing"] = "5"
    return rows


def test_unseen_categories_score_as_missing_and_are_traced(
    book: tuple[Scorecard, pd.DataFrame],
) -> None:
    sc, X = book
    s = _strategy(sc)
    assert s.unseen == "missing"
    rows = _unseen_rows(X)
    want = _quiet_points(sc, pd.DataFrame(rows))
    batch = s.decide_batch(pl.DataFrame(rows))
    for i, row in enumerate(rows):
        d = s.decide(row)
        assert d.values["s"] == pytest.approx(want[i], abs=1e-9)
        assert ("score: unseen housing" in d.trace) == (i in (1, 4))
        assert batch["trace"][i].to_list() == d.trace
        assert batch["decision"][i] == d.decision


def test_unseen_policy_refer(book: tuple[Scorecard, pd.DataFrame]) -> None:
    sc, X = book
    s = _strategy(sc, unseen="refer")
    rows = _unseen_rows(X)
    batch = s.decide_batch(pl.DataFrame(rows))
    for i, row in enumerate(rows):
        d = s.decide(row)
        if i in (1, 4):
            assert d.decision == "refer"
            assert d.reasons[0] == "UNSEEN_VALUE"
        else:
            assert d.decision == "approve"
            assert "UNSEEN_VALUE" not in d.reasons
        assert batch["decision"][i] == d.decision
        assert batch["reasons"][i].to_list() == d.reasons
        assert batch["trace"][i].to_list() == d.trace
    assert s.explain(s.decide(rows[1]))[0][1].startswith("a model input held a value")


def test_unseen_policy_reject(book: tuple[Scorecard, pd.DataFrame]) -> None:
    sc, X = book
    s = _strategy(sc, unseen="reject")
    rows = _unseen_rows(X)
    with pytest.raises(InputError, match="housing: a value model 'm' never saw") as err:
        s.decide(rows[1])
    assert err.value.fields == ["housing"]
    assert s.decide(rows[0]).decision == "approve"
    batch = s.decide_batch(pl.DataFrame(rows))
    assert batch["decision"].to_list() == ["approve", "refer", "approve", "approve", "refer",
                                           "approve"]  # fmt: skip
    assert batch["reasons"][1].to_list() == ["INVALID_INPUT"]
    assert batch["error"][1] == "housing: a value model 'm' never saw in training"


def test_unknown_policy_is_refused(book: tuple[Scorecard, pd.DataFrame]) -> None:
    sc, _ = book
    with pytest.raises(StrategyError, match=r"<string>:3: unseen: must be one of missing, refer"):
        _strategy(sc, unseen="ignore")


def test_a_spec_without_a_schema_is_inferred_from_its_bins() -> None:
    m = PointsModel("tiny", "1", TINY_SPEC)
    assert m.input_schema["housing"]["type"] == "str"
    assert m.input_schema["age"]["type"] == "float"
    assert m.input_schema["age"]["inferred"]
    spec = {
        **TINY_SPEC,
        "characteristics": [
            {"name": "flag", "kind": "categorical", "code": "R009", "missing_points": 1.0,
             "special": [], "groups": [["True"], ["False"]], "points": [5.0, 9.0]},
        ],
    }  # fmt: skip
    flag = PointsModel("f", "1", spec)
    assert flag.input_schema["flag"]["type"] == "bool"
    assert flag.score_row({"flag": True}, 0)[0] == 5.0
    assert flag.score_row({"flag": False}, 0)[0] == 9.0
    assert flag.score_frame(pl.DataFrame({"flag": [True, False, None]}), 0)["score"].to_list() == [
        5.0,
        9.0,
        1.0,
    ]


def test_a_third_party_model_without_a_schema_keeps_the_numbers_check() -> None:
    class Bare:
        name, version = "m", "1"
        features: ClassVar[dict[str, str]] = {"age": "numeric"}

        def score_row(self, row, n_reasons):
            return float(row["age"]), 0.1, []

        def score_frame(self, frame, n_reasons):
            return pl.DataFrame({"score": frame["age"].cast(pl.Float64), "pd": 0.1,
                                 "reasons": [[]] * frame.height})  # fmt: skip

    text = _yaml({"age": "str"})
    with pytest.raises(StrategyError, match="needs a number for 'age'"):
        Strategy.from_yaml(text, ModelRegistry([Bare()]))  # type: ignore[list-item]


# ---------------------------------------------------------------- property: random scorecards

KINDS = ("bool", "int", "float", "str", "intcat")


@st.composite
def scorecards(draw: st.DrawFn) -> tuple[Scorecard, dict[str, str], dict[str, object]]:
    seed = draw(st.integers(0, 2**16))
    kinds = draw(st.lists(st.sampled_from(KINDS), min_size=1, max_size=4))
    nullable = draw(st.lists(st.booleans(), min_size=len(kinds), max_size=len(kinds)))
    special = draw(st.lists(st.booleans(), min_size=len(kinds), max_size=len(kinds)))
    rng = np.random.default_rng(seed)
    n = 600
    cols: dict[str, object] = {}
    declared, specials, forced = {}, {}, []
    risk = np.zeros(n)
    for j, (kind, null, spec) in enumerate(zip(kinds, nullable, special, strict=True)):
        name = f"{kind}_{j}"
        if kind == "bool":
            v = rng.random(n) < 0.4
            risk += v
            col = pd.Series(v, dtype=object if null else bool)
        elif kind in ("int", "intcat"):
            v = rng.integers(0, 6, n)
            risk += v / 3
            col = pd.Series(v, dtype="Int64" if null else "int64")
        elif kind == "float":
            v = rng.normal(0, 1, n).round(3)
            risk += v
            col = pd.Series(v)
            if spec:
                col[rng.random(n) < 0.1] = -99.0
                specials[name] = [-99.0]
        else:
            v = rng.choice(["a", "b", "c", "d"], n)
            risk += v == "a"
            col = pd.Series(v, dtype=object)
        if null:
            col[rng.random(n) < 0.1] = None
        cols[name] = col
        if kind == "intcat":
            forced.append(name)
        t = {"bool": "bool", "int": "int", "intcat": "int", "float": "float", "str": "str"}[kind]
        declared[name] = f"{{type: {t}, nullable: {str(null).lower()}}}"
    X = pd.DataFrame(cols)
    y = (rng.random(n) < 1 / (1 + np.exp(2 - risk / len(kinds)))).astype(int)
    if y.min() == y.max():
        y[:2] = [0, 1]
    sc = Scorecard(
        selection=None, min_iv=0.0, max_iv_pvalue=None, sign_constraint=False, max_corr=1.0,
        max_vif=1e12, max_single_share=1.0, min_bin_n_bad=None, min_bin_share=0.05,
        max_n_bins=draw(st.integers(2, 5)), special_codes=specials or None,
        categorical_features=forced or None,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sc.fit(X, y)
    kept = {f: declared[f] for f in sc.selected_features_}
    return sc, kept, {f: X[f] for f in sc.selected_features_}


def _random_value(data: st.DataFrame, sc: Scorecard, f: str, column: pd.Series) -> object:
    kind = f.rsplit("_", 1)[0]
    schema = sc.input_schema_[f]
    choices: list[object] = []
    if schema["nullable"]:
        choices.append(None)
    if kind == "bool":
        choices += [True, False]
    elif kind in ("int", "intcat"):
        choices += [0, 3, 5, 7, -2]  # 7 and -2 never seen: unseen codes of a categorical
    elif kind == "float":
        choices += [-99.0, -3.5, 0.0, 0.25, 2.75, 1e6]
    else:
        choices += ["a", "b", "d", "深圳"]
    return data.draw(st.sampled_from(choices))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(card=scorecards(), data=st.data())
def test_strategy_points_equal_predict_points(card, data) -> None:
    sc, declared, columns = card
    s = _strategy(sc, declared)
    rows = [
        {f: _random_value(data, sc, f, columns[f]) for f in declared}
        for _ in range(data.draw(st.integers(1, 8)))
    ]
    frame = pd.DataFrame(rows)
    for f, col in frame.items():  # the scorecard sees what a modeller's frame would hold
        if f.startswith(("int_", "intcat_")) and col.isna().any():
            frame[f] = col.astype("Int64")
    want = _quiet_points(sc, frame)
    online = [s.decide(r).values["s"] for r in rows]
    np.testing.assert_allclose(online, want, rtol=0, atol=1e-9)
    schema = {f: {"bool": pl.Boolean, "int": pl.Int64, "float": pl.Float64, "str": pl.String}[
        sc.input_schema_[f]["type"]] for f in declared}  # fmt: skip
    batch = s.decide_batch(pl.DataFrame(rows, schema=schema, orient="row"))
    np.testing.assert_allclose(batch["s"].to_numpy(), want, rtol=0, atol=1e-9)


@pytest.mark.parametrize(
    "schema",
    [{"type": "complex", "kind": "categorical"}, {"type": "str", "kind": "numerical"}, "str"],
)
def test_a_malformed_input_schema_is_an_artefact_error(schema: object) -> None:
    char = {**TINY_SPEC["characteristics"][2], "input": schema}  # housing, categorical
    with pytest.raises(ArtefactError, match="characteristic 'housing': input must give a type"):
        PointsModel("bad", "1", {**TINY_SPEC, "characteristics": [char]})


def test_a_simulation_counts_unseen_values(book: tuple[Scorecard, pd.DataFrame]) -> None:
    sc, _ = book
    pf = simulate(SimulationConfig(n_applications=1_500, seed=12))
    apps = pf.applications.assign(bad=pf.truth["bad"].to_numpy())
    apps.loc[apps.index[:40], "housing"] = "深圳"
    price = "  - assign: {set: {limit: '5000.0', apr: '0.2', term: '12'}}\n"
    text = _yaml(DECLARED, "refer").replace("outputs:", price + "outputs:")
    s = Strategy.from_yaml(text, ModelRegistry([PointsModel("m", "1", to_scoring_spec(sc))]))
    report = s.simulate(apps)
    assert report.unseen == {"typed": {"score: unseen housing": 40}}
    assert report.to_dict()["unseen"] == report.unseen
    total = report.summary.filter(
        (pl.col("strategy") == "typed") & (pl.col("segment") == "total")
    ).row(0, named=True)
    assert total["applications"] == 1_500
