"""``/v1/applications``: decide, store and explain applications."""

from __future__ import annotations

import math
from typing import Any

from fastapi import APIRouter, Request, Response, status
from fastapi.exceptions import RequestValidationError
from sqlalchemy import select

from creditfactory._nested import first_problem
from creditfactory.api._decisions import decision_public, revealed
from creditfactory.api._deps import Reader, ServiceDep, SessionDep, authorise
from creditfactory.api._json import (
    RepeatedKeyError,
    StrictJSONRoute,
    repeated_key_error,
    strict_loads,
)
from creditfactory.api._limits import check_fields
from creditfactory.api._schemas import ERRORS, ApplicationDecision, ApplicationPublic, RowId
from creditfactory.store import DecisionRecord, DecisionService, Outcome, get_application

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


def parse_application(raw: bytes) -> dict[str, Any]:
    """The JSON object in a request body (what ``Body()`` of ``dict[str, Any]`` would accept).

    Raises
    ------
    RequestValidationError
        The body is empty, not JSON, not an object, names a key twice in an object, holds a
        non-finite number or nests too deeply (FastAPI's field-level errors, located in the
        body).
    """
    if not raw:
        raise RequestValidationError(
            [{"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}]
        )
    try:
        value = strict_loads(raw)
    except RepeatedKeyError as exc:
        raise repeated_key_error(exc) from None
    except ValueError as exc:  # JSONDecodeError, or bytes that are not UTF-8/16/32
        pos = getattr(exc, "pos", 0)
        msg = getattr(exc, "msg", str(exc))
        raise RequestValidationError(
            [{"type": "json_invalid", "loc": ("body", pos), "msg": "JSON decode error",
              "input": {}, "ctx": {"error": msg}}]
        ) from exc  # fmt: skip
    except RecursionError as exc:
        raise RequestValidationError(
            [{"type": "json_invalid", "loc": ("body",), "msg": "JSON decode error",
              "input": {}, "ctx": {"error": "nested too deeply"}}]
        ) from exc  # fmt: skip
    if not isinstance(value, dict):
        # the input is echoed as FastAPI does, unless nested past MAX_DEPTH (a 500-level list
        # would then be encoded, and carried between processes, level by level)
        deep = isinstance(value, list) and first_problem(value, _fine, MAX_DEPTH) is not None
        raise RequestValidationError(
            [{"type": "dict_type", "loc": ("body",), "msg": "Input should be a valid dictionary",
              "input": None if deep else value}]
        )  # fmt: skip
    problem = _problem(value)
    if problem is not None:
        path, message = problem
        raise RequestValidationError(
            [{"type": "value_error", "loc": ("body", *path), "input": None, "msg": message}]
        )
    return value


async def decide_body(
    service: DecisionService, raw: bytes, actor: str, api_key_id: int | None,
    idempotency_key: str | None,
) -> tuple[int, bytes]:  # fmt: skip
    """Parse, decide and store one application body: the HTTP status and the JSON answer
    (201, or 200 for a replayed ``Idempotency-Key``)."""
    application = parse_application(raw)
    return answer(await service.decide_async(application, actor, api_key_id, idempotency_key))


def answer(out: Outcome) -> tuple[int, bytes]:
    """The HTTP status and JSON body answering a decided (or replayed) application."""
    body = ApplicationDecision.of(out).model_dump_json().encode()
    return (status.HTTP_200_OK if out.replayed else status.HTTP_201_CREATED), body


MAX_DEPTH = 32  # an application is a record: deeper nesting is an error, not data

_NOT_FINITE = (
    "Input should be a finite number (NaN, Infinity and numbers beyond 1.8e308 are not JSON "
    "numbers)"
)


def _fine(_: Any, __: Any) -> None:
    return None


def _not_finite(_: Any, item: Any) -> str | None:
    return _NOT_FINITE if type(item) is float and not math.isfinite(item) else None


def _problem(value: dict[str, Any]) -> tuple[tuple[str | int, ...], str] | None:
    """Where a parsed body first holds a non-finite float (Python's JSON reader accepts ``NaN``
    and ``Infinity`` and reads ``1e400`` as infinity; JSON has none of them) or nests deeper
    than :data:`MAX_DEPTH`, and what is wrong there."""
    deep = f"Input should be nested at most {MAX_DEPTH} levels deep"
    return first_problem(value, _not_finite, MAX_DEPTH, deep)


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
    if state.engine is not None:  # the engine process parses, decides and stores
        code, body = await state.engine.decide(raw, caller.name, caller.id, idempotency_key)
    else:
        code, body = await decide_body(state.service, raw, caller.name, caller.id, idempotency_key)
    # already validated: answered directly rather than re-validated
    if code == status.HTTP_200_OK:
        return Response(body, code, {"Idempotent-Replayed": "true"}, JSON)
    return Response(body, code, media_type=JSON)


@router.get("/{application_id}", response_model=ApplicationPublic)
def read_application(
    application_id: RowId, session: SessionDep, caller: Reader, service: ServiceDep
) -> ApplicationPublic:
    """An application as received, with its decision: personal identifiers in clear for an
    admin key, masked for every other role (``110***********1234``, ``138****5678``)."""
    app = get_application(session, application_id)
    rec = session.execute(
        select(DecisionRecord).where(DecisionRecord.application_id == app.id)
    ).scalar_one_or_none()
    pii = service.pii
    payload = revealed(pii, app.payload, caller, f"application {app.id}: payload")
    return ApplicationPublic(
        id=app.id, external_id=app.external_id, payload=payload, received_at=app.received_at,
        decision=None if rec is None else decision_public(session, rec, caller, pii),
    )  # fmt: skip
