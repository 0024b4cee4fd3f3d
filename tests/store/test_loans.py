"""Loans in the store: disbursement, idempotent payments (also under concurrency), write-off,
and the ledger vouching for each (tampering with a payment is caught), on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text

from creditfactory.exceptions import ConflictError, DataError, NotFoundError
from creditfactory.servicing import Payment, loan_position, schedule
from creditfactory.store import (
    LoanPayment,
    Store,
    activate,
    add_strategy,
    disburse,
    get_loan,
    loan_terms,
    position,
    post_payment,
    verify,
    write_off,
)

START = date.today() - timedelta(days=200)


@pytest.fixture
def booked(
    store: Store, strategy_yaml: str, good_application: dict[str, Any], make_service: Any
) -> Store:
    """Decisions 1 (approve, limit 30,000 at 15% over 12 months), 2 (refer) and 3 (approve)."""
    with store.session() as s:
        activate(s, add_strategy(s, strategy_yaml, "ana").id, "boss")
    service = make_service(store)
    for i, inquiries in enumerate((0, 5, 0)):
        out = service.decide({**good_application, "application_id": f"A{i}",
                              "inquiries_3m": inquiries}, "channel")  # fmt: skip
        assert out.decision.decision == ("refer" if inquiries else "approve")
    return store


def test_disburse_from_an_approved_decision_only(booked: Store) -> None:
    too_much = r"amount: 30000\.01 exceeds the decision's limit"
    with booked.session() as s, pytest.raises(DataError, match=too_much):
        disburse(s, 1, "ops", 3_000_001, disbursed_on=START)
    with booked.session() as s, pytest.raises(ConflictError, match="'refer', not an approval"):
        disburse(s, 2, "ops")
    with booked.session() as s, pytest.raises(NotFoundError, match="decision 9 not found"):
        disburse(s, 9, "ops")
    with booked.session() as s:
        loan = disburse(s, 1, "ops", 1_200_000, "equal_principal", START)
        assert (loan.amount, loan.apr, loan.term, loan.method) == (
            1_200_000,
            "0.15",
            12,
            "equal_principal",
        )
    with booked.session() as s, pytest.raises(ConflictError, match="already disbursed as loan 1"):
        disburse(s, 1, "ops")
    with booked.session() as s:
        assert verify(s).ok


def test_payments_are_idempotent_and_tampering_is_caught(booked: Store) -> None:
    with booked.session() as s:
        loan = disburse(s, 1, "ops", 1_200_000, "equal_instalment", START)
    first = schedule(loan_terms(loan))[0]
    with booked.session() as s:
        row, created = post_payment(s, 1, first.payment, "pay-1", "ops", first.due_date)
        assert created
    with booked.session() as s:
        again, created = post_payment(s, 1, first.payment, "pay-1", "ops", first.due_date)
        assert (again.id, created) == (row.id, False)
    with (
        booked.session() as s,
        pytest.raises(ConflictError, match="'pay-1' was used for another payment"),
    ):
        post_payment(s, 1, first.payment + 1, "pay-1", "ops", first.due_date)
    with booked.session() as s, pytest.raises(DataError, match=r"paid_on: .* is in the future"):
        post_payment(s, 1, 100, "pay-2", "ops", date.today() + timedelta(days=1))
    with booked.session() as s:
        got = position(s, get_loan(s, 1), first.due_date + timedelta(days=40))
    want = loan_position(loan_terms(loan), [Payment(first.due_date, first.payment)],
                         first.due_date + timedelta(days=40))  # fmt: skip
    assert (got.bucket, got.dpd, got.paid) == (want.bucket, want.dpd, first.payment)
    assert got.bucket == "M1"
    with booked.session() as s:
        assert verify(s).ok
    with booked.engine.begin() as conn:
        conn.execute(text("UPDATE loan_payments SET amount = amount + 100000 WHERE id = 1"))
    with booked.session() as s:
        problems = verify(s).problems
    assert [(p.problem, p.detail.split()[0]) for p in problems] == [
        ("record-altered", "loan_payment:1")
    ]
    with booked.engine.begin() as conn:
        conn.execute(text("DELETE FROM loan_payments WHERE id = 1"))
    with booked.session() as s:
        assert [p.problem for p in verify(s).problems] == ["record-removed"]


def test_write_off_is_chained(booked: Store) -> None:
    with booked.session() as s:
        disburse(s, 3, "ops", 500_000, "interest_only", START)
    with booked.session() as s:
        row = write_off(s, 1, "boss", "uncollectable", START + timedelta(days=190))
        assert row.amount >= 500_000
    with booked.session() as s:
        pos = position(s, get_loan(s, 1))
        assert (pos.status, pos.bucket, pos.written_off) == (
            "charged_off",
            "charged_off",
            row.amount,
        )
        with pytest.raises(ConflictError, match="already written off"):
            write_off(s, 1, "boss", "twice")
    with booked.session() as s:
        assert verify(s).ok
    with booked.engine.begin() as conn:
        conn.execute(text("UPDATE loan_write_offs SET amount = 1 WHERE id = 1"))
    with booked.session() as s:
        assert [p.problem for p in verify(s).problems] == ["record-altered"]


def test_concurrent_posts_post_each_payment_once(booked: Store) -> None:
    """Eight threads each post the same 10 payments (keys k0..k9): 10 rows, a valid ledger."""
    with booked.session() as s:
        disburse(s, 1, "ops", 1_000_000, "equal_instalment", START)
    errors: list[BaseException] = []
    created: list[int] = []
    barrier = threading.Barrier(8)

    def work() -> None:
        barrier.wait()
        for k in range(10):
            try:
                with booked.session() as s:
                    _, new = post_payment(
                        s, 1, 10_000 + k, f"k{k}", "ops", START + timedelta(days=k)
                    )
                created.append(int(new))
            except BaseException as exc:
                errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    assert sum(created) == 10
    assert len(created) == 80
    with booked.session() as s:
        assert s.execute(select(func.count()).select_from(LoanPayment)).scalar() == 10
        assert position(s, get_loan(s, 1)).paid == sum(10_000 + k for k in range(10))
        assert verify(s).ok
