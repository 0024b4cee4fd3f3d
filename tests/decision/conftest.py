"""A tiny model satisfying the DecisionModel protocol and a strategy using every step kind."""

from __future__ import annotations

import pytest

from creditfactory.decision import ModelRegistry, PointsModel, Strategy

TINY_SPEC = {
    "format": "creditfactory.scoring_spec",
    "format_version": 1,
    "scaling": {"factor": 28.853900817779268, "offset": 330.0},
    "characteristics": [
        {"name": "age", "kind": "numerical", "code": "R001", "missing_points": 50.0,
         "special": [], "upper_edges": [25.0, 35.0, 50.0], "points": [40.0, 60.0, 80.0, 90.0]},
        {"name": "utilisation", "kind": "numerical", "code": "R002", "missing_points": 55.0,
         "special": [{"value": -1.0, "points": 45.0}], "upper_edges": [0.3, 0.7, 1.0],
         "points": [120.0, 90.0, 60.0, 30.0]},
        {"name": "housing", "kind": "categorical", "code": "R003", "missing_points": 70.0,
         "special": [], "groups": [["own"], ["mortgage", "family"], ["rent"]],
         "points": [110.0, 95.0, 75.0]},
        {"name": "inquiries_3m", "kind": "numerical", "code": "R004", "missing_points": 60.0,
         "special": [], "upper_edges": [1.0, 3.0], "points": [150.0, 130.0, 100.0]},
    ],
}  # fmt: skip

FULL = """
strategy: full
version: "2.1"
description: every step kind
key: application_id
inputs:
  application_id: str
  id_number: str
  phone: {type: str, nullable: true}
  age: {type: int, min: 0, max: 120}
  monthly_income: {type: float, min: 0}
  bureau_monthly_debt: {type: float, min: 0}
  utilisation: {type: float, nullable: true, min: -1, max: 1.5}
  housing: {type: str, values: [own, mortgage, family, rent]}
  inquiries_3m: {type: int, min: 0}
  thin_file: bool
  channel: {type: str, values: [app, branch, ecommerce]}
  term_requested: {type: int, min: 1, max: 60}
params:
  max_apr: 0.24
  min_limit: 1000
lists:
  blacklist: {values: ["110101199001011234", "13800000000"]}
  greylist: {values: ["13900000000"]}
  staff: {values: ["110101198001010000"]}
models:
  ascore: {name: tiny, version: "1"}
flow:
  - lists:
      name: list_checks
      checks:
        - {field: id_number, list: blacklist, action: decline, reason: BL_ID}
        - {field: phone, list: blacklist, action: decline, reason: BL_PHONE}
        - {field: phone, list: greylist, action: refer, reason: GL_PHONE}
        - {field: id_number, list: staff, action: none, bind: is_staff}
  - rules:
      name: knockouts
      rules:
        - {name: underage, when: "age < 18", action: decline, reason: KO_AGE}
        - {name: too_old, when: "age > 65", action: decline, reason: KO_AGE_MAX}
        - {name: no_income, when: "monthly_income < 1500", action: decline, reason: KO_INC}
        - {name: hot, when: "inquiries_3m >= 6", action: decline, reason: KO_INQ}
        - {name: maxed, when: "utilisation > 1.2", action: refer, reason: RF_UTIL}
        - {name: staff, when: "is_staff", action: refer, reason: RF_STAFF}
  - model:
      name: score
      model: ascore
      bind: {score: a_score, pd: a_pd}
      reasons: 2
  - assign:
      name: affordability
      set:
        dti: "bureau_monthly_debt / monthly_income"
  - table:
      name: matrix
      dimensions:
        score: a_score
        dti: {expr: dti, domain: [0, null]}
      rows:
        - {score: [null, 300], dti: any, decision: decline, reason: SC_LOW}
        - {score: [300, 360], dti: [0, 0.4], decision: refer, reason: SC_MID, multiple: 1}
        - {score: [300, 360], dti: [0.4, null], decision: decline, reason: DTI_HIGH}
        - {score: [360, null], dti: [0, 0.5], decision: approve, multiple: 3, tier: A}
        - {score: [360, null], dti: [0.5, null], decision: refer, reason: DTI_MID, multiple: 2, tier: B}
      default: {decision: refer, reason: NO_CELL}
  - split:
      name: cc
      key: application_id
      salt: test
      arms:
        - name: champion
          share: 0.7
          flow:
            - assign:
                name: price_champion
                set:
                  apr: "min(loan_apr(a_pd, monthly_income * 3, term_requested, 0.02), max_apr)"
        - name: challenger
          share: 0.3
          flow:
            - assign:
                name: price_challenger
                set:
                  apr: "min(loan_apr(a_pd, monthly_income * 3, term_requested, 0.04), max_apr)"
  - assign:
      name: limits
      set:
        term: "if(channel == 'ecommerce', min(term_requested, 12), term_requested)"
        limit: >-
          assign_limit(monthly_income, bureau_monthly_debt, apr, term,
                       coalesce(multiple, 0), if(channel == 'branch', 200000, 50000))
  - rules:
      name: post
      rules:
        - {name: small, when: "limit < min_limit", action: decline, reason: LIM_SMALL}
        - name: apr_cap
          when: "loan_apr(a_pd, monthly_income * 3, term_requested) > max_apr"
          action: refer
          reason: APR_CAP
outputs: [a_score, a_pd, tier, dti, is_staff]
"""  # noqa: E501


@pytest.fixture(scope="session")
def tiny_model() -> PointsModel:
    return PointsModel("tiny", "1", TINY_SPEC)


@pytest.fixture(scope="session")
def registry(tiny_model: PointsModel) -> ModelRegistry:
    return ModelRegistry([tiny_model])


@pytest.fixture(scope="session")
def full(registry: ModelRegistry) -> Strategy:
    return Strategy.from_yaml(FULL, registry)


GOOD = {
    "application_id": "A0000001",
    "id_number": "110101199202021111",
    "phone": "13712345678",
    "age": 35,
    "monthly_income": 12000.0,
    "bureau_monthly_debt": 1500.0,
    "utilisation": 0.2,
    "housing": "own",
    "inquiries_3m": 0,
    "thin_file": False,
    "channel": "app",
    "term_requested": 12,
}
