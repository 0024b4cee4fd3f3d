"""What the factory gives back for one application: the stored rows (:class:`Outcome`) and the
JSON answer built from them (:class:`Answer`, :class:`ApplicationDecision`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


@dataclass
class Outcome:
    """What deciding one application did: the stored rows and whether this was an idempotent
    replay (an earlier request with the same key, read back).

    A replay carries the ORM rows read back; a new decision carries plain records with the same
    attributes (built by the writer, which inserts with DB-API statements).
    """

    application: Any
    decision: Any
    review: Any | None
    replayed: bool


@dataclass(frozen=True)
class Answer:
    """The answer to one application: its JSON body and whether it is a replay."""

    body: bytes
    replayed: bool


class ReviewPublic(BaseModel):
    """A manual review: why it was queued and, once done, the override."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    decision_id: int
    queue_reason: str
    status: str
    outcome: str | None = None
    reason: str | None = None
    reviewer: str | None = None
    queued_at: datetime
    reviewed_at: datetime | None = None


class ApplicationDecision(BaseModel):
    """The answer to a new application."""

    application_id: int
    external_id: str | None
    decision_id: int
    decision: str
    limit: float | None
    apr: float | None
    term: int | None
    reasons: list[str]
    strategy: str
    version: str
    review: ReviewPublic | None
    replayed: bool = Field(
        description="true when an Idempotency-Key retry returned the first answer"
    )

    @classmethod
    def of(cls, out: Outcome) -> ApplicationDecision:
        d = out.decision
        return cls(
            application_id=out.application.id, external_id=out.application.external_id,
            decision_id=d.id, decision=d.decision, limit=d.limit, apr=d.apr, term=d.term,
            reasons=d.reasons, strategy=d.strategy, version=d.version,
            review=None if out.review is None else ReviewPublic.model_validate(out.review),
            replayed=out.replayed,
        )  # fmt: skip


def answer(out: Outcome) -> Answer:
    """The JSON answer of a decided (or replayed) application."""
    body = _plain_body(out)
    if body is None:
        body = ApplicationDecision.of(out).model_dump_json().encode()
    return Answer(body, out.replayed)


_encode_str = json.encoder.encode_basestring  # escapes as pydantic does (non-ASCII kept)


def _plain_float(value: Any) -> bool:
    """Whether Python writes ``value`` (a float or None) as pydantic does: finite and in
    the range where both write plain decimals (no exponent)."""
    if value is None:
        return True
    return type(value) is float and (value == 0.0 or 1e-4 <= abs(value) < 1e15)


def _plain_body(out: Outcome) -> bytes | None:
    """The answer's JSON exactly as ``ApplicationDecision.of(out).model_dump_json()`` writes
    it, without building the model, for the usual answer (no review, values of the declared
    types, plain floats); None for any other (the model writes it)."""
    a, d = out.application, out.decision
    app_id, external, dec_id, term = a.id, a.external_id, d.id, d.term
    texts = (external, d.decision, d.strategy, d.version)
    reasons = d.reasons
    if (
        out.review is not None
        or type(app_id) is not int
        or type(dec_id) is not int
        or not (term is None or type(term) is int)
        or not (external is None or type(external) is str)
        or not all(type(t) is str for t in texts[1:])
        or type(reasons) is not list
        or not all(type(r) is str for r in reasons)
        or not (_plain_float(d.limit) and _plain_float(d.apr))
    ):
        return None
    external_text, decision, strategy, version = (
        "null" if t is None else _encode_str(t) for t in texts
    )
    limit, apr = ("null" if v is None else float.__repr__(v) for v in (d.limit, d.apr))
    text = (
        f'{{"application_id":{app_id},"external_id":{external_text},"decision_id":{dec_id},'
        f'"decision":{decision},"limit":{limit},"apr":{apr},'
        f'"term":{"null" if term is None else term},'
        f'"reasons":[{",".join(map(_encode_str, reasons))}],"strategy":{strategy},'
        f'"version":{version},"review":null,"replayed":{"true" if out.replayed else "false"}}}'
    )
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # an unpaired surrogate: the model says what it says
        return None
