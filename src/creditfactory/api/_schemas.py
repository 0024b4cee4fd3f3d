"""Request and response schemas (kept apart from the tables)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Path
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from creditfactory._nested import first_problem, path_text, text_problem, unstorable
from creditfactory.factory import ApplicationDecision, ReviewPublic
from creditfactory.store import Review


def _storable(text: str) -> str:
    problem = text_problem(text)
    if problem is not None:
        raise ValueError(problem)
    return text


def _storable_json(value: dict[str, Any]) -> dict[str, Any]:
    found = first_problem(value, unstorable)
    if found is not None:
        path, problem = found
        raise ValueError(f"{path_text(path)}: {problem}")
    return value


# what a request may carry as text: no U+0000, no unpaired surrogate (a 422 naming the field,
# not a database error); request documents likewise, keys and texts at any depth
Text = Annotated[str, AfterValidator(_storable)]
Document = Annotated[dict[str, Any], AfterValidator(_storable_json)]
# a row id in a path: from 1 to what the tables' integer ids hold on every database (PostgreSQL's
# integer is 32 bits; SQLite cannot even bind 2**63): a 422 beyond, never a database error
ROW_ID_MAX = 2**31 - 1
RowId = Annotated[int, Path(ge=1, le=ROW_ID_MAX)]


class ReasonPublic(BaseModel):
    """One reason code explained (for staff: every reason, internal ones included)."""

    code: str
    text: str = Field(description="in the answer's language (en or zh-CN)")
    kind: Literal["rule", "model", "list", "system"]
    tell: bool = Field(description="whether the applicant may be told this reason")
    feature: str | None = Field(None, description="a model reason's characteristic")
    value: Any = Field(None, description="a model reason: the applicant's value")
    points: float | None = Field(
        None, description="a model reason: the points it cost against the best bin (negative)"
    )


class AdverseReason(BaseModel):
    """A reason the applicant may be told (no list, fraud or system reason)."""

    code: str
    text: str


_EXPLANATIONS = "every reason code with its text, in the decision's order (the first reason of "
_EXPLANATIONS += "a decline is why it was declined)"
_ADVERSE = "at most 4 reasons the applicant may be told, separately from the internal trace"


class ApplicationAnswer(ApplicationDecision):
    """The answer to a new application: the decision, its reasons explained in ``lang``, and
    what the applicant may be told; ``limit`` to the fen, ``apr`` to 4 decimal places."""

    lang: str
    explanations: list[ReasonPublic] = Field(description=_EXPLANATIONS)
    adverse_action: list[AdverseReason] = Field(description=_ADVERSE)


class DecisionPublic(BaseModel):
    """A stored decision with its full explanation (``limit`` to the fen, ``apr`` to 4 dp)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    application_id: int
    decision: Literal["approve", "decline", "refer"]
    final_decision: str = Field(description="the override if reviewed, else the decision")
    limit: float | None
    apr: float | None
    term: int | None
    reasons: list[str]
    trace: list[str]
    strategy: str
    version: str
    model_versions: dict[str, str]
    values: dict[str, Any]
    list_hits: list[str]
    decided_at: datetime
    review: ReviewPublic | None = None
    lang: str = "en"
    explanations: list[ReasonPublic] = Field(default_factory=list, description=_EXPLANATIONS)
    adverse_action: list[AdverseReason] = Field(default_factory=list, description=_ADVERSE)


class ReviewItem(ReviewPublic):
    """A queued review with what a reviewer needs: the application (identifiers masked), the
    decision and its reasons as texts, the fraud flags and the time in the queue."""

    application_id: int
    external_id: str | None
    applicant: dict[str, Any] = Field(
        description="the application as received, personal identifiers masked"
    )
    amount: float | None = Field(description="the amount requested, to the fen")
    term: int | None = Field(description="the term decided, else the term requested")
    score: float | None = Field(description="the first model score the strategy binds")
    decision: Literal["approve", "decline", "refer"]
    limit: float | None
    apr: float | None
    reasons: list[ReasonPublic]
    fraud_flags: list[str] = Field(
        description="list hits and reasons the applicant is not told (fraud, lists), as texts"
    )
    seconds_in_queue: float = Field(description="since queued, until reviewed or now")


class ApplicationPublic(BaseModel):
    """An application as received, with its decision."""

    id: int
    external_id: str | None
    payload: dict[str, Any]
    received_at: datetime
    decision: DecisionPublic | None


class StrategyCreate(BaseModel):
    """A new strategy version: its YAML text (name and version come from inside it)."""

    source: Text = Field(min_length=1, description="the strategy YAML")
    activate: bool = Field(False, description="activate it at once (admin only)")


class StrategyPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    version: str
    sha256: str
    uploaded_by: str
    uploaded_at: datetime
    active: bool = False


class StrategySource(StrategyPublic):
    source: str | None = Field(
        None,
        description="the YAML; null for roles that may not upload strategies (it may hold "
        "inline list values)",
    )


class ModelCreate(BaseModel):
    """A model artefact: a ``creditfactory.scoring_spec`` JSON document."""

    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.\-]+$")
    version: Text = Field(min_length=1, max_length=50)
    spec: Document


class ModelPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    version: str
    sha256: str
    registered_by: str
    registered_at: datetime


class ListChange(BaseModel):
    """Identifiers to add to or remove from a list; they are hashed before storage."""

    field: str = Field(min_length=1, max_length=50, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    values: list[Text] = Field(min_length=1, max_length=10_000)
    note: Text = Field("", max_length=200)


class ListChangeResult(BaseModel):
    list: str
    field: str
    changed: int


class ListSummary(BaseModel):
    list: str
    field: str
    entries: int


class KeyCreate(BaseModel):
    name: Text = Field(min_length=1, max_length=100)
    role: Literal["admin", "analyst", "underwriter", "read-only"]


class KeyPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    key_id: str = Field(description="public, random: not derived from the secret")
    name: str
    role: str
    created_at: datetime
    revoked_at: datetime | None = None


class KeyCreated(KeyPublic):
    key: str = Field(description="the secret: shown once, stored only as a hash")


class ReviewDecide(BaseModel):
    """An underwriter's verdict on a queued decision."""

    outcome: Literal["approve", "decline"]
    reason: Text = Field(min_length=3, max_length=2000)


class LedgerEntryPublic(BaseModel):
    seq: int
    kind: str
    subject: str
    actor: str
    created_at: str
    payload: dict[str, Any]
    prev_hash: str
    hash: str


class VerifyResult(BaseModel):
    ok: bool
    checked: int
    head: str
    first_problem: dict[str, Any] | None


def review_public(review: Review | None) -> ReviewPublic | None:
    return None if review is None else ReviewPublic.model_validate(review)


class ErrorPublic(BaseModel):
    """The body of every error other than a field-level 422."""

    detail: str


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorPublic, "description": "invalid configuration or argument"},
    401: {"model": ErrorPublic, "description": "missing, unknown or revoked API key"},
    403: {"model": ErrorPublic, "description": "the key's role may not do this"},
    404: {"model": ErrorPublic, "description": "no such record"},
    409: {"model": ErrorPublic, "description": "conflicts with the current state"},
}
