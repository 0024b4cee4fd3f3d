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
    """The answer to one application: its JSON object (the fields of
    :class:`ApplicationDecision`, JSON values) and whether it is a replay.

    The object crosses to the front as it is (the front adds to it and encodes it once);
    :attr:`body` is its JSON text.
    """

    data: dict[str, Any]
    replayed: bool

    @property
    def body(self) -> bytes:
        """The answer as JSON text."""
        return json.dumps(self.data, ensure_ascii=False, separators=(",", ":")).encode()


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
    """The JSON answer of a decided (or replayed) application: :class:`ApplicationDecision`'s
    fields from the stored rows, built as a plain object (the rows' values are the types the
    model declares: nothing to validate; a review, rarer, goes through :class:`ReviewPublic`
    for its times' text). ``tests/factory/test_inprocess.py`` checks it against the model."""
    d, app, review = out.decision, out.application, out.review
    return Answer(
        {
            "application_id": app.id, "external_id": app.external_id, "decision_id": d.id,
            "decision": d.decision, "limit": d.limit, "apr": d.apr, "term": d.term,
            "reasons": list(d.reasons), "strategy": d.strategy, "version": d.version,
            "review": (
                None if review is None
                else ReviewPublic.model_validate(review).model_dump(mode="json")
            ),
            "replayed": out.replayed,
        },
        out.replayed,
    )  # fmt: skip
