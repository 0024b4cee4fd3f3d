"""``/v1/decisions``: a stored decision with its full explanation."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select
from sqlalchemy.orm import Session

from creditfactory.api._deps import Reader, SessionDep
from creditfactory.api._schemas import ERRORS, DecisionPublic, RowId, review_public
from creditfactory.store import DecisionRecord, Review, get_decision

router = APIRouter(prefix="/v1/decisions", tags=["decisions"], responses=ERRORS)


def decision_public(session: Session, rec: DecisionRecord) -> DecisionPublic:
    review = session.execute(select(Review).where(Review.decision_id == rec.id)).scalar()
    final = review.outcome if review is not None and review.outcome else rec.decision
    return DecisionPublic(
        id=rec.id, application_id=rec.application_id, decision=rec.decision,  # type: ignore[arg-type]
        final_decision=final, limit=rec.limit, apr=rec.apr, term=rec.term, reasons=rec.reasons,
        trace=rec.trace, strategy=rec.strategy, version=rec.version,
        model_versions=rec.model_versions, values=rec.values, list_hits=rec.list_hits,
        decided_at=rec.decided_at, review=review_public(review),
    )  # fmt: skip


@router.get("/{decision_id}", response_model=DecisionPublic)
def read_decision(decision_id: RowId, session: SessionDep, _: Reader) -> DecisionPublic:
    """The decision, its reason codes, trace, strategy and model versions, and any override."""
    return decision_public(session, get_decision(session, decision_id))
