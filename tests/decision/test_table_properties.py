"""Property tests of decision-table checking: a tiling loads, a missing row is a gap, a doubled
row an overlap, and every value finds the row whose bands contain it."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from creditfactory.decision import Strategy
from creditfactory.exceptions import StrategyError

HEAD = """strategy: t
version: "1"
inputs: {a: float, b: float}
flow:
  - table:
      name: grid
      dimensions: {a: a, b: b}
      rows:
"""

cuts = st.lists(st.integers(-50, 50), min_size=0, max_size=4, unique=True).map(sorted)


def bands(points: list[int]) -> list[tuple[int | None, int | None]]:
    edges = [None, *points, None]
    return list(itertools.pairwise(edges))


def fmt(band: tuple) -> str:
    lo, hi = ("null" if x is None else x for x in band)
    return f"[{lo}, {hi}]"


def yaml_row(a: tuple, b: tuple, value: int) -> str:
    return f"        - {{a: {fmt(a)}, b: {fmt(b)}, v: {value}}}\n"


def grid(ca: list[int], cb: list[int]) -> list[tuple[tuple, tuple, int]]:
    return [(a, b, k) for k, (a, b) in enumerate(itertools.product(bands(ca), bands(cb)))]


def inside(band: tuple, x: float) -> bool:
    return (band[0] is None or x >= band[0]) and (band[1] is None or x < band[1])


@settings(max_examples=40, deadline=None)
@given(cuts, cuts, st.lists(st.tuples(st.integers(-60, 60), st.integers(-60, 60)), max_size=10))
def test_tiling_loads_and_finds_the_right_row(ca, cb, points) -> None:
    rows = grid(ca, cb)
    s = Strategy.from_yaml(HEAD + "".join(yaml_row(a, b, v) for a, b, v in rows))
    for x, y in [*points, *((c, c) for c in ca + cb)]:
        want = [v for a, b, v in rows if inside(a, x) and inside(b, y)]
        assert len(want) == 1
        assert s.decide({"a": float(x), "b": float(y)}).to_dict()["trace"] == ["grid"]
        assert s._c.steps[0].rows[s._c.steps[0].lookup.row({"a": x, "b": y})]["v"] == want[0]


@settings(max_examples=30, deadline=None)
@given(cuts, cuts, st.data())
def test_missing_row_is_a_gap_and_double_row_an_overlap(ca, cb, data) -> None:
    rows = grid(ca, cb)
    k = data.draw(st.integers(0, len(rows) - 1))
    missing = [r for i, r in enumerate(rows) if i != k]
    if missing:
        with pytest.raises(StrategyError, match="gap: no row covers"):
            Strategy.from_yaml(HEAD + "".join(yaml_row(a, b, v) for a, b, v in missing))
    doubled = [*rows, (rows[k][0], rows[k][1], 99)]
    with pytest.raises(StrategyError, match="overlap: rows at lines"):
        Strategy.from_yaml(HEAD + "".join(yaml_row(a, b, v) for a, b, v in doubled))
