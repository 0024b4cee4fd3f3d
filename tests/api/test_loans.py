"""``/v1/loans`` over HTTP: disbursement from a decision, idempotent payments, the position as
of any date (checked against the loan library), roles, 422s naming the field, the ledger."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from creditfactory.servicing import LoanTerms, Payment, loan_position, schedule
from creditfactory.store import verify

from .conftest import Api

START = date.today() - timedelta(days=100)


def decide(api: Api, app: dict[str, Any], name: str, **change: Any) -> int:
    r = api.client.post("/v1/applications", json={**app, "application_id": name, **change},
                        headers=api.as_("admin"))  # fmt: skip
    assert r.status_code == 201, r.text
    return int(r.json()["decision_id"])


def test_loan_lifecycle(live: Api, good_application: dict[str, Any]) -> None:
    approved = decide(live, good_application, "L1")
    refer = decide(live, good_application, "L2", inquiries_3m=5)
    post = live.client.post
    uw = live.as_("underwriter")
    assert post("/v1/loans", json={"decision_id": refer}, headers=uw).status_code == 409
    too_much = post("/v1/loans", json={"decision_id": approved, "amount": 30000.01}, headers=uw)
    assert too_much.status_code == 422
    assert too_much.json()["detail"].startswith("amount: 30000.01 exceeds the decision's limit")
    bad = post("/v1/loans", json={"decision_id": approved, "method": "balloon", "amount": 1.001},
               headers=uw)  # fmt: skip
    assert bad.status_code == 422
    assert {tuple(e["loc"]) for e in bad.json()["detail"]} == {
        ("body", "method"),
        ("body", "amount"),
    }
    ro = post("/v1/loans", json={"decision_id": approved}, headers=live.as_("read-only"))
    assert ro.status_code == 403
    body = {"decision_id": approved, "amount": "12000", "disbursed_on": START.isoformat()}
    r = post("/v1/loans", json=body, headers=uw)
    assert r.status_code == 201, r.text
    loan = r.json()
    got = (loan["amount"], loan["apr"], loan["term"], loan["method"])
    assert got == ("12000.00", "0.15", 12, "equal_instalment")
    assert post("/v1/loans", json=body, headers=uw).status_code == 409  # one loan per decision
    terms = LoanTerms(1_200_000, Decimal("0.15"), 12, "equal_instalment", START)
    first = schedule(terms)[0]
    assert loan["schedule"][0]["payment"] == f"{first.payment / 100:.2f}"
    assert len(loan["schedule"]) == 12

    url = f"/v1/loans/{loan['id']}/payments"
    pay = {"amount": f"{first.payment / 100:.2f}", "paid_on": first.due_date.isoformat()}
    missing = post(url, json=pay, headers=uw)
    assert missing.status_code == 422
    assert missing.json()["detail"][0]["loc"] == ["header", "idempotency-key"]
    done = post(url, json=pay, headers={**uw, "Idempotency-Key": "p1"})
    assert done.status_code == 201, done.text
    again = post(url, json=pay, headers={**uw, "Idempotency-Key": "p1"})
    assert (again.status_code, again.json()["replayed"]) == (200, True)
    assert again.json()["payment"]["id"] == done.json()["payment"]["id"]
    other = post(url, json={**pay, "amount": "1.00"}, headers={**uw, "Idempotency-Key": "p1"})
    assert other.status_code == 409
    assert done.json()["payment"]["interest"] == f"{first.interest / 100:.2f}"

    as_of = first.due_date + timedelta(days=45)
    got = live.client.get(f"/v1/loans/{loan['id']}", params={"as_of": as_of.isoformat()},
                          headers=live.as_("read-only")).json()  # fmt: skip
    want = loan_position(terms, [Payment(first.due_date, first.payment)], as_of)
    assert (got["dpd"], got["bucket"], got["status"]) == (want.dpd, want.bucket, "delinquent")
    assert got["penalty_outstanding"] == f"{want.penalty_outstanding / 100:.2f}"
    assert [i["state"] for i in got["schedule"][:3]] == ["paid", "overdue", "future"]
    assert live.client.get("/v1/loans/99", headers=uw).status_code == 404
    early = live.client.get(f"/v1/loans/{loan['id']}", params={"as_of": "2000-01-01"}, headers=uw)
    assert (early.status_code, early.json()["detail"][:6]) == (422, "as_of:")
    assert live.client.get(f"/v1/loans/{loan['id']}", params={"as_of": "soon"},
                           headers=uw).json()["detail"][0]["loc"] == ["query", "as_of"]  # fmt: skip

    off = post(f"/v1/loans/{loan['id']}/write-off", json={"reason": "fraud"}, headers=uw)
    assert off.status_code == 403  # admins only
    off = post(
        f"/v1/loans/{loan['id']}/write-off", json={"reason": "fraud"}, headers=live.as_("admin")
    )
    assert (off.status_code, off.json()["bucket"]) == (201, "charged_off")
    with live.client.app.state.store.session() as s:  # type: ignore[attr-defined]
        verdict = verify(s)
    assert verdict.ok, verdict.problems
