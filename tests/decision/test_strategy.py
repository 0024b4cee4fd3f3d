"""Strategy loading (errors name file, line and problem) and decisions on known applications."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from creditfactory.decision import InputError, ModelRegistry, Strategy
from creditfactory.exceptions import DataError, StrategyError

from .conftest import FULL, GOOD

HEAD = """strategy: t
version: "1"
inputs:
  age: {type: int, min: 0, max: 120}
  income: {type: float, nullable: true}
  channel: {type: str, values: [app, branch]}
  score: float
flow:
"""


def load_text(tmp_path: Path, body: str, registry: ModelRegistry | None = None) -> Strategy:
    path = tmp_path / "s.yaml"
    path.write_text(HEAD + body, encoding="utf-8")
    return Strategy.load(path, registry)


@pytest.mark.parametrize(
    ("body", "line", "match"),
    [
        (
            "  - rules:\n      rules:\n        - {name: r, when: 'salary > 1', action: decline,"
            " reason: X}\n",
            11,
            "unknown variable 'salary'",
        ),
        (
            "  - rules:\n      rules:\n        - {name: r, when: 'age + 1', action: decline,"
            " reason: X}\n",
            11,
            "type mismatch: the condition is int, not bool",
        ),
        (
            "  - rules:\n      rules:\n        - {name: r, when: 'channel > 1', action: decline,"
            " reason: X}\n",
            11,
            "cannot compare str with int",
        ),
        (
            "  - rules:\n      rules:\n        - {name: r, when: 'age >', action: decline,"
            " reason: X}\n",
            11,
            "expected a value, found end of expression",
        ),
        (
            "  - rules:\n      rules:\n        - {name: r, when: 'age > 1', action: ban,"
            " reason: X}\n",
            11,
            "action must be decline or refer",
        ),
        (
            "  - rules:\n      rules:\n        - {name: r, when: 'age > 1', action: decline,"
            " reason: null}\n",
            11,
            "rule 'r': reason must be a non-empty text$",
        ),
        (
            "  - rules:\n      rules:\n        - {name: r, when: 'age > 1', action: refer,"
            " reason: 101}\n",
            11,
            "reason must be a non-empty text \\(quote a numeric code",
        ),
        ("  - model: {model: ascore, bind: {score: s}}\n", 9, "missing model 'ascore'"),
        ("  - assign: {set: {age: '1'}}\n", 9, "cannot assign 'age'"),
        (
            "  - assign: {set: {x: '1'}}\n  - assign: {name: b, set: {x: \"'a'\"}}\n",
            10,
            "type mismatch: 'x' is int",
        ),
        ("  - assign: {set: {limit: \"'big'\"}}\n", 9, "type mismatch: 'limit' is float"),
        ("  - frobnicate: {}\n", 9, "a flow step is one of"),
        ("  - assign: {set: {x: '1'}, colour: red}\n", 9, "unknown key 'colour'"),
        (
            "  - table:\n      dimensions: {s: score}\n      rows:\n"
            "        - {s: [null, 500], decision: decline}\n"
            "        - {s: [550, null], decision: approve}\n",
            12,
            "gap: no row covers s in \\[500, 550\\)",
        ),
        (
            "  - table:\n      dimensions: {s: score}\n      rows:\n"
            "        - {s: [null, 500], decision: decline}\n"
            "        - {s: [450, null], decision: approve}\n",
            13,
            "overlap: rows at lines 12 and 13 both cover s in \\[450, 500\\)",
        ),
        (
            "  - table:\n      dimensions: {s: score, c: channel}\n      rows:\n"
            "        - {s: any, c: app, tier: 1}\n",
            12,
            "gap: no row covers .* c = 'branch'",
        ),
        (
            "  - table:\n      dimensions: {s: score}\n      rows:\n"
            "        - {s: [null, 0], tier: 1}\n        - {s: [0, null], tier: x}\n",
            13,
            "type mismatch in output 'tier'",
        ),
        (
            "  - table:\n      dimensions: {s: score}\n      rows:\n"
            "        - {s: [5, 1], tier: 1}\n",
            12,
            "empty band",
        ),
    ],
)
def test_load_errors_name_file_line_problem(
    tmp_path: Path, body: str, line: int, match: str
) -> None:
    with pytest.raises(StrategyError, match=f"s.yaml:{line}: .*{match}"):
        load_text(tmp_path, body)


def test_yaml_syntax_and_top_level_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("strategy: x\nversion: [\n", encoding="utf-8")
    with pytest.raises(StrategyError, match=r"bad\.yaml:3: invalid YAML"):
        Strategy.load(bad)
    bad.write_text("strategy: x\nversion: '1'\ninputs: {}\n", encoding="utf-8")
    with pytest.raises(StrategyError, match=r"bad\.yaml:1: strategy: missing key 'flow'"):
        Strategy.load(bad)
    with pytest.raises(StrategyError, match="cannot read strategy file"):
        Strategy.load(tmp_path / "nope.yaml")


def test_missing_model_is_named(tmp_path: Path) -> None:
    body = "  - assign: {set: {x: '1'}}\nmodels:\n  a: {name: sc, version: '3'}\n"
    with pytest.raises(StrategyError, match=r"s\.yaml:11: missing model sc@3"):
        load_text(tmp_path, body)


def test_model_feature_needs_variable(tmp_path: Path, registry: ModelRegistry) -> None:
    body = "  - model: {model: a, bind: {score: s}}\nmodels:\n  a: {name: tiny, version: '1'}\n"
    with pytest.raises(StrategyError, match=r"s\.yaml:9: model 'a' needs 'utilisation'"):
        load_text(tmp_path, body, registry)


def test_good_application(full: Strategy) -> None:
    d = full.decide(GOOD)
    assert d.decision == "approve"
    assert d.reasons == []
    assert d.term == 12
    assert d.limit == 36_000.0  # 3 x income, within affordability and the 50,000 cap
    assert 0 < d.apr <= 0.24
    assert d.trace[:5] == ["list_checks", "knockouts", "score", "affordability", "matrix"]
    assert d.trace[5] == "cc"
    assert d.trace[6] in ("cc:champion", "cc:challenger")
    assert d.model_versions == {"tiny": "1"}
    assert d.values["tier"] == "A"
    assert (d.strategy, d.version) == ("full", "2.1")


def test_reasons_in_order_and_stop_after_knockout_step(full: Strategy) -> None:
    d = full.decide({**GOOD, "age": 70, "inquiries_3m": 7, "phone": "13900000000"})
    assert d.decision == "decline"
    # the knock-outs (in rule order) before the greylist refer met first: the first reason of a
    # decline is why it was declined
    assert d.reasons == ["KO_AGE_MAX", "KO_INQ", "GL_PHONE"]
    assert d.trace == ["list_checks", "knockouts"]
    assert d.limit is None
    assert d.apr is None


def test_list_decline_and_bind(full: Strategy) -> None:
    assert full.decide({**GOOD, "phone": "13800000000"}).reasons == ["BL_PHONE"]
    d = full.decide({**GOOD, "id_number": "110101198001010000"})
    assert d.values["is_staff"] is True
    assert d.decision == "refer"
    assert d.reasons[0] == "RF_STAFF"


def test_list_check_with_action_none_and_no_bind_does_nothing() -> None:
    # Regression: online, an action-none check without a bind took the no-bind fast path,
    # referred and reported a None reason, while batch approved.
    s = Strategy.from_yaml(
        "strategy: n\nversion: '1'\nkey: id\ninputs: {id: str, phone: str}\n"
        "lists: {grey: {values: ['1']}}\n"
        "flow:\n  - lists:\n      checks:\n"
        "        - {field: phone, list: grey, action: none}\n"
        "        - {field: id, list: grey, action: refer, reason: RF_ID}\n"
    )
    d = s.decide({"id": "a", "phone": "1"})
    assert (d.decision, d.reasons) == ("approve", [])
    row = s.decide_batch(pl.DataFrame({"id": ["a"], "phone": ["1"]})).row(0, named=True)
    assert (row["decision"], row["reasons"]) == ("approve", [])
    assert s.decide({"id": "1", "phone": "1"}).reasons == ["RF_ID"]


def test_table_decline_adds_model_reasons(full: Strategy) -> None:
    d = full.decide({**GOOD, "utilisation": 1.1, "housing": "rent", "inquiries_3m": 5, "age": 20})
    assert d.decision == "decline"
    assert d.reasons[0] == "SC_LOW"
    # the model's two costliest characteristics: utilisation (-90), then age and inquiries tie
    # at -50 and the first in the scorecard's order wins
    assert d.reasons[1:] == ["R002", "R001"]


def test_online_input_errors_name_the_field(full: Strategy) -> None:
    with pytest.raises(InputError, match="age: expected int, got str") as info:
        full.decide({**GOOD, "age": "30"})
    assert info.value.fields == ["age"]
    assert isinstance(info.value, DataError)
    with pytest.raises(InputError, match="monthly_income: below minimum 0"):
        full.decide({**GOOD, "monthly_income": -1.0})
    with pytest.raises(InputError, match="channel: not an allowed value"):
        full.decide({**GOOD, "channel": "fax"})
    with pytest.raises(InputError, match="thin_file: expected bool, got int"):
        full.decide({**GOOD, "thin_file": 1})
    assert full.decide({**GOOD, "age": 35.0}).decision == "approve"  # integral float is an int
    with pytest.raises(InputError, match="age: expected int, got float"):
        full.decide({**GOOD, "age": 35.5})


def test_split_is_stable_and_near_shares(full: Strategy) -> None:
    apps = [{**GOOD, "application_id": f"A{i:07d}"} for i in range(2000)]
    out = full.decide_batch(pl.DataFrame(apps))
    arms = out["trace"].list.get(6)
    share = (arms == "cc:challenger").mean()
    assert 0.26 < share < 0.34
    again = full.decide_batch(pl.DataFrame(apps))["trace"].list.get(6)
    assert (arms == again).all()


def test_outline_lists_every_step(full: Strategy) -> None:
    label, kids = full.outline()
    assert label == "strategy full v2.1"
    flow = {k[0]: k[1] for k in kids}["flow"]
    assert [f[0].split()[0] for f in flow] == [
        "lists", "rules", "model", "assign", "table", "split", "assign", "rules",
    ]  # fmt: skip


def test_from_yaml_matches_load(tmp_path: Path, registry: ModelRegistry) -> None:
    path = tmp_path / "full.yaml"
    path.write_text(FULL, encoding="utf-8")
    a = Strategy.load(path, registry).decide(GOOD)
    b = Strategy.from_yaml(FULL, registry).decide(GOOD)
    assert a == b


def test_explain_names_every_reason(full: Strategy) -> None:
    d = full.decide({**GOOD, "utilisation": 1.1, "housing": "rent", "inquiries_3m": 5, "age": 20})
    explained = full.explain(d)
    assert [c for c, _ in explained] == d.reasons
    assert explained[0][1].startswith("matrix (line ")
    assert explained[1] == ("R002", "tiny: utilisation")
    texts = full.reason_texts()
    assert texts["KO_AGE"] == "knockouts: underage: age < 18"
    assert texts["BL_PHONE"] == "list_checks: phone in blacklist"
    assert texts["NO_CELL"] == "matrix: no row matched"
    assert "strategy: full" in full.text


def test_key_and_inputs_among_outputs() -> None:
    s = Strategy.from_yaml(
        "strategy: k\nversion: '1'\nkey: id\ninputs: {id: str, age: int}\n"
        "flow:\n  - assign: {set: {x: 'age * 2'}}\noutputs: [id, x, age]\n"
    )
    out = s.decide_batch(pl.DataFrame({"id": ["a"], "age": [3]}))
    assert out.columns[:2] == ["id", "decision"]
    assert out.row(0, named=True)["x"] == 6
    assert s.decide({"id": "a", "age": 3}).values == {"id": "a", "x": 6, "age": 3}


def test_misspelt_dimension_is_caught(tmp_path: Path) -> None:
    body = (
        "  - table:\n      dimensions: {channel: channel, s: score}\n      rows:\n"
        "        - {chanel: app, s: any, tier: 1}\n"
    )
    with pytest.raises(
        StrategyError, match="'chanel' is not a dimension \\(did you mean 'channel'"
    ):
        load_text(tmp_path, body)


def test_lists_supplied_at_load_time(registry: ModelRegistry) -> None:
    s = Strategy.from_yaml(FULL, registry, lists={"blacklist": ["13712345678"]})
    assert s.decide(GOOD).reasons == ["BL_PHONE"]
    with pytest.raises(StrategyError, match="list 'nope' is not declared"):
        Strategy.from_yaml(FULL, registry, lists={"nope": []})
    with pytest.raises(StrategyError, match="every item must be a str"):
        Strategy.from_yaml(FULL, registry, lists={"blacklist": [1]})


def test_pandas_missing_markers_are_null(full: Strategy) -> None:
    import pandas as pd

    for marker in (float("nan"), pd.NA):
        assert full.decide({**GOOD, "utilisation": marker}).decision == "approve"
        with pytest.raises(InputError, match="housing: null"):
            full.decide({**GOOD, "housing": marker})
