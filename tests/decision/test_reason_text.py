"""Reason texts: authored rule texts, model reasons with the applicant's value and the points
it cost (worked out by hand from the spec), list and system codes, adverse-action selection."""

from __future__ import annotations

import numpy as np
import pytest

from creditfactory.decision import (
    ModelRegistry,
    PointsModel,
    Strategy,
    accept_language,
    resolve_lang,
)
from creditfactory.exceptions import DataError, StrategyError

from .conftest import TINY_SPEC

TEXTS = """
strategy: texts
version: "1"
inputs:
  id_number: str
  age: {type: int, min: 0, max: 120}
  utilisation: {type: float, min: -1, max: 1.5, nullable: true}
  housing: {type: str, values: [own, mortgage, family, rent]}
  inquiries_3m: {type: int, min: 0, max: 100}
  income: {type: float, min: 0, max: 1000000}
lists:
  blacklist: {values: ["110101199001011234"]}
models:
  ascore: {name: tiny, version: "1"}
reasons:
  KO_INCOME:
    en: "Monthly income {income} is below 3,000"
    zh-CN: "月收入{income}低于3,000"
  RF_YOUNG: {en: "Applicant under 20"}
  RF_SECRET: {en: "Device seen in a fraud ring", zh-CN: "设备关联欺诈团伙", tell: false}
labels:
  housing: {en: "Home ownership", zh-CN: "住房状况"}
  utilisation: {en: "Card utilisation", zh-CN: "信用卡使用率", tell: false}
flow:
  - lists:
      name: bl
      checks:
        - {field: id_number, list: blacklist, action: decline, reason: BL_ID}
  - model: {name: a, model: ascore, bind: {score: a_score}, reasons: 4}
  - rules:
      name: hard
      rules:
        - {name: poor, when: "income < 3000", action: decline, reason: KO_INCOME}
        - {name: young, when: "age < 20", action: refer, reason: RF_YOUNG}
        - {name: ring, when: "age == 33", action: refer, reason: RF_SECRET}
        - {name: odd, when: "age == 99", action: refer, reason: RF_ODD}
  - assign: {set: {limit: "income * 2", apr: "0.2", term: "12"}}
"""


@pytest.fixture(scope="module")
def texts() -> Strategy:
    return Strategy.from_yaml(TEXTS, models=ModelRegistry([PointsModel("tiny", "1", TINY_SPEC)]))


APP = {
    "id_number": "x", "age": 19, "utilisation": 0.8, "housing": "rent", "inquiries_3m": 5,
    "income": 1500.0,
}  # fmt: skip


def test_decline_explained_in_english(texts: Strategy) -> None:
    d = texts.decide(APP)
    every, told = texts.explain_reasons(d, APP, "en")
    by_code = {r.code: r for r in every}
    assert every[0].code == "KO_INCOME"  # the reason it was declined comes first
    assert by_code["KO_INCOME"].text == "Monthly income 1,500 is below 3,000"
    # TINY_SPEC: inquiries_3m=5 is past the last edge (3): 100 points, the best is 150
    r4 = by_code["R004"]
    assert r4.text == "Credit inquiries in the last 3 months: 5 (−50 points)"
    assert (r4.value, r4.points, r4.feature, r4.kind) == (5, -50.0, "inquiries_3m", "model")
    # housing=rent: 75 points against 110 (the strategy's label, not the built-in one)
    assert by_code["R003"].text == "Home ownership: rent (−35 points)"
    # age 19: 40 against 90; utilisation 0.8 (60 against 120) is labelled but never told
    assert by_code["R001"].text == "Age: 19 (−50 points)"
    assert by_code["R002"].text == "Card utilisation: 0.8 (−60 points)"
    assert not by_code["R002"].tell
    # the models' codes, costliest first (ties in characteristic order): 60, 50, 50, 35 lost
    assert d.reasons == ["KO_INCOME", "RF_YOUNG", "R002", "R001", "R004", "R003"]
    # told: at most four, in the decision's order, without utilisation (tell: false)
    assert [r.code for r in told] == ["KO_INCOME", "RF_YOUNG", "R001", "R004"]


def test_decline_explained_in_chinese(texts: Strategy) -> None:
    every, told = texts.explain_reasons(texts.decide(APP), APP, "zh-CN")
    by_code = {r.code: r for r in every}
    assert by_code["KO_INCOME"].text == "月收入1,500低于3,000"
    assert by_code["R004"].text == "近3个月征信查询次数：5（−50分）"
    assert by_code["R003"].text == "住房状况：rent（−35分）"
    assert by_code["RF_YOUNG"].text == "Applicant under 20"  # no zh-CN given: English
    assert told[0].text == "月收入1,500低于3,000"


def test_list_fraud_and_undescribed_reasons_are_never_told(texts: Strategy) -> None:
    app = {**APP, "id_number": "110101199001011234", "income": 9000.0}
    d = texts.decide(app)
    assert d.reasons[0] == "BL_ID"
    every, told = texts.explain_reasons(d, app)
    assert every[0].kind == "list"
    assert not every[0].tell
    assert "BL_ID" not in [r.code for r in told]
    # a refer on a fraud signal only (tell: false) and a rule without text: a general reason
    app = {**APP, "age": 33, "income": 9000.0, "utilisation": 0.1, "housing": "own",
           "inquiries_3m": 0}  # fmt: skip
    d = texts.decide(app)
    assert d.decision == "refer"
    every, told = texts.explain_reasons(d, app)
    assert every[0].code == "RF_SECRET"
    assert not every[0].tell
    assert [r.code for r in told] == ["R001"]  # age 33: 60 points against 90; nothing else
    every, told = texts.explain_reasons(["RF_ODD", "LIST_BLACKLIST_PHONE", "INVALID_INPUT"])
    assert [r.tell for r in every] == [False, False, False]
    assert every[0].text == "hard: odd: age == 99"  # the rule itself, for staff
    assert every[1].text == "On the blacklist (phone)"
    assert [r.code for r in told] == ["GENERAL"]
    assert told[0].text == "The application did not meet our lending criteria"
    zh = texts.explain_reasons(["LIST_BLACKLIST_PHONE"], None, "zh-CN")[1]
    assert zh[0].text == "申请未满足我们的授信标准"


def test_approval_has_no_adverse_action(texts: Strategy) -> None:
    app = {**APP, "age": 40, "income": 9000.0}
    d = texts.decide(app)
    assert d.decision == "approve"
    assert texts.explain_reasons(d, app) == ([], [])


def test_at_most_four_reasons_told_each_text_once(texts: Strategy) -> None:
    codes = ["KO_INCOME", "KO_INCOME", "RF_YOUNG", "R001", "R003", "R004"]
    _, told = texts.explain_reasons(codes, APP)
    assert [r.code for r in told] == ["KO_INCOME", "RF_YOUNG", "R001", "R003"]


def test_points_of_sums_to_the_score_and_orders_the_codes() -> None:
    """``points_of`` is what ``score_row`` scores: the sum is the score and the largest losses
    are the reason codes, on random rows with missing and special values."""
    m = PointsModel("tiny", "1", TINY_SPEC)
    rng = np.random.default_rng(3)
    for _ in range(300):
        row = {
            "age": None if rng.random() < 0.1 else int(rng.integers(18, 80)),
            "utilisation": rng.choice([None, -1.0, float(rng.uniform(0, 1.5))]),
            "housing": rng.choice(["own", "mortgage", "family", "rent", "boat"]),
            "inquiries_3m": int(rng.integers(0, 6)),
        }
        score, _, codes = m.score_row(row, 4)
        parts = m.points_of(row)
        assert sum(p for _, _, p, _ in parts) == pytest.approx(score)
        lost = sorted(((best - p, i, c) for i, (c, _, p, best) in enumerate(parts)),
                      key=lambda t: (-t[0], t[1]))  # fmt: skip
        assert codes == [c for x, _, c in lost if x > 1e-9]


@pytest.mark.parametrize(
    ("yaml_tail", "match"),
    [
        ("reasons: {KO: {en: hi, fr: salut}}", "unknown key 'fr'"),
        ("reasons: {KO: {en: hi, tell: yes please}}", "tell must be true or false"),
        ("reasons: {KO: {en: 'age {agee}'}}", "{agee} is not a declared input"),
        ("reasons: {KO: {en: ''}}", "en must be a non-empty text"),
        ("reasons: {KO: {tell: false}}", "give a text in en or zh-CN"),
        ("labels: [age]", "labels: expected a mapping"),
    ],
)
def test_bad_texts_are_strategy_errors_naming_the_line(yaml_tail: str, match: str) -> None:
    text = "strategy: x\nversion: '1'\ninputs: {age: int}\nflow: []\n" + yaml_tail
    with pytest.raises(StrategyError, match=match) as info:
        Strategy.from_yaml(text)
    assert "<string>:5" in str(info.value)


def test_languages() -> None:
    assert resolve_lang("zh-Hans-CN") == "zh-CN"
    assert resolve_lang("EN") == "en"
    with pytest.raises(DataError, match="lang: 'fr' is not supported"):
        resolve_lang("fr")
    assert accept_language("zh-CN,zh;q=0.9,en;q=0.8") == "zh-CN"
    assert accept_language("en;q=0.2, zh;q=0.5") == "zh-CN"
    assert accept_language("*;q=0.5, garbage;q=x", default="zh-CN") == "zh-CN"
    assert accept_language(None) == "en"


def test_batch_reason_texts_are_the_online_explanations(texts: Strategy) -> None:
    """``with_reason_texts`` adds, per row, the texts ``explain_reasons`` gives online for that
    row (pandas in, pandas out too); the decisions are those of ``decide_batch``."""
    import pandas as pd
    import polars as pl

    rng = np.random.default_rng(11)
    n = 300
    frame = pl.DataFrame(
        {
            "id_number": rng.choice(["x", "110101199001011234"], n, p=[0.9, 0.1]),
            "age": rng.integers(18, 70, n),
            "utilisation": rng.uniform(0, 1.4, n),
            "housing": rng.choice(["own", "mortgage", "family", "rent"], n),
            "inquiries_3m": rng.integers(0, 6, n),
            "income": rng.uniform(500, 12000, n),
        }
    )
    for lang in ("en", "zh-CN"):
        out = texts.with_reason_texts(lang).decide_batch(frame)
        plain = texts.decide_batch(frame)
        assert out.drop("reason_texts").equals(plain)
        for i, row in enumerate(frame.iter_rows(named=True)):
            every, _ = texts.explain_reasons(texts.decide(row), row, lang)
            assert out["reason_texts"][i].to_list() == [r.text for r in every]
    as_pandas = texts.with_reason_texts("zh-CN").decide_batch(frame.to_pandas())
    assert isinstance(as_pandas, pd.DataFrame)
    assert list(as_pandas["reason_texts"].iloc[0]) == out["reason_texts"][0].to_list()


def test_a_models_own_catalogue_explains_as_the_strategy_does(texts: Strategy) -> None:
    """``ReasonCatalogue.of_model`` (scores made without a strategy: ``scorecard score
    --reasons N --lang``) gives a model reason the text a strategy using the model gives; the
    scorecard's own ``reason_texts`` label the characteristic in English, with the built-in
    Chinese label beside it."""
    from creditfactory.decision import ReasonCatalogue, reason_texts_column

    model = PointsModel("tiny", "1", TINY_SPEC)
    # the strategy labels housing and utilisation itself; the other characteristics alike
    codes = sorted(c for c, f in model.reason_texts.items() if f not in {"housing", "utilisation"})
    assert len(codes) >= 2
    own = ReasonCatalogue.of_model(model)
    via_strategy = texts.reason_catalogue()
    for lang in ("en", "zh-CN"):
        assert [r.text for r in own.explain(codes, APP, lang)] == [
            r.text for r in via_strategy.explain(codes, APP, lang)
        ]
    feature = model.reason_texts[codes[0]]
    labelled = ReasonCatalogue.of_model(model, {feature: "My label"})
    assert labelled.explain(codes[:1], APP, "en")[0].text.startswith("My label: ")
    rows = reason_texts_column(own, [codes[:1], []], [APP, None], "zh-CN")
    assert rows[1] == []
    assert rows[0] == [own.explain(codes[:1], APP, "zh-CN")[0].text]
    assert "分）" in rows[0][0]
