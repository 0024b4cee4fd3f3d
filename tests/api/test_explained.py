"""The service as a client sees it: reasons explained in English and Chinese, adverse-action
texts, rounding, the client's own ids, the review queue, the strategy's OpenAPI body, offline
docs (real HTTP through the app, on SQLite and PostgreSQL)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from tests.api.conftest import ADMIN, MODEL_SPEC, Api

from creditfactory.api import Settings, create_app

EXPLAINED = """
strategy: explained
version: "{version}"
key: application_id
inputs:
  application_id: str
  id_number: str
  phone: {{type: str, nullable: true}}
  age: {{type: int, min: 18, max: 100}}
  monthly_income: {{type: float, min: 0, max: 10000000}}
  amount_requested: {{type: float, min: 0, max: 500000}}
  inquiries_3m: {{type: int, min: 0, max: 1000}}
  housing: {{type: str, values: [own, rent]}}
  term_requested: {{type: int, min: 1, max: 60}}{extra}
models:
  ascore: {{name: tiny, version: "1"}}
lists:
  blocked_phones: {{values: ["13800000099"]}}
reasons:
  KO_INCOME:
    en: "Monthly income {{monthly_income}} is below 3,000"
    zh-CN: "月收入{{monthly_income}}低于3,000"
  RF_INQUIRIES: {{en: "Many recent credit inquiries", zh-CN: "近期征信查询较多"}}
  RF_RING: {{en: "Linked to a fraud ring", zh-CN: "关联欺诈团伙", tell: false}}
flow:
  - lists:
      name: screen
      checks:
        - {{field: phone, list: blocked_phones, action: decline, reason: BL_PHONE}}
  - model: {{name: score, model: ascore, bind: {{score: a_score}}, reasons: 2}}
  - rules:
      name: checks
      rules:
        - {{name: shopping, when: "inquiries_3m >= 4", action: refer, reason: RF_INQUIRIES}}
        - {{name: ring, when: "phone == '13900000001'", action: refer, reason: RF_RING}}
        - {{name: low_income, when: "monthly_income < 3000", action: decline, reason: KO_INCOME}}
  - assign:
      name: offer
      set:
        limit: "monthly_income * 3.3333333"
        apr: "0.1234567"
        term: "term_requested"
outputs: [a_score]
"""

APP = {
    "application_id": "C-001", "id_number": "110101199001011234", "phone": "13800000000",
    "age": 40, "monthly_income": 10000.0, "amount_requested": 20000.0, "inquiries_3m": 0,
    "housing": "own", "term_requested": 12,
}  # fmt: skip


def _setup(api: Api, version: str = "1", extra: str = "") -> None:
    h = api.as_("admin")
    if version == "1":
        spec = {**MODEL_SPEC}
        r = api.client.post("/v1/models", json={"name": "tiny", "version": "1", "spec": spec},
                            headers=h)  # fmt: skip
        assert r.status_code == 201, r.text
    source = EXPLAINED.format(version=version, extra=extra)
    r = api.client.post("/v1/strategies", json={"source": source, "activate": True}, headers=h)
    assert r.status_code == 201, r.text


@pytest.fixture
def explained(api: Api) -> Api:
    _setup(api)
    return api


def post(api: Api, body: dict[str, Any], query: str = "", **headers: str) -> Any:
    h = {**api.as_("underwriter"), **headers}
    return api.client.post(f"/v1/applications{query}", json=body, headers=h)


def test_decline_names_its_cause_first_with_texts_and_values(explained: Api) -> None:
    # MODEL_SPEC: age < 25 scores 20 points, the best bin 40: "−20 points"
    body = {**APP, "age": 22, "inquiries_3m": 5, "monthly_income": 2000.0}
    r = post(explained, body)
    assert r.status_code == 201, r.text
    a = r.json()
    assert a["decision"] == "decline"
    assert a["reasons"] == ["KO_INCOME", "RF_INQUIRIES", "R001"]  # the refer arose first
    assert a["lang"] == "en"
    texts = [e["text"] for e in a["explanations"]]
    assert texts == [
        "Monthly income 2,000 is below 3,000",
        "Many recent credit inquiries",
        "Age: 22 (−20 points)",
    ]
    model = a["explanations"][2]
    assert (model["feature"], model["value"], model["points"]) == ("age", 22, -20.0)
    assert a["adverse_action"] == [
        {"code": c, "text": t} for c, t in zip(a["reasons"], texts, strict=True)
    ]
    # the stored decision says the same, read back
    d = explained.client.get(f"/v1/decisions/{a['decision_id']}", headers=explained.as_("admin"))
    assert [e["text"] for e in d.json()["explanations"]] == texts
    assert d.json()["adverse_action"] == a["adverse_action"]


@pytest.mark.parametrize(
    ("query", "headers"),
    [("?lang=zh-CN", {}), ("", {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}),
     ("?lang=zh", {"Accept-Language": "en"})],
    ids=["query", "accept-language", "query-wins"],
)  # fmt: skip
def test_chinese_texts(explained: Api, query: str, headers: dict[str, str]) -> None:
    body = {**APP, "age": 22, "inquiries_3m": 5, "monthly_income": 2000.0}
    a = post(explained, body, query, **headers).json()
    assert a["lang"] == "zh-CN"
    assert [e["text"] for e in a["explanations"]] == [
        "月收入2,000低于3,000",
        "近期征信查询较多",
        "年龄：22（−20分）",
    ]


def test_an_unknown_language_is_a_422_naming_lang(explained: Api) -> None:
    r = post(explained, APP, "?lang=fr")
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["query", "lang"]
    r = explained.client.get("/v1/decisions/1?lang=klingon", headers=explained.as_("admin"))
    assert r.status_code == 422


def test_the_settings_language_is_the_default(db_url: str) -> None:
    from fastapi.testclient import TestClient

    settings = Settings(
        database_url=db_url, admin_key=ADMIN, qc_rate=0.0, engine_process=False, lang="zh-CN"
    )
    app = create_app(settings)
    try:
        with TestClient(app) as client:
            api = Api(client, {"admin": {"X-API-Key": ADMIN}, "underwriter": {"X-API-Key": ADMIN}})
            _setup(api)
            a = post(api, {**APP, "monthly_income": 2000.0}).json()
            assert a["lang"] == "zh-CN"
            assert a["explanations"][0]["text"] == "月收入2,000低于3,000"
            a = post(api, {**APP, "monthly_income": 2000.0}, **{"Accept-Language": "en"}).json()
            assert a["explanations"][0]["text"] == "Monthly income 2,000 is below 3,000"
    finally:
        app.state.store.dispose()


def test_fraud_and_list_reasons_are_not_told(explained: Api) -> None:
    a = post(explained, {**APP, "phone": "13900000001"}).json()
    assert (a["decision"], a["reasons"]) == ("refer", ["RF_RING"])
    assert a["explanations"][0]["tell"] is False
    assert a["adverse_action"] == [
        {"code": "GENERAL", "text": "The application did not meet our lending criteria"}
    ]
    # a list hit: staff read it, the applicant is never told it
    a = post(explained, {**APP, "application_id": "C-002", "phone": "13800000099"}).json()
    assert (a["decision"], a["reasons"]) == ("decline", ["BL_PHONE"])
    hit = a["explanations"][0]
    assert (hit["code"], hit["kind"], hit["tell"]) == ("BL_PHONE", "list", False)
    assert "blocked_phones" in hit["text"]  # the check itself, for staff
    assert [x["code"] for x in a["adverse_action"]] == ["GENERAL"]


def test_money_to_the_fen_and_apr_to_four_places(explained: Api) -> None:
    # limit = 10,000 x 3.3333333 = 33,333.333 -> 33,333.33; apr 0.1234567 -> 0.1235
    a = post(explained, APP).json()
    assert (a["decision"], a["limit"], a["apr"]) == ("approve", 33333.33, 0.1235)
    assert (a["explanations"], a["adverse_action"]) == ([], [])
    d = explained.client.get(f"/v1/decisions/{a['decision_id']}", headers=explained.as_("admin"))
    assert (d.json()["limit"], d.json()["apr"]) == (33333.33, 0.1235)


@pytest.mark.parametrize(
    ("value", "fen", "four"),
    [(1234.565, 1234.57, 1234.565), (0.18325, 0.18, 0.1833), (2.675, 2.68, 2.675),
     (0.123449999, 0.12, 0.1234), (-1.005, -1.01, -1.005), (None, None, None)],
)  # fmt: skip
def test_rounding_is_half_up_on_the_written_decimal(value: Any, fen: Any, four: Any) -> None:
    """As people round what they read (Python's round(2.675, 2) gives 2.67: the binary float
    is just below)."""
    from creditfactory.api._explain import money, rate

    assert money(value) == fen
    assert rate(value) == four


def test_clients_read_applications_by_their_own_id(explained: Api) -> None:
    first = post(explained, APP).json()
    second = post(explained, {**APP, "monthly_income": 2000.0}).json()  # the same id again
    h = explained.as_("read-only")
    got = explained.client.get("/v1/applications/C-001", headers=h)
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["external_id"] == "C-001"
    assert body["id"] == second["application_id"] != first["application_id"]  # the latest
    assert body["payload"]["id_number"] == "110***********1234"  # masked for read-only
    assert body["decision"]["explanations"][0]["code"] == "KO_INCOME"
    missing = explained.client.get("/v1/applications/NOPE-1", headers=h)
    assert missing.status_code == 404
    assert missing.json()["detail"] == "no application with external id 'NOPE-1'"
    internal = explained.client.get(f"/v1/applications/internal/{first['application_id']}",
                                    headers=h)  # fmt: skip
    assert internal.json()["external_id"] == "C-001"
    slashed = post(explained, {**APP, "application_id": "2026/12/A1"}).json()
    got = explained.client.get("/v1/applications/2026/12/A1", headers=h)
    assert (got.status_code, got.json()["id"]) == (200, slashed["application_id"])


def test_review_queue_items_carry_what_a_reviewer_needs(explained: Api) -> None:
    body = {**APP, "age": 22, "inquiries_3m": 5, "phone": "13900000001"}
    a = post(explained, body).json()
    assert a["decision"] == "refer"
    items = explained.client.get("/v1/reviews?lang=zh-CN", headers=explained.as_("underwriter"))
    assert items.status_code == 200, items.text
    (item,) = items.json()
    assert item["decision_id"] == a["decision_id"]
    assert item["external_id"] == "C-001"
    assert item["applicant"]["id_number"] == "110***********1234"
    assert item["applicant"]["phone"] == "139****0001"
    assert (item["amount"], item["term"], item["decision"]) == (20000.0, 12, "refer")
    assert item["score"] == 20.0  # MODEL_SPEC, age 22
    assert [r["text"] for r in item["reasons"]] == [
        "近期征信查询较多",
        "关联欺诈团伙",
        "年龄：22（−20分）",
    ]
    assert item["fraud_flags"] == ["关联欺诈团伙"]
    assert 0 <= item["seconds_in_queue"] < 120
    assert item["queue_reason"] == "refer"
    # a role that may not decide is told so in plain words
    r = explained.client.post(
        f"/v1/reviews/{item['id']}", json={"outcome": "approve", "reason": "checked"},
        headers=explained.as_("read-only"),
    )  # fmt: skip
    assert r.status_code == 403
    assert r.json()["detail"].startswith("role 'read-only' may not decide reviews (needs one of")


def test_every_missing_or_wrong_input_in_one_422(explained: Api) -> None:
    body = {k: v for k, v in APP.items() if k not in ("age", "monthly_income")}
    body.update(inquiries_3m="many", housing="castle", term_requested=99)
    r = post(explained, body)
    assert r.status_code == 422
    fields = [e["loc"][1] for e in r.json()["detail"]]
    assert sorted(fields) == sorted(
        ["age", "monthly_income", "inquiries_3m", "housing", "term_requested"]
    )
    assert all(e["msg"] for e in r.json()["detail"])


def test_openapi_body_is_the_active_strategys_inputs(explained: Api) -> None:
    def body_schema() -> dict[str, Any]:
        doc = explained.client.get("/openapi.json").json()
        op = doc["paths"]["/v1/applications"]["post"]
        return op["requestBody"]["content"]["application/json"]["schema"]  # type: ignore[no-any-return]

    s = body_schema()
    assert s["type"] == "object"
    assert set(s["required"]) == set(APP)
    props = s["properties"]
    assert props["age"] == {"type": "integer", "minimum": 18, "maximum": 100}
    assert props["monthly_income"]["type"] == "number"
    assert props["housing"] == {"type": "string", "enum": ["own", "rent"]}
    assert {"type": "null"} in props["phone"]["anyOf"]
    # another version activated: the document follows
    _setup(explained, "2", "\n  channel: {type: str, values: [app, branch]}")
    s2 = body_schema()
    assert s2["properties"]["channel"] == {"type": "string", "enum": ["app", "branch"]}
    assert "v2" in s2["title"]
    # the example body is accepted as it is
    ex = explained.client.get("/v1/applications/example", headers=explained.as_("read-only"))
    assert ex.status_code == 200, ex.text
    assert set(ex.json()) == set(s2["properties"])
    assert s2["examples"] == [ex.json()]
    assert ex.json()["channel"] == "app"
    r = post(explained, ex.json())
    assert r.status_code == 201, r.text


def test_docs_page_and_every_asset_it_references_are_served_locally(api: Api) -> None:
    page = api.client.get("/docs")
    assert page.status_code == 200
    html = page.text
    refs = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
    refs += re.findall(r"""url:\s*["']([^"']+)["']""", html)
    assert refs, html
    assert "cdn" not in html.lower()
    for ref in refs:
        assert ref.startswith("/"), ref  # no other host
        got = api.client.get(ref)
        assert got.status_code == 200, ref
        assert len(got.content) > 100, ref
    assert any(r.endswith("swagger-ui-bundle.js") for r in refs)
    assert any(r.endswith("swagger-ui.css") for r in refs)
