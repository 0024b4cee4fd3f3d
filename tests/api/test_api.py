"""The HTTP API in process (TestClient) on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import text
from tests.api.conftest import MODEL_SPEC, Api


def post_app(api: Api, body: dict[str, Any], role: str = "underwriter", **headers: str) -> Any:
    return api.client.post("/v1/applications", json=body, headers={**api.as_(role), **headers})


def test_health_and_openapi_docs(api: Api) -> None:
    assert api.client.get("/health").json() == {"status": "ok", "engine": "in-process"}
    assert api.client.get("/docs").status_code == 200
    paths = api.client.get("/openapi.json").json()["paths"]
    assert {"/v1/applications", "/v1/decisions/{decision_id}", "/v1/reviews/{review_id}"} <= set(
        paths
    )


def test_application_is_decided_stored_and_explained(
    live: Api, good_application: dict[str, Any]
) -> None:
    r = post_app(live, good_application)
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["decision"], body["limit"], body["apr"], body["term"]) == (
        "approve",
        30000.0,
        0.15,
        12,
    )
    assert body["replayed"] is False
    assert body["external_id"] == "A1"
    d = live.client.get(
        f"/v1/decisions/{body['decision_id']}", headers=live.as_("read-only")
    ).json()
    assert d["trace"] == ["service_lists", "knockouts", "offer"]
    assert d["strategy"] == "service_test"
    assert d["final_decision"] == "approve"
    assert d["review"] is None
    a = live.client.get(f"/v1/applications/{body['external_id']}", headers=live.as_("read-only"))
    masked = {"id_number": "110***********1234", "phone": "138****0000"}
    assert a.json()["payload"] == {**good_application, **masked}  # tests/api/test_pii.py
    a = live.client.get(f"/v1/applications/{body['external_id']}", headers=live.as_("admin"))
    assert a.json()["payload"] == good_application
    assert a.json()["decision"]["id"] == d["id"]
    assert live.client.get("/v1/decisions/999", headers=live.as_("admin")).status_code == 404


def test_bad_input_gives_field_level_422(live: Api, good_application: dict[str, Any]) -> None:
    bad = {**good_application, "age": 12, "monthly_income": "lots"}
    del bad["term_requested"]
    r = post_app(live, bad)
    assert r.status_code == 422
    assert r.json()["detail"] == [
        {"loc": ["body", "age"], "msg": "below minimum 18", "type": "value_error"},
        {
            "loc": ["body", "monthly_income"],
            "msg": "expected float, got str",
            "type": "value_error",
        },
        {"loc": ["body", "term_requested"], "msg": "missing", "type": "value_error"},
    ]
    not_object = live.client.post("/v1/applications", json=[1, 2], headers=live.as_("admin"))
    assert not_object.status_code == 422
    assert not_object.json()["detail"][0]["loc"] == ["body"]


def test_idempotency_key_replays_the_first_decision(
    live: Api, good_application: dict[str, Any]
) -> None:
    first = post_app(live, good_application, **{"Idempotency-Key": "retry-1"})
    again = post_app(live, good_application, **{"Idempotency-Key": "retry-1"})
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["replayed"] is True
    assert again.json()["decision_id"] == first.json()["decision_id"]
    clash = post_app(live, {**good_application, "age": 50}, **{"Idempotency-Key": "retry-1"})
    assert clash.status_code == 409
    assert "different request" in clash.json()["detail"]
    fresh = post_app(live, good_application)
    assert fresh.json()["decision_id"] != first.json()["decision_id"]


def test_no_active_strategy_is_a_conflict(api: Api, good_application: dict[str, Any]) -> None:
    r = post_app(api, good_application)
    assert r.status_code == 409
    assert "no strategy is active" in r.json()["detail"]


@pytest.mark.parametrize(
    ("role", "method", "path", "body", "status", "detail"),
    [
        ("read-only", "post", "/v1/applications", {}, 403, "role 'read-only' may not"),
        (
            "analyst",
            "post",
            "/v1/keys",
            {"name": "x", "role": "admin"},
            403,
            "role 'analyst' may not",
        ),
        (
            "underwriter",
            "post",
            "/v1/lists/blacklist/entries",
            {"field": "phone", "values": ["1"]},
            403,
            "role 'underwriter' may not",
        ),
        (
            "analyst",
            "post",
            "/v1/lists/blacklist/entries",
            {"field": "phone", "values": ["1"]},
            200,
            None,
        ),
        ("analyst", "post", "/v1/strategies/1/activate", None, 403, "role 'analyst' may not"),
        # allowed: the handler runs and finds no review 1 (a refusal would be 403)
        (
            "underwriter",
            "post",
            "/v1/reviews/1",
            {"outcome": "approve", "reason": "fine"},
            404,
            "review 1 not found",
        ),
        (
            "analyst",
            "post",
            "/v1/reviews/1",
            {"outcome": "approve", "reason": "fine"},
            403,
            "role 'analyst' may not",
        ),
        ("read-only", "get", "/v1/strategies", None, 200, None),
        ("underwriter", "get", "/v1/keys", None, 403, "role 'underwriter' may not"),
    ],
)
def test_roles(
    live: Api, role: str, method: str, path: str, body: Any, status: int, detail: str | None
) -> None:
    r = live.client.request(method.upper(), path, json=body, headers=live.as_(role))
    assert r.status_code == status, r.text
    if detail is not None:
        assert detail in r.json()["detail"]
    if path == "/v1/lists/blacklist/entries" and status == 200:
        assert r.json() == {"list": "blacklist", "field": "phone", "changed": 1}
    if path == "/v1/strategies" and status == 200:
        assert [s["name"] for s in r.json()] == ["service_test"]


def test_unknown_or_missing_key_is_401(live: Api) -> None:
    assert live.client.get("/v1/strategies").status_code == 401
    r = live.client.get("/v1/strategies", headers={"X-API-Key": "nope"})
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == "APIKey"


def test_keys_create_and_revoke(api: Api) -> None:
    r = api.client.post(
        "/v1/keys", json={"name": "ops", "role": "underwriter"}, headers=api.as_("admin")
    )
    assert r.status_code == 201
    secret, key_id = r.json()["key"], r.json()["id"]
    assert api.client.get("/v1/strategies", headers={"X-API-Key": secret}).status_code == 200
    assert all("key" not in k for k in api.client.get("/v1/keys", headers=api.as_("admin")).json())
    api.client.delete(f"/v1/keys/{key_id}", headers=api.as_("admin"))
    assert api.client.get("/v1/strategies", headers={"X-API-Key": secret}).status_code == 401
    bad = api.client.post("/v1/keys", json={"name": "x", "role": "boss"}, headers=api.as_("admin"))
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "role"]


def test_strategies_upload_activate_rollback(
    api: Api, strategy_yaml: str, strategy_yaml_v2: str, good_application: dict[str, Any]
) -> None:
    admin, analyst = api.as_("admin"), api.as_("analyst")
    v1 = api.client.post("/v1/strategies", json={"source": strategy_yaml}, headers=analyst).json()
    v2 = api.client.post(
        "/v1/strategies", json={"source": strategy_yaml_v2}, headers=analyst
    ).json()
    broken = api.client.post(
        "/v1/strategies",
        json={"source": strategy_yaml.replace("< 3000", "< salary")},
        headers=analyst,
    )
    assert broken.status_code == 422
    assert "unknown variable 'salary'" in broken.json()["detail"]
    dup = api.client.post("/v1/strategies", json={"source": strategy_yaml}, headers=analyst)
    assert dup.status_code == 409
    api.client.post(f"/v1/strategies/{v1['id']}/activate", headers=admin)
    api.client.post(f"/v1/strategies/{v2['id']}/activate", headers=admin)
    assert post_app(api, good_application).json()["limit"] == 20000.0  # v2: 2 x income
    back = api.client.post("/v1/strategies/rollback", headers=admin).json()
    assert back["version"] == "1"
    assert back["active"] is True
    assert post_app(api, good_application).json()["limit"] == 30000.0
    listed = api.client.get("/v1/strategies", headers=analyst).json()
    assert [(s["version"], s["active"]) for s in listed] == [("1", True), ("2", False)]
    src = api.client.get(f"/v1/strategies/{v2['id']}", headers=analyst).json()
    assert src["source"] == strategy_yaml_v2


def test_model_registration(api: Api) -> None:
    spec = MODEL_SPEC
    h = api.as_("analyst")
    assert (
        api.client.post(
            "/v1/models", json={"name": "a", "version": "1", "spec": spec}, headers=h
        ).status_code
        == 201
    )
    bad = api.client.post("/v1/models", json={"name": "b", "version": "1", "spec": {}}, headers=h)
    assert bad.status_code == 422
    assert "scoring_spec" in bad.json()["detail"]
    assert [m["name"] for m in api.client.get("/v1/models", headers=h).json()] == ["a"]


def test_lists_hash_identifiers_and_change_decisions(
    live: Api, good_application: dict[str, Any]
) -> None:
    h = live.as_("analyst")
    phone = good_application["phone"]
    r = live.client.post(
        "/v1/lists/blacklist/entries", json={"field": "phone", "values": [phone]}, headers=h
    )
    assert r.json()["changed"] == 1
    declined = post_app(live, good_application).json()
    assert declined["decision"] == "decline"
    assert declined["reasons"] == ["LIST_BLACKLIST_PHONE"]
    store = live.client.app.state.store  # type: ignore[attr-defined]
    with store.engine.connect() as conn:
        for table in ("list_entries", "ledger"):
            rows = conn.execute(text(f"select * from {table}")).all()
            assert phone not in repr(rows)
    assert live.client.get("/v1/lists", headers=h).json() == [
        {"list": "blacklist", "field": "phone", "entries": 1}
    ]
    live.client.post(
        "/v1/lists/blacklist/remove", json={"field": "phone", "values": [phone]}, headers=h
    )
    assert post_app(live, good_application).json()["decision"] == "approve"


def test_lists_screen_only_where_the_active_strategy_names_them(
    live: Api, strategy_yaml: str, good_application: dict[str, Any]
) -> None:
    """A list added through the API applies at the next decision of a strategy that checks it,
    and to no decision of one that does not (lists are a strategy step, issue 13)."""
    analyst, admin = live.as_("analyst"), live.as_("admin")
    body = {"field": "id_number", "values": [good_application["id_number"]]}
    live.client.post("/v1/lists/greylist/entries", json=body, headers=analyst)
    referred = post_app(live, good_application).json()
    assert (referred["decision"], referred["reasons"]) == ("refer", ["LIST_GREYLIST_ID_NUMBER"])
    head, rest = strategy_yaml.split("lists:\n", 1)  # the same strategy without its lists
    unlisted = head + "flow:\n  - rules:" + rest.split("  - rules:", 1)[1]
    unlisted = unlisted.replace('version: "1"', 'version: "no-lists"')
    r = live.client.post("/v1/strategies", json={"source": unlisted, "activate": True},
                         headers=admin)  # fmt: skip
    assert r.status_code == 201, r.text
    plain = post_app(live, {**good_application, "application_id": "A2"}).json()
    assert (plain["version"], plain["decision"], plain["reasons"]) == ("no-lists", "approve", [])
    got = live.client.get(f"/v1/decisions/{plain['decision_id']}", headers=analyst).json()
    assert got["list_hits"] == []


def test_review_queue_and_override(live: Api, good_application: dict[str, Any]) -> None:
    refer = post_app(live, {**good_application, "inquiries_3m": 5}).json()
    assert refer["decision"] == "refer"
    assert refer["review"]["status"] == "pending"
    queue = live.client.get("/v1/reviews", headers=live.as_("underwriter")).json()
    assert [q["decision_id"] for q in queue] == [refer["decision_id"]]
    short = live.client.post(
        f"/v1/reviews/{queue[0]['id']}",
        json={"outcome": "approve", "reason": ""},
        headers=live.as_("underwriter"),
    )
    assert short.status_code == 422
    assert short.json()["detail"][0]["loc"] == ["body", "reason"]
    done = live.client.post(
        f"/v1/reviews/{queue[0]['id']}",
        json={"outcome": "decline", "reason": "payslip forged"},
        headers=live.as_("underwriter"),
    ).json()
    assert (done["decision"], done["final_decision"]) == ("refer", "decline")
    assert done["review"]["reason"] == "payslip forged"
    assert done["review"]["reviewer"] == "underwriter"
    assert live.client.get("/v1/reviews", headers=live.as_("underwriter")).json() == []
    again = live.client.post(
        f"/v1/reviews/{queue[0]['id']}",
        json={"outcome": "approve", "reason": "oops"},
        headers=live.as_("underwriter"),
    )
    assert again.status_code == 409


def test_every_write_is_in_the_ledger_and_it_verifies(
    live: Api, good_application: dict[str, Any]
) -> None:
    post_app(live, good_application)
    live.client.post(
        "/v1/lists/greylist/entries",
        json={"field": "phone", "values": ["1"]},
        headers=live.as_("analyst"),
    )
    entries = live.client.get("/v1/audit/entries", headers=live.as_("read-only")).json()
    kinds = [e["kind"] for e in entries]
    assert kinds[-4:] == ["strategy.upload", "strategy.activate", "decision", "list.add"]
    assert {e["actor"] for e in entries[-4:]} == {"admin", "underwriter", "analyst"}
    v = live.client.get("/v1/audit/verify", headers=live.as_("read-only")).json()
    assert v["ok"] is True
    assert v["checked"] == len(entries)
    store = live.client.app.state.store  # type: ignore[attr-defined]
    with store.engine.begin() as conn:
        conn.execute(text('UPDATE decisions SET "limit" = 99999'))
    v = live.client.get("/v1/audit/verify", headers=live.as_("read-only")).json()
    assert v["ok"] is False
    assert v["first_problem"]["problem"] == "record-altered"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"application_id": "A\u0000B"}, "application_id"),
        ({"notes": {"text": ["ok", "bad\u0000"]}}, "notes.text[1]"),
        ({"x\u0000y": 1}, "x\\u0000y"),
    ],
    ids=["top-level", "nested", "key"],
)
def test_a_nul_character_is_a_422_naming_the_field_on_every_database(
    live: Api, good_application: dict[str, Any], change: dict[str, Any], field: str
) -> None:
    """PostgreSQL text cannot hold U+0000: the service refuses it up front (on SQLite too), and
    nothing is stored."""
    r = post_app(live, {**good_application, **change})
    assert r.status_code == 422, r.text
    [error] = r.json()["detail"]
    assert error["loc"] == ["body", field]
    assert "U+0000" in error["msg"]
    stored = post_app(live, {**good_application, "application_id": "after"})
    assert stored.status_code == 201
    assert stored.json()["application_id"] == 1  # the refused one took no id


@pytest.mark.parametrize(
    ("escaped", "field"),
    [
        (b'"application_id": "A\\ud800B"', "application_id"),
        (b'"notes": {"text": ["ok", "bad\\udfff"]}', "notes.text[1]"),
        (b'"x\\ud800y": 1', "x\\ud800y"),
    ],
    ids=["top-level", "nested", "key"],
)
def test_an_unpaired_surrogate_is_a_422_naming_the_field_on_every_database(
    live: Api, good_application: dict[str, Any], escaped: bytes, field: str
) -> None:
    """JSON can escape half a surrogate pair; no database can store it (UTF-8 has none). It was
    a 500 (the writer failed encoding it); now a 422, and nothing is stored."""
    rest = {k: v for k, v in good_application.items() if k != "application_id"}  # not twice
    body = json.dumps(rest).encode()[:-1] + b", " + escaped + b"}"
    r = live.client.post(
        "/v1/applications", content=body,
        headers={**live.as_("analyst"), "Content-Type": "application/json"},
    )  # fmt: skip
    assert r.status_code == 422, r.text
    [error] = r.json()["detail"]
    assert error["loc"] == ["body", field]
    assert "unpaired surrogate" in error["msg"]
    stored = post_app(live, {**good_application, "application_id": "after"})
    assert stored.json()["application_id"] == 1  # the refused one took no id


@pytest.mark.parametrize(
    ("path", "body", "loc"),
    [
        ("/v1/lists/blacklist/entries", b'{"field": "phone", "values": ["1", "2\\ud800"]}',
         ["body", "values", 1]),
        ("/v1/lists/blacklist/entries", b'{"field": "phone", "values": ["1"], "note": "a\\u0000"}',
         ["body", "note"]),
        ("/v1/keys", b'{"name": "n\\ud800", "role": "analyst"}', ["body", "name"]),
        ("/v1/keys", b'{"name": "n\\u0000", "role": "analyst"}', ["body", "name"]),
        ("/v1/strategies", b'{"source": "strategy: x\\ud800"}', ["body", "source"]),
        ("/v1/models", b'{"name": "m", "version": "1", "spec": {"a": ["\\u0000"]}}',
         ["body", "spec"]),
        ("/v1/reviews/1", b'{"outcome": "approve", "reason": "fine\\u0000"}', ["body", "reason"]),
        ("/v1/reviews/1", b'{"outcome": "approve", "reason": NaN}', ["body", "reason"]),
    ],
    ids=["list-value", "list-note", "key-surrogate", "key-nul", "strategy", "model-spec",
         "review-nul", "review-nan"],
)  # fmt: skip
def test_texts_no_database_can_store_are_422s_on_every_endpoint(
    live: Api, path: str, body: bytes, loc: list[Any]
) -> None:
    """U+0000 (PostgreSQL refuses it) and unpaired surrogates (UTF-8 has none) in any request
    text: a 422 naming the field (the error echoing the input as an escape), never a 500."""
    r = live.client.post(
        path, content=body, headers={**live.as_("admin"), "Content-Type": "application/json"}
    )
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == loc
    assert live.client.get("/v1/lists", headers=live.as_("admin")).json() == []
