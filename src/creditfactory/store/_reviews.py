"""Reading decisions, applications and reviews, and completing a review (with its ledger entry)."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from creditfactory.exceptions import DataError
from creditfactory.store._errors import ConflictError, NotFoundError
from creditfactory.store._ledger import append
from creditfactory.store._records import record_digest, subject_of
from creditfactory.store._repo import now
from creditfactory.store._tables import Application, DecisionRecord, Review

OUTCOMES = ("approve", "decline")


def complete_review(
    session: Session, review_id: int, outcome: str, reason: str, reviewer: str
) -> tuple[Review, DecisionRecord]:
    """Record an underwriter's override beside the original decision, and chain it.

    Raises
    ------
    DataError
        ``outcome`` is not approve or decline.
    NotFoundError, ConflictError
        The review does not exist, or was already completed.
    """
    if outcome not in OUTCOMES:
        raise DataError(f"outcome: {outcome!r} is not one of {', '.join(OUTCOMES)}")
    # a conditional UPDATE, so that of two concurrent reviews exactly one wins
    done = session.execute(
        update(Review)
        .where(Review.id == review_id, Review.status == "pending")
        .values(status="done", outcome=outcome, reason=reason, reviewer=reviewer,
                reviewed_at=now())
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    rev = session.get(Review, review_id, populate_existing=True)
    if rev is None:
        raise NotFoundError(f"review {review_id} not found")
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise ConflictError(f"review {review_id} was already completed by {rev.reviewer}")
    session.flush()
    decision = session.get(DecisionRecord, rev.decision_id)
    assert decision is not None
    append(
        session, "review", subject_of(rev), reviewer,
        {
            "decision_id": decision.id, "original": decision.decision,
            "outcome": outcome, "reason": reason,
            "digests": {subject_of(rev): record_digest(rev)},
        },
    )  # fmt: skip
    return rev, decision


def get_decision(session: Session, decision_id: int) -> DecisionRecord:
    """One decision by id."""
    row = session.get(DecisionRecord, decision_id)
    if row is None:
        raise NotFoundError(f"decision {decision_id} not found")
    return row


def get_application(session: Session, application_id: int) -> Application:
    """One application by id."""
    row = session.get(Application, application_id)
    if row is None:
        raise NotFoundError(f"application {application_id} not found")
    return row


def find_application(session: Session, external_id: str) -> Application:
    """The latest application a client sent with its own id ``external_id`` (a client that
    sent the same id twice, without an Idempotency-Key, made two applications).

    Raises
    ------
    NotFoundError
        No application carries that id.
    """
    row = session.execute(
        select(Application)
        .where(Application.external_id == external_id)
        .order_by(Application.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if row is None:
        raise NotFoundError(f"no application with external id {external_id!r}")
    return row


def review_queue(
    session: Session, status: str | None = "pending", limit: int = 100
) -> list[tuple[Review, DecisionRecord, Application]]:
    """Reviews with their decision and application, oldest first (one query)."""
    stmt = (
        select(Review, DecisionRecord, Application)
        .join(DecisionRecord, DecisionRecord.id == Review.decision_id)
        .join(Application, Application.id == DecisionRecord.application_id)
        .order_by(Review.id)
        .limit(limit)
    )
    if status is not None:
        stmt = stmt.where(Review.status == status)
    return [(r, d, a) for r, d, a in session.execute(stmt)]


def reviews(session: Session, status: str | None = "pending", limit: int = 100) -> list[Review]:
    """Reviews, oldest first, optionally of one status."""
    stmt = select(Review).order_by(Review.id).limit(limit)
    if status is not None:
        stmt = stmt.where(Review.status == status)
    return list(session.execute(stmt).scalars())
