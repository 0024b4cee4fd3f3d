"""A sample of the twin's loans replayed through the service (HTTP): the same DPD and buckets
as the twin (the mapping of conventions: ``creditfactory.servicing._loan_book``)."""

from __future__ import annotations

from typing import Any

import pytest

from creditfactory.data import Portfolio, SimulationConfig, simulate
from creditfactory.servicing import BookLoan, book_loans, schedule

from .conftest import Api

STRATEGY = """
strategy: replay
version: "1"
key: application_id
inputs:
  application_id: str
  principal: {type: float, min: 0, max: 10000000}
  rate: {type: float, min: 0, max: 1}
  months: {type: int, min: 1, max: 60}
flow:
  - assign:
      name: offer
      set:
        limit: "principal"
        apr: "rate"
        term: "months"
"""


@pytest.fixture(scope="module")
def twin() -> Portfolio:
    return simulate(SimulationConfig(n_applications=3000, seed=11))


def pick(twin: Portfolio, n: int = 8) -> list[BookLoan]:
    """Loans whose schedules agree with the twin's to the fen and that were delinquent before
    maturity (equal instalment or interest only: the conventions the service shares)."""
    perf = twin.performance
    sched = dict(tuple(twin.schedules.groupby("loan_id", sort=False)))
    late = set(perf.loc[(perf["dpd"] > 0) & (perf["mob"] <= 6), "loan_id"])
    out = []
    for loan in book_loans(twin.loans, perf, sorted(late)[:200]):
        if loan.terms.method == "equal_principal":
            continue
        theirs = (sched[loan.loan_id]["payment"] * 100).round().astype(int).tolist()
        if [i.payment for i in schedule(loan.terms)] == theirs:
            out.append(loan)
        if len(out) == n:
            break
    return out


def test_twin_sample_through_the_service(api: Api, twin: Portfolio) -> None:
    h = api.as_("admin")
    r = api.client.post("/v1/strategies", json={"source": STRATEGY, "activate": True}, headers=h)
    assert r.status_code == 201, r.text
    sample = pick(twin)
    assert len(sample) == 8
    perf = twin.performance.set_index(["loan_id", "mob"])
    compared = delinquent = 0
    for loan in sample:
        t = loan.terms
        body: dict[str, Any] = {"application_id": loan.loan_id, "principal": t.principal / 100,
                                "rate": float(t.apr), "months": t.term}  # fmt: skip
        decided = api.client.post("/v1/applications", json=body, headers=h).json()
        r = api.client.post("/v1/loans", headers=h, json={
            "decision_id": decided["decision_id"], "amount": str(t.principal / 100),
            "method": t.method, "disbursed_on": t.disbursed_on.isoformat(), "penalty_rate": 0,
        })  # fmt: skip
        assert r.status_code == 201, r.text
        loan_id = r.json()["id"]
        for i, p in enumerate(loan.payments):
            paid = api.client.post(
                f"/v1/loans/{loan_id}/payments", headers={**h, "Idempotency-Key": f"twin-{i}"},
                json={"amount": f"{p.amount / 100:.2f}", "paid_on": p.paid_on.isoformat()},
            )  # fmt: skip
            assert paid.status_code == 201, paid.text
        for mob, day in zip(loan.mobs, loan.snapshots, strict=True):
            if mob > t.term:
                continue
            got = api.client.get(f"/v1/loans/{loan_id}", params={"as_of": day.isoformat()},
                                 headers=h).json()  # fmt: skip
            row = perf.loc[(loan.loan_id, mob)]
            if str(row["bucket"]) == "charged_off":
                assert got["write_off_due"], (loan.loan_id, mob)
                break
            assert (got["bucket"], 30 * got["instalments_overdue"]) == (
                str(row["bucket"]),
                int(row["dpd"]),
            ), (loan.loan_id, mob)
            compared += 1
            delinquent += got["bucket"] != "M0"
    assert compared > 40
    assert delinquent > 8
