"""Unit tests of the expression language: syntax, types and the documented semantics."""

from __future__ import annotations

import polars as pl
import pytest

from creditfactory.decision._expr import Expression
from creditfactory.decision._expr_parse import ExpressionError, tokenize
from creditfactory.decision._expr_types import NamedList, Type
from creditfactory.exceptions import StrategyError

VARS = {
    "age": Type("int"),
    "income": Type("float", True),
    "thin": Type("bool"),
    "flag": Type("bool", True),
    "city": Type("str"),
}


def ev(text: str, **env: object) -> object:
    base = {"age": 30, "income": 1000.0, "thin": False, "flag": None, "city": "sh"}
    base.update(env)
    return Expression(text, VARS).evaluate(base)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("7 / 2", 3.5),
        ("6 / 3", 2.0),
        ("1 / 0", None),
        ("-age + 1", -29),
        ("age >= 18 and not thin", True),
        ("false and flag", False),
        ("true and flag", None),
        ("true or flag", True),
        ("false or flag", None),
        ("not flag", None),
        ("income * 2 > 1500", True),
        ("age in [18, 30, 40]", True),
        ("city not in ['bj', 'sh']", False),
        ("min(age, 10, income)", 10.0),
        ("max(age, 10)", 30),
        ("clip(age, 40, 60)", 40),
        ("clip(age, 40, 20)", 40),
        ("coalesce(flag, true)", True),
        ("if(age > 20, 'adult', 'young')", "adult"),
        ("if(flag, 1, 2)", 2),
        ("is_null(flag)", True),
        ("1_000 + 1e3", 2000.0),
        ("floor(7 / 2)", 3.0),
        ("loan_apr(0.05, 10000, 12, 0.02) < loan_apr(0.05, 10000, 12, 0.05)", True),
        ("loan_apr(0.05, 10000, 0, 0.02)", None),
    ],
)
def test_semantics(text: str, expected: object) -> None:
    got = ev(text)
    assert got == expected
    assert type(got) is type(expected)


def test_null_input_propagates() -> None:
    assert ev("income * 2", income=None) is None
    assert ev("income > 5", income=None) is None
    assert ev("income in [1.0]", income=None) is None
    assert ev("coalesce(income, 0) + 1", income=None) == 1


@pytest.mark.parametrize(
    ("text", "match", "pos"),
    [
        ("age > ", "expected a value, found end of expression", 6),
        ("age >> 1", "expected a value, found '>'", 5),
        ("age $ 1", "unexpected character '\\$'", 4),
        ("'abc", "unterminated string", 0),
        ("1 < age < 3", "comparisons do not chain", 8),
        ("(age + 1", "expected '\\)'", 8),
        ("age in [x]", "list items must be literal values", 8),
        ("salary > 1", "unknown variable 'salary'", 0),
        ("age + city", "'\\+' needs numbers, got int and str", 4),
        ("age and thin", "'and' needs bools, got int", 4),
        ("city > 1", "cannot compare str with int", 5),
        ("thin < true", "does not order bools", 5),
        ("city in [1, 2]", "'in' tests a str against int items", 5),
        ("age in nolist", "unknown list 'nolist'", 4),
        ("frobnicate(1)", "unknown function 'frobnicate'", 0),
        ("clip(1, 2)", "clip\\(\\) takes 3 arguments, got 2", 0),
        ("if(age, 1, 2)", "the condition must be a bool", 0),
        ("if(thin, 1, 'a')", "branches mix int and str", 0),
        ("not age", "'not' needs a bool", 0),
        ("1e999 + age", "number '1e999' is out of range", 0),
        ("age + 99999999999999999999", "does not fit 64 bits", 6),
    ],
)
def test_errors_name_problem_and_column(text: str, match: str, pos: int) -> None:
    with pytest.raises(ExpressionError, match=match) as info:
        Expression(text, VARS)
    assert info.value.pos == pos
    assert isinstance(info.value, StrategyError)


def test_tokenizer_positions() -> None:
    toks = tokenize("a<=1")
    assert [(t.kind, t.pos) for t in toks] == [("name", 0), ("op", 1), ("num", 3), ("end", 4)]


def test_named_list_both_backends() -> None:
    lists = {"bl": NamedList("str", frozenset({"110", "120"}))}
    e = Expression("city in bl", VARS, lists)
    assert e.evaluate({"city": "110"}) is True
    df = pl.DataFrame({"city": ["110", "x", None]})
    assert df.select(out=e.polars())["out"].to_list() == [True, False, None]


def test_never_uses_python_eval() -> None:
    with pytest.raises(ExpressionError):
        Expression("__import__('os')", VARS)
    with pytest.raises(ExpressionError, match="unknown variable '__class__'"):
        Expression("__class__", VARS)


def test_pathological_input_is_refused_cleanly() -> None:
    with pytest.raises(ExpressionError, match="nests too deeply"):
        Expression("(" * 3000 + "1" + ")" * 3000, VARS)
    with pytest.raises(ExpressionError, match="deeper than 200 levels"):
        Expression("1 + " * 300 + "1", VARS)
    assert Expression("1 + " * 150 + "1", VARS).evaluate({}) == 151
    with pytest.raises(ExpressionError, match="longer than"):
        Expression("1 + " * 5000 + "1", VARS)
