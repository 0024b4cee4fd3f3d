"""``POST /v1/applications`` reads its headers and body itself: same answers as FastAPI's."""

from __future__ import annotations

import json
from typing import Annotated, Any

import pytest
from fastapi import Body, FastAPI, Header
from fastapi.testclient import TestClient
from tests.api.conftest import Api


def _reference() -> TestClient:
    """What FastAPI answers for a ``dict`` body and a length-limited header."""
    app = FastAPI()

    @app.post("/v1/applications")
    def create(
        application: Annotated[dict[str, Any], Body()],
        idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
    ) -> dict[str, str]:
        return {"ok": "yes"}

    return TestClient(app)


@pytest.mark.parametrize(
    ("content", "headers"),
    [
        (b"{not json", {}),
        (b"[1, 2]", {}),
        (b"", {}),
        (b'"text"', {}),
        (b'{"age": 30}', {"Idempotency-Key": "k" * 201}),
    ],
    ids=["invalid-json", "array", "empty", "string", "long-idempotency-key"],
)
def test_validation_errors_match_fastapi(
    live: Api, content: bytes, headers: dict[str, str]
) -> None:
    head = {"Content-Type": "application/json", **headers}
    ours = live.client.post(
        "/v1/applications", content=content, headers={**head, **live.as_("underwriter")}
    )
    theirs = _reference().post("/v1/applications", content=content, headers=head)
    assert ours.status_code == theirs.status_code == 422
    strip = [{k: e[k] for k in ("type", "loc", "msg")} for e in theirs.json()["detail"]]
    assert [{k: e[k] for k in ("type", "loc", "msg")} for e in ours.json()["detail"]] == strip


def test_authentication_comes_before_the_body(live: Api) -> None:
    anonymous = live.client.post("/v1/applications", content=b"{not json")
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"] == "APIKey"
    read_only = live.client.post("/v1/applications", json=[1], headers=live.as_("read-only"))
    assert read_only.status_code == 403


def test_openapi_still_documents_key_header_and_body(live: Api) -> None:
    op = live.client.get("/openapi.json").json()["paths"]["/v1/applications"]["post"]
    assert op["security"] == [{"APIKeyHeader": []}]
    assert [p["name"] for p in op["parameters"]] == ["idempotency-key", "lang"]
    assert op["requestBody"]["content"]["application/json"]["schema"]["type"] == "object"
    assert "201" in op["responses"]


@pytest.mark.parametrize(
    ("tail", "loc", "words"),
    [
        (', "bonus": NaN}', ["body", "bonus"], "finite number"),
        (', "extra": 1e400}', ["body", "extra"], "finite number"),
        (', "notes": {"a": [1, -Infinity]}}', ["body", "notes", "a", 1], "finite number"),
        (', "deep": ' + "[" * 40 + "]" * 40 + "}", ["body", "deep", *[0] * 31], "32 levels"),
        (', "deep": ' + "[" * 100_000 + "]" * 100_000 + "}", ["body"], "JSON decode error"),
    ],
    ids=["nan", "overflow", "nested-infinity", "too-deep", "beyond-the-parser"],
)
def test_what_python_reads_but_json_is_not_is_a_422_naming_where(
    live: Api, good_application: dict[str, Any], tail: str, loc: list[Any], words: str
) -> None:
    """NaN and Infinity tokens, numbers beyond a float and absurd nesting: Python's JSON reader
    accepts the first three (the service would have stored null); none reaches the database."""
    body = json.dumps(good_application)[:-1] + tail
    r = live.client.post(
        "/v1/applications", content=body.encode(),
        headers={"Content-Type": "application/json", **live.as_("underwriter")},
    )  # fmt: skip
    assert r.status_code == 422, r.text
    [error] = r.json()["detail"]
    assert error["loc"] == loc
    assert words in error["msg"]
    after = live.client.post("/v1/applications", json=good_application, headers=live.as_("admin"))
    assert (after.status_code, after.json()["application_id"]) == (201, 1)  # nothing stored
