"""``/v1/decisions``: a stored decision with its full explanation."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from creditfactory.api._deps import Caller, PiiDep, Reader, SessionDep
from creditfactory.api._explain import Explainer, LangDep, explained, money, rate
from creditfactory.api._json import StrictJSONRoute
from creditfactory.api._schemas import (
    ERRORS,
    AdverseReason,
    DecisionPublic,
    ReasonPublic,
    RowId,
    review_public,
)
from creditfactory.exceptions import DataError
from creditfactory.store import (
    Application,
    ConflictError,
    DecisionRecord,
    Protector,
    Review,
    get_decision,
)

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


async def get_explainer(request: Request) -> Explainer:
    return request.app.state.explainer  # type: ignore[no-any-return]


ExplainerDep = Annotated[Explainer, Depends(get_explainer)]


def masked(pii: Protector | None, payload: dict[str, Any]) -> dict[str, Any]:
    """An application with its personal identifiers masked, whatever the caller's role (what
    reason texts and the review queue show)."""
    return payload if pii is None else pii.reveal(payload, "read-only")


def decision_public(
    session: Session,
    rec: DecisionRecord,
    caller: Caller,
    pii: Protector | None,
    lang: str = "en",
    explainer: Explainer | None = None,
    application: Application | None = None,
) -> DecisionPublic:
    """A decision as ``caller`` may see it: identifiers among its values (a strategy may output
    an input) in clear for an admin, masked for every other role; its reasons explained in
    ``lang`` by the strategy version that made it (values from the masked application)."""
    values = revealed(pii, rec.values, caller, f"decision {rec.id}: values")
    review = session.execute(select(Review).where(Review.decision_id == rec.id)).scalar()
    final = review.outcome if review is not None and review.outcome else rec.decision
    every: list[dict[str, Any]] = []
    told: list[dict[str, Any]] = []
    if explainer is not None and rec.reasons:
        app = application or session.get(Application, rec.application_id)
        payload = None if app is None else masked(pii, app.payload)
        strategy = explainer.strategy(session, rec.strategy, rec.version)
        every, told = explained(strategy, list(rec.reasons), payload, lang)
    return DecisionPublic(
        id=rec.id, application_id=rec.application_id, decision=rec.decision,
        final_decision=final, limit=money(rec.limit), apr=rate(rec.apr), term=rec.term,
        reasons=rec.reasons, trace=rec.trace, strategy=rec.strategy, version=rec.version,
        model_versions=rec.model_versions, values=values, list_hits=rec.list_hits,
        decided_at=rec.decided_at, review=review_public(review), lang=lang,
        explanations=[ReasonPublic.model_validate(r) for r in every],
        adverse_action=[AdverseReason.model_validate(r) for r in told],
    )  # fmt: skip


@router.get("/{decision_id}", response_model=DecisionPublic)
def read_decision(
    decision_id: RowId,
    session: SessionDep,
    caller: Reader,
    pii: PiiDep,
    lang: LangDep,
    explainer: ExplainerDep,
) -> DecisionPublic:
    """The decision, its reasons explained (in ``lang``), what the applicant may be told, the
    trace, strategy and model versions, and any override."""
    rec = get_decision(session, decision_id)
    return decision_public(session, rec, caller, pii, lang, explainer)
