"""``/v1/loans``: disburse a loan from an approved decision, post payments (Idempotency-Key),
write off, and read a loan (schedule, status, DPD, bucket, balances, payments) as of any date.

Amounts are CNY with at most two decimals, sent as JSON numbers or decimal text and answered
as decimal text (``"1066.19"``); the service keeps them in integer fen.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from creditfactory.api._deps import Caller, Reader, SessionDep, allowed
from creditfactory.api._json import StrictJSONRoute
from creditfactory.api._schemas import ERRORS, ROW_ID_MAX, RowId, Text
from creditfactory.servicing import METHODS, LoanPosition, to_cny, to_fen
from creditfactory.store import (
    Loan,
    LoanPayment,
    disburse,
    get_loan,
    loan_payments,
    loan_terms,
    position,
    post_payment,
    write_off,
)

router = APIRouter(
    prefix="/v1/loans", tags=["loans"], responses=ERRORS, route_class=StrictJSONRoute
)

Money = Annotated[Decimal, Field(gt=0, max_digits=14, decimal_places=2, allow_inf_nan=False)]
Method = Literal["equal_instalment", "equal_principal", "interest_only"]
assert set(Method.__args__) == set(METHODS)  # type: ignore[attr-defined]


class LoanCreate(BaseModel):
    """A loan to disburse from decision ``decision_id`` (``amount`` defaults to its limit)."""

    model_config = ConfigDict(extra="forbid")

    decision_id: int = Field(ge=1, le=ROW_ID_MAX)
    amount: Money | None = None
    method: Method = "equal_instalment"
    disbursed_on: date | None = Field(default=None, description="default: today (UTC)")
    late_fee: Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2)] = Decimal(0)
    penalty_rate: Annotated[Decimal, Field(ge=0, le=10, allow_inf_nan=False)] | None = Field(
        default=None, description="annual penalty rate on overdue amounts (default 1.5 x APR)"
    )


class PaymentCreate(BaseModel):
    """A payment received on ``paid_on`` (default: today, UTC)."""

    model_config = ConfigDict(extra="forbid")

    amount: Money
    paid_on: date | None = None
    reference: Annotated[Text, Field(max_length=200)] | None = None


class WriteOffCreate(BaseModel):
    """Write a loan off on ``written_off_on`` (default: today, UTC)."""

    model_config = ConfigDict(extra="forbid")

    reason: Annotated[Text, Field(min_length=1, max_length=500)]
    written_off_on: date | None = None


class InstalmentPublic(BaseModel):
    no: int
    due_date: date
    payment: Decimal
    principal: Decimal
    interest: Decimal
    paid_principal: Decimal
    paid_interest: Decimal
    state: str


class PaymentPublic(BaseModel):
    """A posted payment and where it went (penalty, fees, interest, principal, credit held,
    over-paid, recovered after a write-off), as of the loan's ``as_of``."""

    id: int
    paid_on: date
    amount: Decimal
    reference: str | None
    posted_by: str
    posted_at: datetime
    penalty: Decimal | None = None
    fees: Decimal | None = None
    interest: Decimal | None = None
    principal: Decimal | None = None
    credit: Decimal | None = None
    overpaid: Decimal | None = None
    recovered: Decimal | None = None
    settled: bool | None = None


class LoanPublic(BaseModel):
    """A loan, its schedule and payments, and its position as of ``as_of``."""

    id: int
    decision_id: int
    amount: Decimal
    apr: Decimal
    term: int
    method: str
    disbursed_on: date
    maturity_date: date
    penalty_rate: Decimal
    late_fee: Decimal
    as_of: date
    status: str = Field(description="current, delinquent, closed or charged_off")
    dpd: int
    instalments_overdue: int
    bucket: str = Field(description="M0, M1 ... M5, M6+ or charged_off")
    principal_outstanding: Decimal
    overdue_principal: Decimal
    overdue_interest: Decimal
    penalty_outstanding: Decimal
    fees_outstanding: Decimal
    credit: Decimal
    settlement_amount: Decimal = Field(description="what settles the loan on as_of")
    paid: Decimal
    written_off: Decimal
    recovered: Decimal
    overpaid: Decimal
    next_due_date: date | None
    next_due_amount: Decimal
    write_off_due: bool
    closed_on: date | None
    schedule: list[InstalmentPublic]
    payments: list[PaymentPublic]


class PaymentPosted(BaseModel):
    """The payment (stored now, or replayed for a repeated Idempotency-Key) and the loan."""

    payment: PaymentPublic
    replayed: bool
    loan: LoanPublic


_MONEY = ("principal_outstanding", "overdue_principal", "overdue_interest",
          "penalty_outstanding", "fees_outstanding", "credit", "settlement_amount", "paid",
          "written_off", "recovered", "overpaid", "next_due_amount")  # fmt: skip


def loan_public(session: Session, loan: Loan, as_of: date | None = None) -> LoanPublic:
    """A stored loan as of ``as_of`` (default today)."""
    pos: LoanPosition = position(session, loan, as_of)
    rows = [
        p for p in loan_payments(session, loan.id) if date.fromisoformat(p.paid_on) <= pos.as_of
    ]
    rows.sort(key=lambda p: (p.paid_on, p.id))  # the order they were applied in
    pays = [_payment_public(r) for r in rows]
    for out, a in zip(pays, pos.allocations, strict=True):
        for name in ("penalty", "fees", "interest", "principal", "credit", "overpaid", "recovered"):
            setattr(out, name, to_cny(getattr(a, name)))
        out.settled = a.settled
    terms = loan_terms(loan)
    return LoanPublic(
        id=loan.id, decision_id=loan.decision_id, amount=to_cny(loan.amount),
        apr=Decimal(loan.apr), term=loan.term, method=loan.method,
        disbursed_on=terms.disbursed_on, maturity_date=terms.maturity,
        penalty_rate=Decimal(loan.penalty_rate), late_fee=to_cny(loan.late_fee),
        as_of=pos.as_of, status=pos.status, dpd=pos.dpd,
        instalments_overdue=pos.instalments_overdue, bucket=pos.bucket,
        next_due_date=pos.next_due_date, write_off_due=pos.write_off_due,
        closed_on=pos.closed_on,
        schedule=[
            InstalmentPublic(
                no=i.no, due_date=i.due_date, payment=to_cny(i.payment),
                principal=to_cny(i.principal), interest=to_cny(i.interest),
                paid_principal=to_cny(i.paid_principal), paid_interest=to_cny(i.paid_interest),
                state=i.state,
            )
            for i in pos.instalments
        ],
        payments=pays,
        **{name: to_cny(getattr(pos, name)) for name in _MONEY},
    )  # fmt: skip


def _payment_public(row: LoanPayment) -> PaymentPublic:
    return PaymentPublic(
        id=row.id, paid_on=date.fromisoformat(row.paid_on), amount=to_cny(row.amount),
        reference=row.reference, posted_by=row.posted_by, posted_at=row.posted_at,
    )  # fmt: skip


@router.post("", response_model=LoanPublic, status_code=status.HTTP_201_CREATED)
def create_loan(
    body: LoanCreate,
    session: SessionDep,
    caller: Annotated[Caller, Depends(allowed("loans.create"))],
) -> LoanPublic:
    """Disburse a loan from an approved decision (409 when it is not an approval, or already
    disbursed; 422 naming ``amount`` when it exceeds the limit)."""
    amount = None if body.amount is None else to_fen(body.amount, "amount")
    loan = disburse(session, body.decision_id, caller.name, amount, body.method,
                    body.disbursed_on, to_fen(body.late_fee, "late_fee"),
                    body.penalty_rate)  # fmt: skip
    return loan_public(session, loan)


@router.get("/{loan_id}", response_model=LoanPublic)
def read_loan(
    loan_id: RowId,
    session: SessionDep,
    _: Reader,
    as_of: Annotated[date | None, Query(description="default: today (UTC)")] = None,
) -> LoanPublic:
    """The loan's schedule, status, DPD, bucket, balances and payments as of ``as_of``."""
    return loan_public(session, get_loan(session, loan_id), as_of)


@router.post(
    "/{loan_id}/payments", response_model=PaymentPosted, status_code=status.HTTP_201_CREATED
)
def create_payment(
    loan_id: RowId,
    body: PaymentCreate,
    session: SessionDep,
    response: Response,
    caller: Annotated[Caller, Depends(allowed("loans.pay"))],
    idempotency_key: Annotated[str, Header(min_length=1, max_length=200)],
) -> PaymentPosted:
    """Post a payment once per Idempotency-Key: a retry with the same key and body answers
    200 with the stored payment; the same key with another body is a 409."""
    row, created = post_payment(session, loan_id, to_fen(body.amount), idempotency_key,
                                caller.name, body.paid_on, body.reference)  # fmt: skip
    if not created:
        response.status_code = status.HTTP_200_OK
    loan = loan_public(session, get_loan(session, loan_id))
    mine = next((p for p in loan.payments if p.id == row.id), None)
    return PaymentPosted(payment=mine or _payment_public(row), replayed=not created, loan=loan)


@router.post("/{loan_id}/write-off", response_model=LoanPublic, status_code=status.HTTP_201_CREATED)
def create_write_off(
    loan_id: RowId,
    body: WriteOffCreate,
    session: SessionDep,
    caller: Annotated[Caller, Depends(allowed("loans.write_off"))],
) -> LoanPublic:
    """Write off what the loan still owes (409 when already closed or written off)."""
    write_off(session, loan_id, caller.name, body.reason, body.written_off_on)
    return loan_public(session, get_loan(session, loan_id))


__all__ = ["LoanCreate", "LoanPublic", "PaymentCreate", "PaymentPosted", "loan_public", "router"]
