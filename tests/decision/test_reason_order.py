"""The first reason of a decline is why it was declined, online and in batch alike."""

from __future__ import annotations

import polars as pl
import pytest

from creditfactory.decision import ModelRegistry, PointsModel, Strategy

from .conftest import TINY_SPEC

# a refer rule, then a table whose cells refer or decline, then a knock-out rule: the refer
# reasons arise first, the decline's last
ORDERED = """
strategy: ordered
version: "1"
inputs:
  age: {type: int, min: 0, max: 120}
  utilisation: {type: float, min: -1, max: 1.5, nullable: true}
  housing: {type: str, values: [own, mortgage, family, rent]}
  inquiries_3m: {type: int, min: 0, max: 100}
  income: {type: float, min: 0, max: 1000000}
models:
  ascore: {name: tiny, version: "1"}
flow:
  - rules:
      name: soft
      rules:
        - {name: busy, when: "inquiries_3m >= 3", action: refer, reason: RF_INQ}
  - model: {name: a, model: ascore, bind: {score: a_score}, reasons: 2}
  - table:
      name: band
      dimensions:
        score: a_score
      rows:
        - {score: [null, 250], decision: decline, reason: SC_LOW}
        - {score: [250, 300], decision: refer, reason: SC_BORDER}
        - {score: [300, null], decision: approve}
  - rules:
      name: hard
      rules:
        - {name: poor, when: "income < 3000", action: decline, reason: KO_INCOME}
        - {name: young, when: "age < 20", action: refer, reason: RF_YOUNG}
  - assign: {set: {limit: "income * 2", apr: "0.2", term: "12"}}
"""


@pytest.fixture(scope="module")
def ordered() -> Strategy:
    reg = ModelRegistry([PointsModel("tiny", "1", TINY_SPEC)])
    return Strategy.from_yaml(ORDERED, models=reg)


def _app(**kw: object) -> dict[str, object]:
    base: dict[str, object] = {
        "age": 40, "utilisation": 0.2, "housing": "own", "inquiries_3m": 0, "income": 9000.0,
    }  # fmt: skip
    base.update(kw)
    return base


# (application, decision, reasons expected) — worked out by hand from TINY_SPEC's points
CASES = [
    # refer rule, then knock-out: the knock-out first
    (_app(inquiries_3m=5, income=1000.0), "decline", ["KO_INCOME", "RF_INQ"]),
    # a border cell and a refer rule in the knock-out's own step: the knock-out first
    (
        _app(age=19, utilisation=1.2, housing="rent", inquiries_3m=2, income=1000.0),
        "decline",
        ["KO_INCOME", "SC_BORDER", "RF_YOUNG"],
    ),
    # a refer rule, then a declining cell: the cell's reason first
    (
        _app(age=22, utilisation=1.2, housing="rent", inquiries_3m=4),
        "decline",
        ["SC_LOW", "RF_INQ"],
    ),
    # no decline: the order they arose
    (_app(inquiries_3m=3, age=19), "refer", ["RF_INQ", "RF_YOUNG"]),
    (_app(), "approve", []),
]


def _strategy_codes(reasons: list[str]) -> list[str]:
    return [r for r in reasons if not r.startswith("R0")]


@pytest.mark.parametrize(("app", "decision", "expected"), CASES)
def test_decline_reason_first_online(
    ordered: Strategy, app: dict[str, object], decision: str, expected: list[str]
) -> None:
    d = ordered.decide(app)
    assert d.decision == decision
    assert _strategy_codes(d.reasons) == expected
    if decision == "decline":
        # the models' codes come after every reason of the strategy's own
        n = len(expected)
        assert d.reasons[:n] == expected
        assert all(r.startswith("R0") for r in d.reasons[n:])


def test_scores_of_the_cases() -> None:
    """The hand-worked scores behind CASES (TINY_SPEC's points), so the cells are those meant."""
    m = PointsModel("tiny", "1", TINY_SPEC)

    def score(**kw: object) -> float:
        return m.score_row(_app(**kw), 0)[0]

    assert score(inquiries_3m=5) == pytest.approx(80 + 120 + 110 + 100)  # approve cell
    assert score(age=19, utilisation=1.2, housing="rent", inquiries_3m=2) == pytest.approx(
        40 + 30 + 75 + 130
    )  # 275: the border cell
    assert score(age=22, utilisation=1.2, housing="rent", inquiries_3m=4) == pytest.approx(
        40 + 30 + 75 + 100
    )  # 245: the declining cell


def test_batch_gives_the_same_order(ordered: Strategy) -> None:
    apps = [a for a, _, _ in CASES]
    out = ordered.decide_batch(pl.DataFrame(apps))
    for i, app in enumerate(apps):
        online = ordered.decide(app)
        assert out["decision"][i] == online.decision
        assert out["reasons"][i].to_list() == online.reasons


def test_batch_random_rows_agree(ordered: Strategy) -> None:
    import numpy as np

    rng = np.random.default_rng(7)
    n = 400
    frame = pl.DataFrame(
        {
            "age": rng.integers(18, 70, n),
            "utilisation": rng.uniform(0, 1.4, n),
            "housing": rng.choice(["own", "mortgage", "family", "rent"], n),
            "inquiries_3m": rng.integers(0, 6, n),
            "income": rng.uniform(500, 12000, n),
        }
    )
    out = ordered.decide_batch(frame)
    seen_first = set()
    for i, row in enumerate(frame.iter_rows(named=True)):
        d = ordered.decide(row)
        assert out["reasons"][i].to_list() == d.reasons
        if d.decision == "decline":
            assert d.reasons[0] in ("KO_INCOME", "SC_LOW")
            seen_first.add(d.reasons[0])
    assert seen_first == {"KO_INCOME", "SC_LOW"}


LISTED = """
strategy: listed
version: "1"
inputs:
  id_number: str
  phone: str
lists:
  blacklist: {values: ["110101199001011234"]}
  greylist: {values: ["13900000000"]}
flow:
  - lists:
      name: screen
      checks:
        - {field: phone, list: greylist, action: refer, reason: GL_PHONE}
        - {field: id_number, list: blacklist, action: decline, reason: BL_ID}
  - assign: {set: {limit: "1000", apr: "0.2", term: "12"}}
"""


def test_a_list_decline_comes_before_the_list_refer_met_first() -> None:
    s = Strategy.from_yaml(LISTED)
    rows = [
        {"id_number": "110101199001011234", "phone": "13900000000"},
        {"id_number": "x", "phone": "13900000000"},
    ]
    assert s.decide(rows[0]).reasons == ["BL_ID", "GL_PHONE"]
    assert s.decide(rows[1]).reasons == ["GL_PHONE"]
    out = s.decide_batch(pl.DataFrame(rows))
    assert [r.to_list() for r in out["reasons"]] == [["BL_ID", "GL_PHONE"], ["GL_PHONE"]]
