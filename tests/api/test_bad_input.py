"""Bad applications over HTTP: repeated keys and numbers no field can hold are 422s naming the
field; absurd but finite numbers are refused by the strategy's declared maxima."""

from __future__ import annotations

import json
from typing import Any

import pytest
from tests.api.conftest import Api

from creditfactory.factory import BodyError, parse_body


def _post_raw(api: Api, raw: bytes) -> Any:
    headers = {**api.as_("admin"), "Content-Type": "application/json"}
    return api.client.post("/v1/applications", content=raw, headers=headers)


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b'{"age": 30, "age": 99}', "age"),
        (b'{"age": 30, "\\u0061ge": 99}', "age"),  # the same key, escaped
        (b'{"x": {"phone": "1", "phone": "2"}, "age": 30}', "phone"),  # nested
        ('{"name": "Zo\u00eb", "name": "Zoe"}'.encode("utf-16"), "name"),  # UTF-16 body
    ],
)
def test_a_repeated_key_is_a_422_naming_it(raw: bytes, field: str) -> None:
    with pytest.raises(BodyError) as info:
        parse_body(raw)
    (error,) = info.value.errors
    assert error["loc"] == ("body", field)
    assert "more than once" in error["msg"]


def test_keys_only_alike_are_not_repeated() -> None:
    raw = b'{"a": {"k": 1}, "b": {"k": 2}, "t": "10:00:00", "k": [{"k": 1}, {"k": 2}]}'
    assert parse_body(raw)["t"] == "10:00:00"


def test_repeated_keys_over_http(live: Api, good_application: dict[str, Any]) -> None:
    body = json.dumps(good_application)[:-1] + ', "age": 99}'
    r = _post_raw(live, body.encode())
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == ["body", "age"]
    assert _post_raw(live, json.dumps(good_application).encode()).status_code == 201


@pytest.mark.parametrize(
    ("field", "text"),
    [
        ("monthly_income", "1" + "0" * 400),  # too large for a float
        ("monthly_income", "-" + "9" * 400),
        ("inquiries_3m", str(2**63)),  # beyond a 64-bit int
        ("inquiries_3m", str(-(2**63) - 1)),
        ("inquiries_3m", "1e30"),  # an integral float beyond int64
        ("monthly_income", "1e308"),  # finite, above the declared maximum
    ],
)
def test_numbers_no_field_can_hold_are_422s_naming_the_field(
    live: Api, good_application: dict[str, Any], field: str, text: str
) -> None:
    body = json.dumps({**good_application, field: "@@"}).replace('"@@"', text)
    r = _post_raw(live, body.encode())
    assert r.status_code == 422, r.text
    assert [e["loc"] for e in r.json()["detail"]] == [["body", field]]
    assert _post_raw(live, json.dumps(good_application).encode()).status_code == 201
