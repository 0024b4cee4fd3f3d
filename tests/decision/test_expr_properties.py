"""Property tests: the Python and Polars back-ends agree on random expressions and inputs."""

from __future__ import annotations

import math
import os

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from creditfactory.decision._expr import Expression
from creditfactory.decision._expr_types import NamedList, Type

VARS = {
    "i": Type("int"),
    "f": Type("float"),
    "ni": Type("int", True),
    "nf": Type("float", True),
    "b": Type("bool"),
    "nb": Type("bool", True),
    "s": Type("str"),
    "ns": Type("str", True),
}
DTYPES = {"int": pl.Int64, "float": pl.Float64, "bool": pl.Boolean, "str": pl.String}
LISTS = {"colours": NamedList("str", frozenset({"red", "blue"}))}
WORDS = ["red", "blue", "green", ""]

# Values on a coarse grid keep products finite and away from the edges of 64-bit integers.
ints = st.integers(-50, 50)
floats = st.integers(-400, 400).map(lambda k: k / 8)
num_vars = {"int": ["i", "ni"], "float": ["f", "nf"]}


def num_expr(depth: int) -> st.SearchStrategy[str]:
    leaves = st.one_of(
        ints.map(str),
        floats.map(lambda x: repr(x)),
        st.sampled_from(["i", "f", "ni", "nf"]),
    )
    if depth <= 0:
        return leaves
    sub = st.deferred(lambda: num_expr(depth - 1))
    return st.one_of(
        leaves,
        st.tuples(sub, st.sampled_from(["+", "-", "*", "/"]), sub).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        ),
        sub.map(lambda e: f"-{e}"),
        st.lists(sub, min_size=1, max_size=3).map(lambda xs: f"min({', '.join(xs)})"),
        st.lists(sub, min_size=1, max_size=3).map(lambda xs: f"max({', '.join(xs)})"),
        st.tuples(sub, sub, sub).map(lambda t: "clip({}, {}, {})".format(*t)),
        st.lists(sub, min_size=1, max_size=3).map(lambda xs: f"coalesce({', '.join(xs)})"),
        st.tuples(bool_expr(depth - 1), sub, sub).map(lambda t: "if({}, {}, {})".format(*t)),
        sub.map(lambda e: f"abs({e})"),
        sub.map(lambda e: f"floor({e})"),
    )


def bool_expr(depth: int) -> st.SearchStrategy[str]:
    leaves = st.one_of(
        st.sampled_from(["b", "nb", "true", "false", "null"]),
        st.tuples(st.sampled_from(["s", "ns"]), st.sampled_from(["==", "!=", "<"]),
                  st.sampled_from(WORDS)).map(lambda t: f"{t[0]} {t[1]} '{t[2]}'"),
        st.sampled_from(["s in colours", "ns not in colours", "ns in ['red', 'x']",
                         "ni in [1, 2, 3]", "is_null(nf)"]),
    )  # fmt: skip
    if depth <= 0:
        return leaves
    sub = st.deferred(lambda: bool_expr(depth - 1))
    num = num_expr(depth - 1)
    return st.one_of(
        leaves,
        st.tuples(sub, st.sampled_from(["and", "or"]), sub).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        ),
        sub.map(lambda e: f"not {e}"),
        st.tuples(num, st.sampled_from(["==", "!=", "<", "<=", ">", ">="]), num).map(
            lambda t: f"{t[0]} {t[1]} {t[2]}"
        ),
        st.tuples(sub, sub).map(lambda t: f"coalesce({t[0]}, {t[1]})"),
    )


def row_strategy() -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries(
        {
            "i": ints,
            "f": floats,
            "ni": st.none() | ints,
            "nf": st.none() | floats,
            "b": st.booleans(),
            "nb": st.none() | st.booleans(),
            "s": st.sampled_from(WORDS),
            "ns": st.none() | st.sampled_from(WORDS),
        }
    )


def frame(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={k: DTYPES[t.kind] for k, t in VARS.items()})


def same(a: object, b: object) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b and isinstance(a, bool) and isinstance(b, bool)
    if isinstance(a, str):
        return a == b
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def assert_agree(text: str, rows: list[dict]) -> None:
    expr = Expression(text, VARS, LISTS)
    online = [expr.evaluate(dict(r)) for r in rows]
    batch = frame(rows).with_columns(out=expr.polars())["out"].to_list()
    for r, a, b in zip(rows, online, batch, strict=True):
        assert same(a, b), f"{text} on {r}: python={a!r} polars={b!r}"


COMMON = settings(
    max_examples=int(os.environ.get("CF_EXAMPLES", "200")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@COMMON
@given(num_expr(3), st.lists(row_strategy(), min_size=1, max_size=8))
def test_numeric_expressions_agree(text: str, rows: list[dict]) -> None:
    assert_agree(text, rows)


@COMMON
@given(bool_expr(3), st.lists(row_strategy(), min_size=1, max_size=8))
def test_boolean_expressions_agree(text: str, rows: list[dict]) -> None:
    assert_agree(text, rows)


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(
        [
            "loan_apr(abs(f) / 100, abs(nf) * 1000 + 500, ni, 0.05)",
            "loan_apr(nf / 100 + 0.5, 10000, 12, 0.03, 0.6, abs(f) / 100)",
            "loan_return(abs(f) * 100 + 100, 0.2, 12, 0.05, nf / 10)",
            "annuity_payment(abs(f) * 100, abs(nf) / 100, ni)",
            "affordable_limit(abs(f) * 1000, abs(nf) * 100, 0.18, ni)",
            "assign_limit(abs(f) * 1000, 500, 0.2, 12, 3, 50000)",
            "expected_loss(abs(f) / 100, 0.75, 1000)",
            "loan_profit(10000, 0.18, ni, abs(f) / 100)",
            "floor_to(f * 37, 100)",
        ]
    ),
    st.lists(row_strategy(), min_size=1, max_size=8),
)
def test_pricing_functions_agree(text: str, rows: list[dict]) -> None:
    assert_agree(text, rows)
