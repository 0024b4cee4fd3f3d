"""Limits, APRs and terms no loan can carry (not finite, beyond 32 bits, above a declared cap) are
an error for that application online and a referred row in batch, with the same text."""

from __future__ import annotations

import math
from typing import Any

import polars as pl
import pytest

from creditfactory.decision import OutputError, Strategy
from creditfactory.exceptions import StrategyError

STRATEGY = """
strategy: outputs
version: "1"
inputs:
  n: {type: int, min: 0, max: 10000000000000}
  scale: {type: float, min: 0, max: 1000000000000000000000000000000}
caps: {limit: 500000, apr: 0.24, term: 120}
flow:
  - rules: {rules: [{name: ko, when: "n == 7", action: decline, reason: KO}]}
  - assign:
      set:
        limit: "scale * 1e300"
        apr: "if(n == 3, 0.3, 0.1)"
        term: "if(n > 1000, n, 12)"
"""
# (n, scale) -> the online error (None: decided)
CASES: list[tuple[dict[str, Any], str | None]] = [
    ({"n": 1, "scale": 1e-296}, None),  # a limit of 10,000
    ({"n": 1, "scale": 1e-290}, "limit: above the cap 500000"),
    ({"n": 1, "scale": 1e20}, "limit: not a finite number"),  # 1e320: infinity
    ({"n": 3, "scale": 1e-296}, "apr: above the cap 0.24"),
    ({"n": 5000, "scale": 1e-296}, "term: above the cap 120"),
    ({"n": 2**40, "scale": 1e-296}, "term: outside 0 .. 2147483647"),
    ({"n": 7, "scale": 1e20}, None),  # declined first: nothing to check
]


def test_online_and_batch_agree_on_outputs_no_loan_can_carry() -> None:
    strategy = Strategy.from_yaml(STRATEGY)
    online: list[str | None] = []
    for app, expected in CASES:
        if expected is None:
            d = strategy.decide(app)
            assert d.limit is None or math.isfinite(d.limit)
            online.append(None)
            continue
        with pytest.raises(OutputError) as info:
            strategy.decide(app)
        assert info.value.fields == [expected.split(":")[0]]
        online.append(str(info.value).split("not a loan: ")[1])
    assert online == [e for _, e in CASES]
    batch = strategy.decide_batch(pl.DataFrame([a for a, _ in CASES]))
    assert batch["error"].to_list() == online
    bad = batch.filter(pl.col("error").is_not_null())
    assert set(bad["decision"]) == {"refer"}
    assert bad["reasons"].to_list() == [["INVALID_OUTPUT"]] * bad.height
    assert bad["limit"].null_count() == bad.height


@pytest.mark.parametrize(
    ("caps", "words"),
    [
        ("{price: 1}", "'price' is not one of limit, apr, term"),
        ("{limit: -1}", "limit must be a non-negative number"),
        ("{limit: .inf}", "limit must be a non-negative number"),
        ("[1]", "caps: expected a mapping"),
    ],
)
def test_bad_caps_are_strategy_errors(caps: str, words: str) -> None:
    with pytest.raises(StrategyError, match=words):
        Strategy.from_yaml(f"strategy: t\nversion: '1'\ninputs: {{n: int}}\ncaps: {caps}\nflow: []")
