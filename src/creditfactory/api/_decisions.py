"""``/v1/decisions``: a stored decision with its full explanation."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import select
from sqlalchemy.orm import Session

from creditfactory.api._deps import Caller, PiiDep, Reader, SessionDep
from creditfactory.api._json import StrictJSONRoute
from creditfactory.api._schemas import ERRORS, DecisionPublic, RowId, review_public
from creditfactory.exceptions import DataError
from creditfactory.store import ConflictError, DecisionRecord, Protector, Review, get_decision

router = APIRouter(
    prefix="/v1/decisions", tags=["decisions"], responses=ERRORS, route_class=StrictJSONRoute
)


def revealed(pii: Protector | None, stored: dict[str, Any], caller: Caller, where: str) -> Any:
    """Stored fields as ``caller`` may see them (:meth:`Protector.reveal`); an identifier that
    does not decrypt for an admin (altered, or its key no longer configured) is a 409 naming
    the record and the field, never a guess."""
    if pii is None:
        return stored
    try:
        return pii.reveal(stored, caller.role)
    except DataError as exc:
        raise ConflictError(f"{where}.{exc}") from exc


def decision_public(
    session: Session, rec: DecisionRecord, caller: Caller, pii: Protector | None
) -> DecisionPublic:
    """A decision as ``caller`` may see it: identifiers among its values (a strategy may output
    an input) in clear for an admin, masked for every other role."""
    values = revealed(pii, rec.values, caller, f"decision {rec.id}: values")
    review = session.execute(select(Review).where(Review.decision_id == rec.id)).scalar()
    final = review.outcome if review is not None and review.outcome else rec.decision
    return DecisionPublic(
        id=rec.id, application_id=rec.application_id, decision=rec.decision,
        final_decision=final, limit=rec.limit, apr=rec.apr, term=rec.term, reasons=rec.reasons,
        trace=rec.trace, strategy=rec.strategy, version=rec.version,
        model_versions=rec.model_versions, values=values, list_hits=rec.list_hits,
        decided_at=rec.decided_at, review=review_public(review),
    )  # fmt: skip


@router.get("/{decision_id}", response_model=DecisionPublic)
def read_decision(
    decision_id: RowId, session: SessionDep, caller: Reader, pii: PiiDep
) -> DecisionPublic:
    """The decision, its reason codes, trace, strategy and model versions, and any override."""
    return decision_public(session, get_decision(session, decision_id), caller, pii)
