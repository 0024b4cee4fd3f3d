"""Every JSON body is read strictly: a key repeated in an object is a 422 naming it (Python's
reader, and so FastAPI's, would silently keep the last one)."""

from __future__ import annotations

import pytest
from tests.api.conftest import Api


@pytest.mark.parametrize(
    ("path", "body", "key"),
    [
        ("/v1/keys", b'{"name": "ops", "role": "read-only", "role": "admin"}', "role"),
        ("/v1/lists/blacklist/entries", b'{"field": "phone", "values": ["1"], "field": "id"}',
         "field"),
        ("/v1/strategies", b'{"source": "x", "activate": false, "activate": true}', "activate"),
        ("/v1/models", b'{"name": "m", "version": "1", "spec": {"a": 1, "a": 2}}', "a"),
        ("/v1/applications", b'{"age": 30, "age": 99}', "age"),
    ],
)  # fmt: skip
def test_a_repeated_key_is_a_422_naming_it(api: Api, path: str, body: bytes, key: str) -> None:
    headers = {**api.as_("admin"), "Content-Type": "application/json"}
    r = api.client.post(path, content=body, headers=headers)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert detail[0]["loc"] == ["body", key]
    assert "appears more than once" in detail[0]["msg"]


def test_strict_bodies_still_read_what_json_allows(api: Api) -> None:
    headers = {**api.as_("admin"), "Content-Type": "application/json"}
    ok = api.client.post("/v1/keys", content=b'{"name": "ops", "role": "analyst"}', headers=headers)
    assert ok.status_code == 201, ok.text
    utf16 = '{"name": "ops2", "role": "analyst"}'.encode("utf-16")
    assert api.client.post("/v1/keys", content=utf16, headers=headers).status_code == 201
    broken = api.client.post("/v1/keys", content=b'{"name": "\xff"}', headers=headers)
    assert broken.status_code == 422
    assert broken.json()["detail"][0]["type"] == "json_invalid"


@pytest.mark.parametrize("path", ["/v1/keys", "/v1/models", "/v1/lists/blacklist/entries"])
def test_a_body_nested_past_the_parser_is_a_422(api: Api, path: str) -> None:
    headers = {**api.as_("admin"), "Content-Type": "application/json"}
    deep = b"[" * 100_000 + b"]" * 100_000  # under the body limit, past Python's recursion
    r = api.client.post(path, content=deep, headers=headers)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["ctx"]["error"] == "nested too deeply"
