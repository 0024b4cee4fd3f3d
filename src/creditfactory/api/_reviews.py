"""``/v1/reviews``: the manual-review queue (refers and the QC sample)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query

from creditfactory.api._decisions import ExplainerDep, decision_public, masked
from creditfactory.api._deps import Caller, PiiDep, Reader, SessionDep, allowed
from creditfactory.api._explain import LangDep, explained, money, rate
from creditfactory.api._json import StrictJSONRoute
from creditfactory.api._schemas import (
    ERRORS,
    DecisionPublic,
    ReasonPublic,
    ReviewDecide,
    ReviewItem,
    RowId,
)
from creditfactory.decision import Strategy
from creditfactory.store import complete_review, review_queue

router = APIRouter(
    prefix="/v1/reviews", tags=["reviews"], responses=ERRORS, route_class=StrictJSONRoute
)

AMOUNT_FIELDS = ("amount_requested", "amount")  # the simulator's name, then a plain one
TERM_FIELDS = ("term_requested", "term")


@router.get("", response_model=list[ReviewItem])
def queue(
    session: SessionDep,
    _: Reader,
    pii: PiiDep,
    lang: LangDep,
    explainer: ExplainerDep,
    status: Literal["pending", "done", "all"] = "pending",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[ReviewItem]:
    """Reviews, oldest first (pending ones by default), each with what a reviewer needs: the
    application with identifiers masked, amount, term, score, decision, reasons as texts (in
    ``lang``), fraud flags and the time in the queue."""
    now = datetime.now(UTC)
    out = []
    for review, rec, app in review_queue(session, None if status == "all" else status, limit):
        payload = masked(pii, app.payload)
        strategy = explainer.strategy(session, rec.strategy, rec.version)
        every, _told = explained(strategy, list(rec.reasons), payload, lang)
        flags = [f"list: {hit}" for hit in rec.list_hits]
        flags += [r["text"] for r in every if not r["tell"] and r["kind"] != "system"]
        term = rec.term if rec.term is not None else _first(payload, TERM_FIELDS, int)
        item = ReviewItem(
            id=review.id, decision_id=rec.id, queue_reason=review.queue_reason,
            status=review.status, outcome=review.outcome, reason=review.reason,
            reviewer=review.reviewer, queued_at=review.queued_at,
            reviewed_at=review.reviewed_at, application_id=app.id,
            external_id=app.external_id, applicant=payload,
            amount=money(_first(payload, AMOUNT_FIELDS, float)), term=term,
            score=_score(strategy, rec.values), decision=rec.decision,
            limit=money(rec.limit), apr=rate(rec.apr),
            reasons=[ReasonPublic.model_validate(r) for r in every], fraud_flags=flags,
            seconds_in_queue=_seconds(review.queued_at, review.reviewed_at or now),
        )  # fmt: skip
        out.append(item)
    return out


def _first(payload: dict[str, Any], names: tuple[str, ...], kind: type) -> Any:
    for name in names:
        value = payload.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return kind(value)
    return None


def _score(strategy: Strategy | None, values: dict[str, Any]) -> float | None:
    """The first model score the strategy binds, among the decision's outputs."""
    names = []
    if strategy is not None:
        names = [
            step.binds["score"]
            for step in strategy.iter_steps()
            if "score" in getattr(step, "binds", {})
        ]
    names += [k for k in values if k.endswith("score")]
    for name in names:
        value = values.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    return None


def _seconds(start: datetime, end: datetime) -> float:
    # SQLite gives naive datetimes back: they were written in UTC
    start = start if start.tzinfo else start.replace(tzinfo=UTC)
    end = end if end.tzinfo else end.replace(tzinfo=UTC)
    return round(max(0.0, (end - start).total_seconds()), 3)


@router.post("/{review_id}", response_model=DecisionPublic)
def decide_review(
    review_id: RowId,
    body: ReviewDecide,
    pii: PiiDep,
    session: SessionDep,
    lang: LangDep,
    explainer: ExplainerDep,
    caller: Annotated[Caller, Depends(allowed("reviews.decide"))],
) -> DecisionPublic:
    """Approve or decline with a reason; the override is stored beside the original decision."""
    _, decision = complete_review(session, review_id, body.outcome, body.reason, caller.name)
    return decision_public(session, decision, caller, pii, lang, explainer)
