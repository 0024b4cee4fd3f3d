"""``emergency_contacts`` in an application: an optional list of declared contact phones, checked
whatever the active strategy declares (each a mobile number, at most five; a 422 naming it)."""

from __future__ import annotations

from typing import Any

import pytest
from tests.api.conftest import Api


@pytest.mark.parametrize(
    ("contacts", "loc", "msg"),
    [
        ("13800000001", ["body", "emergency_contacts"], "must be a list of contacts"),
        ([{"name": "李雷"}], ["body", "emergency_contacts", 0, "phone"], "not a mobile number"),
        (["13800000001", "12345"], ["body", "emergency_contacts", 1], "not a mobile number"),
        ([13800000001], ["body", "emergency_contacts", 0], "not a mobile number"),
        (["13800000001"] * 6, ["body", "emergency_contacts"], "at most 5 contacts (got 6)"),
        ([None], ["body", "emergency_contacts", 0], "not a mobile number"),
    ],
)
def test_bad_contacts_are_a_422_naming_the_field(
    live: Api, good_application: dict[str, Any], contacts: Any, loc: list[Any], msg: str
) -> None:
    body = {**good_application, "emergency_contacts": contacts}
    r = live.client.post("/v1/applications", json=body, headers=live.as_("admin"))
    assert r.status_code == 422, r.text
    (err,) = r.json()["detail"]
    assert err["loc"] == loc
    assert msg in err["msg"]


def test_declared_contacts_are_stored_protected(
    live: Api, good_application: dict[str, Any]
) -> None:
    contacts = ["13800000001", {"name": "李雷", "relation": "friend", "phone": "13912345678"}]
    body = {**good_application, "emergency_contacts": contacts}
    r = live.client.post("/v1/applications", json=body, headers=live.as_("admin"))
    assert r.status_code == 201, r.text
    for k, none in ((2, None), (3, [])):
        body = {**good_application, "application_id": f"A{k}", "emergency_contacts": none}
        assert live.client.post("/v1/applications", json=body,
                                headers=live.as_("admin")).status_code == 201  # fmt: skip
    seen = live.client.get("/v1/applications/A1", headers=live.as_("read-only")).json()
    assert seen["payload"]["emergency_contacts"] == [
        "138****0001",
        {"name": "李*", "relation": "f*****", "phone": "139****5678"},
    ]
    store = live.client.app.state.store  # type: ignore[attr-defined]
    from sqlalchemy import select

    from creditfactory.store import Application

    with store.session() as s:
        stored = s.execute(select(Application.payload)).scalars().first()
    assert "13912345678" not in str(stored)
