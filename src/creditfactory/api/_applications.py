"""``/v1/applications``: decide, store and explain applications."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response, status
from fastapi.exceptions import RequestValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from creditfactory.api._decisions import ExplainerDep, decision_public, revealed
from creditfactory.api._deps import Caller, PiiDep, Reader, SessionDep, authorise
from creditfactory.api._explain import Explainer, LangDep, explained, lang_of, money, rate
from creditfactory.api._json import StrictJSONRoute
from creditfactory.api._limits import check_fields
from creditfactory.api._openapi import example_of
from creditfactory.api._schemas import ERRORS, ApplicationAnswer, ApplicationPublic, RowId
from creditfactory.store import (
    Application,
    ConflictError,
    DecisionRecord,
    Protector,
    active_strategy,
    find_application,
    get_application,
)

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
        },
        {
            "name": "lang", "in": "query", "required": False,
            "description": "language of reason texts: en or zh-CN (else Accept-Language, else "
            "the service's setting)",
            "schema": {"type": "string", "enum": ["en", "zh-CN"]},
        },
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
    "", response_model=ApplicationAnswer, status_code=status.HTTP_201_CREATED,
    openapi_extra=_HOT_DOC,
)  # fmt: skip
async def create_application(request: Request) -> Response:
    """Validate, decide and store an application; a retried ``Idempotency-Key`` replays.

    The answer comes after the application, decision, review and ledger entry are committed:
    the decision with its reasons explained in ``lang``, the reasons the applicant may be told
    (``adverse_action``), the limit to the fen and the APR to 4 decimal places. Every missing
    or invalid input is listed in one 422.
    """
    headers = request.headers
    caller = await authorise(request, headers.get("x-api-key"), "applications.create")
    lang = lang_of(request, request.query_params.get("lang"))
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
    body = await presented(request, out.data, raw, lang)
    if out.replayed:
        return Response(body, status.HTTP_200_OK, {"Idempotent-Replayed": "true"}, JSON)
    return Response(body, status.HTTP_201_CREATED, media_type=JSON)


async def presented(request: Request, data: dict[str, Any], raw: bytes, lang: str) -> bytes:
    """The factory's answer as the client reads it: limit to the fen, APR to 4 dp, reasons
    explained in ``lang`` by the strategy version that decided (values from the body sent)."""
    answer = dict(data)
    answer["limit"], answer["apr"] = money(answer["limit"]), rate(answer["apr"])
    every: list[dict[str, Any]] = []
    told: list[dict[str, Any]] = []
    if answer["reasons"]:
        explainer = request.app.state.explainer
        strategy = await explainer.strategy_async(answer["strategy"], answer["version"])
        payload = None
        if strategy is not None and strategy.reason_catalogue().needs_application(
            answer["reasons"]
        ):  # parsed again only when a text shows the applicant's values
            try:
                payload = json.loads(raw)  # what the factory accepted: a JSON object
            except ValueError:  # pragma: no cover - the factory parsed it already
                payload = None
        every, told = explained(strategy, answer["reasons"], payload, lang)
    answer.update(lang=lang, explanations=every, adverse_action=told)
    return json.dumps(answer, ensure_ascii=False, separators=(",", ":")).encode()


@router.get("/example", response_model=dict[str, Any])
def example_application(session: SessionDep, _: Reader, explainer: ExplainerDep) -> dict[str, Any]:
    """A body the active strategy accepts (realistic values for the simulator's columns, else a
    value inside each input's range): a start for a client's first request."""
    row = active_strategy(session)
    if row is None:
        raise ConflictError("no strategy is active: upload one and activate it")
    strategy = explainer.strategy(session, row.name, row.version)
    if strategy is None:
        raise ConflictError(f"strategy {row.name} v{row.version} does not compile any more")
    return example_of(strategy)


ExternalId = Annotated[
    str, Path(min_length=1, max_length=100, description="the client's own application id")
]


@router.get("/internal/{application_id}", response_model=ApplicationPublic)
def read_application(
    application_id: RowId,
    session: SessionDep,
    caller: Reader,
    pii: PiiDep,
    explainer: ExplainerDep,
    lang: LangDep,
) -> ApplicationPublic:
    """An application by the service's own id (operators; clients use their own id)."""
    app = get_application(session, application_id)
    return application_public(session, app, caller, pii, lang, explainer)


@router.get("/{external_id:path}", response_model=ApplicationPublic)
def read_application_by_external_id(
    external_id: ExternalId,
    session: SessionDep,
    caller: Reader,
    pii: PiiDep,
    explainer: ExplainerDep,
    lang: LangDep,
) -> ApplicationPublic:
    """An application by the client's own id (its ``application_id`` field; the latest one
    sent with that id), with its decision explained in ``lang``: personal identifiers in clear
    for an admin key, masked for every other role (``110***********1234``, ``138****5678``)."""
    app = find_application(session, external_id)
    return application_public(session, app, caller, pii, lang, explainer)


def application_public(
    session: Session, app: Application, caller: Caller, pii: Protector, lang: str,
    explainer: Explainer,
) -> ApplicationPublic:  # fmt: skip
    """An application as ``caller`` may see it, with its decision explained in ``lang``."""
    rec = session.execute(
        select(DecisionRecord).where(DecisionRecord.application_id == app.id)
    ).scalar_one_or_none()
    payload = revealed(pii, app.payload, caller, f"application {app.id}: payload")
    decision = (
        None if rec is None
        else decision_public(session, rec, caller, pii, lang, explainer, app)
    )  # fmt: skip
    return ApplicationPublic(
        id=app.id, external_id=app.external_id, payload=payload, received_at=app.received_at,
        decision=decision,
    )  # fmt: skip
