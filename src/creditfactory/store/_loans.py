"""Loans in the store: disburse from a decision, post payments (idempotent), write off, and
read a loan's position as of any date; every write is chained into the ledger in its
transaction.

Writes take the ledger's lock first (the ``UPDATE`` of its head row that every append takes), so
that two requests posting the same Idempotency-Key, or disbursing the same decision, queue up
and the second one finds the first one's row, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from creditfactory.audit import canonical_json
from creditfactory.exceptions import DataError
from creditfactory.servicing import (
    LoanPosition,
    LoanTerms,
    Payment,
    loan_position,
    terms_from_decision,
    to_cny,
)
from creditfactory.store._errors import ConflictError, NotFoundError
from creditfactory.store._ledger import append
from creditfactory.store._loan_tables import Loan, LoanPayment, LoanWriteOff
from creditfactory.store._records import record_digest, subject_of
from creditfactory.store._repo import now
from creditfactory.store._tables import DecisionRecord, LedgerHead, Review


def _lock(session: Session) -> None:
    """Take the ledger's write lock (first, so that SQLite's transaction starts as a writer)."""
    session.execute(update(LedgerHead).where(LedgerHead.id == 1).values(seq=LedgerHead.seq))


def today() -> date:
    """Today's date in UTC."""
    return datetime.now(UTC).date()


def effective_decision(session: Session, decision: DecisionRecord) -> str:
    """The decision as it stands: a completed manual review's outcome overrides it."""
    review = session.execute(
        select(Review).where(Review.decision_id == decision.id, Review.status == "done")
    ).scalar_one_or_none()
    return review.outcome if review is not None and review.outcome else decision.decision


def loan_terms(loan: Loan) -> LoanTerms:
    """The servicing terms of a stored loan."""
    return LoanTerms(
        principal=loan.amount, apr=Decimal(loan.apr), term=loan.term, method=loan.method,
        disbursed_on=date.fromisoformat(loan.disbursed_on),
        penalty_rate=Decimal(loan.penalty_rate), late_fee=loan.late_fee,
    )  # fmt: skip


def disburse(
    session: Session,
    decision_id: int,
    actor: str,
    amount: int | None = None,
    method: str = "equal_instalment",
    disbursed_on: date | None = None,
    late_fee: int = 0,
    penalty_rate: Decimal | None = None,
) -> Loan:
    """Disburse a loan (``amount`` in fen; default the whole limit) from an approved decision;
    ``penalty_rate`` is the contract's annual penalty rate (default 1.5 x the APR).

    Raises
    ------
    NotFoundError
        No such decision.
    ConflictError
        The decision (after any manual review) is not an approval, or a loan was already
        disbursed from it.
    DataError
        The amount is not positive or exceeds the limit, the method is unknown, the date is in
        the future (each names the field).
    """
    _lock(session)
    decision = session.get(DecisionRecord, decision_id)
    if decision is None:
        raise NotFoundError(f"decision {decision_id} not found")
    outcome = effective_decision(session, decision)
    if outcome != "approve":
        raise ConflictError(f"decision {decision_id} is {outcome!r}, not an approval: no loan")
    taken = session.execute(select(Loan.id).where(Loan.decision_id == decision_id)).scalar()
    if taken is not None:
        raise ConflictError(f"decision {decision_id} was already disbursed as loan {taken}")
    day = disbursed_on or today()
    if day > today():
        raise DataError(f"disbursed_on: {day} is in the future")
    facts = {"decision": "approve", "limit": decision.limit, "apr": decision.apr,
             "term": decision.term}  # fmt: skip
    terms = terms_from_decision(facts, amount, method, day, late_fee)
    if penalty_rate is not None:
        terms = replace(terms, penalty_rate=penalty_rate)
    loan = Loan(
        decision_id=decision_id, amount=terms.principal, apr=str(terms.apr), term=terms.term,
        method=terms.method, disbursed_on=day.isoformat(),
        penalty_rate=str(terms.annual_penalty_rate), late_fee=terms.late_fee,
        created_by=actor, created_at=now(),
    )  # fmt: skip
    session.add(loan)
    session.flush()
    append(
        session, "loan.disburse", subject_of(loan), actor,
        {"decision_id": decision_id, "amount": str(to_cny(loan.amount)),
         "digests": {subject_of(loan): record_digest(loan)}},
    )  # fmt: skip
    return loan


def get_loan(session: Session, loan_id: int) -> Loan:
    """One loan by id."""
    row = session.get(Loan, loan_id)
    if row is None:
        raise NotFoundError(f"loan {loan_id} not found")
    return row


def loan_payments(session: Session, loan_id: int) -> list[LoanPayment]:
    """A loan's payments in the order they were posted."""
    stmt = select(LoanPayment).where(LoanPayment.loan_id == loan_id).order_by(LoanPayment.id)
    return list(session.execute(stmt).scalars())


def loan_write_off(session: Session, loan_id: int) -> LoanWriteOff | None:
    """A loan's write-off, if any."""
    stmt = select(LoanWriteOff).where(LoanWriteOff.loan_id == loan_id)
    return session.execute(stmt).scalar_one_or_none()


def position(session: Session, loan: Loan, as_of: date | None = None) -> LoanPosition:
    """The loan's position as of ``as_of`` (default today), replayed from its stored events
    (:class:`DataError` naming ``as_of`` when it is before the disbursement)."""
    day = as_of or today()
    if day < date.fromisoformat(loan.disbursed_on):
        raise DataError(f"as_of: {day} is before the disbursement on {loan.disbursed_on}")
    off = loan_write_off(session, loan.id)
    when = date.fromisoformat(off.written_off_on) if off is not None else None
    return loan_position(loan_terms(loan), _payments(session, loan), day, written_off_on=when)


def _payments(session: Session, loan: Loan) -> list[Payment]:
    return [
        Payment(date.fromisoformat(p.paid_on), p.amount, p.reference)
        for p in loan_payments(session, loan.id)
    ]


def _request_sha(amount: int, paid_on: date, reference: str | None) -> str:
    body = {"amount": amount, "paid_on": paid_on.isoformat(), "reference": reference}
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


def post_payment(
    session: Session,
    loan_id: int,
    amount: int,
    idempotency_key: str,
    actor: str,
    paid_on: date | None = None,
    reference: str | None = None,
) -> tuple[LoanPayment, bool]:
    """Post a payment (``amount`` in fen) once per ``idempotency_key``: ``(row, created)``;
    the same key again returns the stored payment (``created`` false).

    Raises
    ------
    NotFoundError
        No such loan.
    ConflictError
        The key was used for another payment (another amount, day or reference).
    DataError
        The amount is not positive, or the day is before the disbursement or in the future.
    """
    if not idempotency_key or len(idempotency_key) > 200:
        raise DataError("idempotency_key: must be 1 to 200 characters")
    day = paid_on or today()
    Payment(day, amount)  # checks the amount
    sha = _request_sha(amount, day, reference)
    _lock(session)
    loan = get_loan(session, loan_id)
    stmt = select(LoanPayment).where(
        LoanPayment.loan_id == loan_id, LoanPayment.idempotency_key == idempotency_key
    )
    done = session.execute(stmt).scalar_one_or_none()
    if done is not None:
        if done.request_sha256 != sha:
            raise ConflictError(
                f"Idempotency-Key {idempotency_key!r} was used for another payment "
                f"(payment {done.id}) of loan {loan_id}"
            )
        return done, False
    if day < date.fromisoformat(loan.disbursed_on):
        raise DataError(f"paid_on: {day} is before the disbursement on {loan.disbursed_on}")
    if day > today():
        raise DataError(f"paid_on: {day} is in the future")
    row = LoanPayment(
        loan_id=loan_id, paid_on=day.isoformat(), amount=amount, reference=reference,
        idempotency_key=idempotency_key, request_sha256=sha, posted_by=actor, posted_at=now(),
    )  # fmt: skip
    session.add(row)
    session.flush()
    append(
        session, "loan.payment", subject_of(row), actor,
        {"loan_id": loan_id, "amount": str(to_cny(amount)), "paid_on": row.paid_on,
         "digests": {subject_of(row): record_digest(row)}},
    )  # fmt: skip
    return row, True


def write_off(
    session: Session, loan_id: int, actor: str, reason: str, on: date | None = None
) -> LoanWriteOff:
    """Write off what a loan still owes on ``on`` (default today).

    Raises
    ------
    NotFoundError, ConflictError
        No such loan, or it is already closed or written off.
    """
    day = on or today()
    _lock(session)
    loan = get_loan(session, loan_id)
    if loan_write_off(session, loan_id) is not None:
        raise ConflictError(f"loan {loan_id} is already written off")
    if day > today():
        raise DataError(f"written_off_on: {day} is in the future")
    if day < date.fromisoformat(loan.disbursed_on):
        raise DataError(f"written_off_on: {day} is before the disbursement")
    before = position(session, loan, day)
    if before.status == "closed":
        raise ConflictError(
            f"loan {loan_id} was closed on {before.closed_on}: nothing to write off"
        )
    pays = [
        Payment(date.fromisoformat(p.paid_on), p.amount) for p in loan_payments(session, loan_id)
    ]
    after = loan_position(loan_terms(loan), pays, day, written_off_on=day)
    row = LoanWriteOff(
        loan_id=loan_id, written_off_on=day.isoformat(), amount=after.written_off,
        reason=reason, written_off_by=actor, created_at=now(),
    )  # fmt: skip
    session.add(row)
    session.flush()
    append(
        session, "loan.write_off", subject_of(row), actor,
        {"loan_id": loan_id, "amount": str(to_cny(row.amount)), "reason": reason,
         "digests": {subject_of(row): record_digest(row)}},
    )  # fmt: skip
    return row
