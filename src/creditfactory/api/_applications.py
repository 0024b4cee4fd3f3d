"""``/v1/applications``: decide, store and explain applications."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Request, Response, status
from sqlalchemy import select

from creditfactory.api._decisions import decision_public
from creditfactory.api._deps import Caller, Reader, SessionDep, allowed
from creditfactory.api._schemas import ERRORS, ApplicationDecision, ApplicationPublic
from creditfactory.store import DecisionRecord, DecisionService, get_application

router = APIRouter(prefix="/v1/applications", tags=["applications"], responses=ERRORS)
JSON = "application/json"


@router.post("", response_model=ApplicationDecision, status_code=status.HTTP_201_CREATED)
async def create_application(
    application: Annotated[dict[str, Any], Body(description="the active strategy's inputs")],
    request: Request,
    caller: Annotated[Caller, Depends(allowed("applications.create"))],
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> Response:
    """Validate, decide and store an application; a retried ``Idempotency-Key`` replays.

    The answer comes after the application, decision, review and ledger entry are committed.
    """
    service: DecisionService = request.app.state.service  # no dependency: this is the hot path
    out = await service.decide_async(application, caller.name, caller.id, idempotency_key)
    body = ApplicationDecision.of(out).model_dump_json().encode()
    if out.replayed:  # already validated: answer directly rather than re-validate
        return Response(body, status.HTTP_200_OK, {"Idempotent-Replayed": "true"}, JSON)
    return Response(body, status.HTTP_201_CREATED, media_type=JSON)


@router.get("/{application_id}", response_model=ApplicationPublic)
def read_application(application_id: int, session: SessionDep, _: Reader) -> ApplicationPublic:
    """An application as received, with its decision and review."""
    app = get_application(session, application_id)
    rec = session.execute(
        select(DecisionRecord).where(DecisionRecord.application_id == app.id)
    ).scalar_one_or_none()
    return ApplicationPublic(
        id=app.id, external_id=app.external_id, payload=app.payload, received_at=app.received_at,
        decision=None if rec is None else decision_public(session, rec),
    )  # fmt: skip
