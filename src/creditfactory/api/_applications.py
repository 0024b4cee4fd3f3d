"""``/v1/applications``: decide, store and explain applications."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response, status
from fastapi.exceptions import RequestValidationError
from sqlalchemy import select

from creditfactory.api._decisions import decision_public, revealed
from creditfactory.api._deps import PiiDep, Reader, SessionDep, authorise
from creditfactory.api._json import StrictJSONRoute
from creditfactory.api._limits import check_fields
from creditfactory.api._schemas import ERRORS, ApplicationPublic, RowId
from creditfactory.factory import ApplicationDecision
from creditfactory.store import DecisionRecord, get_application

router = APIRouter(
    prefix="/v1/applications", tags=["applications"], responses=ERRORS, route_class=StrictJSONRoute
)
JSON = "application/json"
IDEMPOTENCY_KEY_MAX = 200


# The hot path reads the API key, the Idempotency-Key header and the JSON body itself: FastAPI's
# dependency and body-field solving cost more per request than deciding. The errors are the ones
# FastAPI would give (401/403, then field-level 422s), and OpenAPI documents all three.
_HOT_DOC: dict[str, Any] = {
    "security": [{"APIKeyHeader": []}],
    "parameters": [
        {
            "name": "idempotency-key", "in": "header", "required": False,
            "description": "a retry with the same key (and body) replays the first answer",
            "schema": {"type": "string", "maxLength": IDEMPOTENCY_KEY_MAX},
        }
    ],
    "requestBody": {
        "required": True,
        "content": {
            JSON: {
                "schema": {
                    "type": "object", "additionalProperties": True, "title": "Application",
                    "description": "the active strategy's inputs",
                }
            }
        },
    },
}  # fmt: skip


@router.post(
    "", response_model=ApplicationDecision, status_code=status.HTTP_201_CREATED,
    openapi_extra=_HOT_DOC,
)  # fmt: skip
async def create_application(request: Request) -> Response:
    """Validate, decide and store an application; a retried ``Idempotency-Key`` replays.

    The answer comes after the application, decision, review and ledger entry are committed.
    """
    headers = request.headers
    caller = await authorise(request, headers.get("x-api-key"), "applications.create")
    idempotency_key = headers.get("idempotency-key")
    if idempotency_key is not None and len(idempotency_key) > IDEMPOTENCY_KEY_MAX:
        raise RequestValidationError(
            [{"type": "string_too_long", "loc": ("header", "idempotency-key"),
              "msg": f"String should have at most {IDEMPOTENCY_KEY_MAX} characters",
              "input": idempotency_key, "ctx": {"max_length": IDEMPOTENCY_KEY_MAX}}]
        )  # fmt: skip
    raw = await request.body()
    state = request.app.state  # no dependencies: this is the hot path
    check_fields(raw, state.settings.max_fields)  # before any process parses it
    # the factory (a thread here, or the engine process) parses, decides and stores
    out = await state.factory.decide(raw, caller.name, caller.id, idempotency_key)
    # already validated: answered directly rather than re-validated
    if out.replayed:
        return Response(out.body, status.HTTP_200_OK, {"Idempotent-Replayed": "true"}, JSON)
    return Response(out.body, status.HTTP_201_CREATED, media_type=JSON)


@router.get("/{application_id}", response_model=ApplicationPublic)
def read_application(
    application_id: RowId, session: SessionDep, caller: Reader, pii: PiiDep
) -> ApplicationPublic:
    """An application as received, with its decision: personal identifiers in clear for an
    admin key, masked for every other role (``110***********1234``, ``138****5678``)."""
    app = get_application(session, application_id)
    rec = session.execute(
        select(DecisionRecord).where(DecisionRecord.application_id == app.id)
    ).scalar_one_or_none()
    payload = revealed(pii, app.payload, caller, f"application {app.id}: payload")
    return ApplicationPublic(
        id=app.id, external_id=app.external_id, payload=payload, received_at=app.received_at,
        decision=None if rec is None else decision_public(session, rec, caller, pii),
    )  # fmt: skip
