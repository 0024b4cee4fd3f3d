"""Tables with categorical and numeric dimensions agree online and in batch, edge values too."""

from __future__ import annotations

import polars as pl
import pytest

from creditfactory.decision import Strategy

TEXT = """
strategy: tables
version: "1"
inputs:
  channel: {type: str, values: [app, branch, web]}
  x: {type: float, nullable: true}
  n: {type: int}
flow:
  - table:
      name: grid
      dimensions:
        channel: channel
        x: {expr: x, domain: [0, 100]}
      rows:
        - {channel: [app, web], x: [0, 50], rate: 1, label: low}
        - {channel: [app, web], x: [50, 100], rate: 2.5}
        - {channel: branch, x: any, rate: 3, decision: refer, reason: BRANCH}
      default: {rate: 0, decision: decline, reason: OUT}
  - assign:
      set:
        limit: "rate * 1000"
        term: "n"
outputs: [rate, label]
"""


@pytest.fixture(scope="module")
def tables() -> Strategy:
    return Strategy.from_yaml(TEXT)


CASES = [
    ("app", 0.0, "approve", 1.0, "low", []),
    ("web", 49.999, "approve", 1.0, "low", []),
    ("web", 50.0, "approve", 2.5, None, []),
    ("app", 99.99, "approve", 2.5, None, []),
    ("app", 100.0, "decline", 0.0, None, ["OUT"]),  # outside the domain
    ("app", -1.0, "decline", 0.0, None, ["OUT"]),
    ("app", None, "decline", 0.0, None, ["OUT"]),  # null dimension value
    ("branch", 7.0, "refer", 3.0, None, ["BRANCH"]),
    ("branch", None, "decline", 0.0, None, ["OUT"]),
]


@pytest.mark.parametrize(("channel", "x", "decision", "rate", "label", "reasons"), CASES)
def test_table_online(
    tables: Strategy, channel: str, x: float | None, decision: str, rate: float, label, reasons
) -> None:
    d = tables.decide({"channel": channel, "x": x, "n": 6})
    assert (d.decision, d.values["rate"], d.values["label"], d.reasons) == (
        decision, rate, label, reasons,
    )  # fmt: skip
    assert d.limit == (None if decision == "decline" else rate * 1000)


def test_table_batch_matches_online(tables: Strategy) -> None:
    apps = [{"channel": c, "x": x, "n": 6} for c, x, *_ in CASES]
    out = tables.decide_batch(pl.DataFrame(apps, schema={"channel": pl.String, "x": pl.Float64,
                                                          "n": pl.Int64}))  # fmt: skip
    for app, row in zip(apps, out.iter_rows(named=True), strict=True):
        d = tables.decide(app)
        assert (row["decision"], row["rate"], row["label"], row["reasons"], row["limit"]) == (
            d.decision, d.values["rate"], d.values["label"], d.reasons, d.limit,
        )  # fmt: skip
        assert row["term"] == d.term


def test_empty_frame(tables: Strategy) -> None:
    empty = pl.DataFrame(schema={"channel": pl.String, "x": pl.Float64, "n": pl.Int64})
    out = tables.decide_batch(empty)
    assert out.height == 0
    assert {"decision", "limit", "reasons", "trace", "error"} <= set(out.columns)
