"""Every missing or wrong input is reported at once, online (one InputError naming each field)
and in batch (each row's ``error`` naming each of its fields), in declaration order."""

from __future__ import annotations

import polars as pl
import pytest

from creditfactory.decision import InputError, Strategy

S = """
strategy: many
version: "1"
inputs:
  a: {type: int, min: 0, max: 5}
  b: float
  c: {type: str, values: [x, y]}
  e: {type: float, nullable: true}
flow: []
"""


def test_online_names_every_bad_field() -> None:
    s = Strategy.from_yaml(S)
    with pytest.raises(InputError) as info:
        s.decide({"a": 9, "b": "x", "c": "z"})
    assert list(info.value.fields) == ["a", "b", "c", "e"]
    assert _fields(str(info.value).split(": ", 1)[1]) == ["a", "b", "c", "e"]


def _fields(error: str) -> list[str]:
    return [part.split(":", 1)[0] for part in error.split("; ")]


def test_batch_names_every_bad_field_of_each_row() -> None:
    s = Strategy.from_yaml(S)
    frame = pl.DataFrame({"a": [9, 1, 2], "b": [1.0, 2.0, 3.0], "c": ["z", "x", "y"],
                          "e": [None, 1.0, None]})  # fmt: skip
    out = s.decide_batch(frame)
    errors = out["error"].to_list()
    assert _fields(errors[0]) == ["a", "c"]
    assert errors[1:] == [None, None]
    assert out["decision"].to_list() == ["refer", "approve", "approve"]
    assert out["reasons"][0].to_list() == ["INVALID_INPUT"]
    missing = s.decide_batch(pl.DataFrame({"a": [9]}))
    assert _fields(missing["error"][0]) == ["a", "b", "c", "e"]
