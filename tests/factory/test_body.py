"""The strict body reader: the flat fast path finds what the full walk finds."""

from __future__ import annotations

import json

import pytest

from creditfactory.factory import BodyError, parse_body


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400", "-1e999"])
def test_a_non_finite_number_in_a_flat_body_is_refused_naming_its_field(literal: str) -> None:
    raw = f'{{"a": 1.5, "b": "x", "income": {literal}, "c": null}}'.encode()
    with pytest.raises(BodyError) as err:
        parse_body(raw)
    assert err.value.errors[0]["loc"] == ("body", "income")


def test_finite_values_whose_sum_overflows_are_accepted() -> None:
    body = {"a": 1.7e308, "b": 1.7e308, "c": -0.5, "d": "x"}
    assert parse_body(json.dumps(body).encode()) == body


def test_a_non_finite_number_nested_is_located() -> None:
    with pytest.raises(BodyError) as err:
        parse_body(b'{"a": 1.0, "b": {"c": [1, NaN]}}')
    assert err.value.errors[0]["loc"] == ("body", "b", "c", 1)


def test_a_flat_body_with_plain_values_reads_as_json_loads() -> None:
    raw = b'{"a": 1.25, "b": 2, "c": "\\u00e9", "d": null, "e": true, "f": -0.0}'
    assert parse_body(raw) == json.loads(raw)
