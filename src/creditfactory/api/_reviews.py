"""``/v1/reviews``: the manual-review queue (refers and the QC sample)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from creditfactory.api._decisions import decision_public
from creditfactory.api._deps import Caller, PiiDep, Reader, SessionDep, allowed
from creditfactory.api._json import StrictJSONRoute
from creditfactory.api._schemas import ERRORS, DecisionPublic, ReviewDecide, RowId
from creditfactory.factory import ReviewPublic
from creditfactory.store import complete_review, reviews

router = APIRouter(
    prefix="/v1/reviews", tags=["reviews"], responses=ERRORS, route_class=StrictJSONRoute
)


@router.get("", response_model=list[ReviewPublic])
def queue(
    session: SessionDep,
    _: Reader,
    status: Literal["pending", "done", "all"] = "pending",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[ReviewPublic]:
    """Reviews, oldest first (pending ones by default)."""
    rows = reviews(session, None if status == "all" else status, limit)
    return [ReviewPublic.model_validate(r) for r in rows]


@router.post("/{review_id}", response_model=DecisionPublic)
def decide_review(
    review_id: RowId,
    body: ReviewDecide,
    pii: PiiDep,
    session: SessionDep,
    caller: Annotated[Caller, Depends(allowed("reviews.decide"))],
) -> DecisionPublic:
    """Approve or decline with a reason; the override is stored beside the original decision."""
    _, decision = complete_review(session, review_id, body.outcome, body.reason, caller.name)
    return decision_public(session, decision, caller, pii)
