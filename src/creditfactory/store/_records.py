"""Digests of the records the ledger vouches for, derived the same way at write and verify time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from creditfactory.audit import digest
from creditfactory.store._tables import Application, DecisionRecord, Review


def application_content(a: Application) -> dict[str, Any]:
    """What an application's digest covers."""
    return {
        "id": a.id,
        "external_id": a.external_id,
        "payload": a.payload,
        "request_sha256": a.request_sha256,
        "idempotency_key": a.idempotency_key,
        "api_key_id": a.api_key_id,
    }


def decision_content(d: DecisionRecord) -> dict[str, Any]:
    """What a decision's digest covers (everything but the timestamp)."""
    return {
        "id": d.id,
        "application_id": d.application_id,
        "strategy_id": d.strategy_id,
        "strategy": d.strategy,
        "version": d.version,
        "decision": d.decision,
        "limit": d.limit,
        "apr": d.apr,
        "term": d.term,
        "reasons": d.reasons,
        "trace": d.trace,
        "model_versions": d.model_versions,
        "values": d.values,
        "list_hits": d.list_hits,
    }


def review_content(r: Review) -> dict[str, Any]:
    """What a review's digest covers."""
    return {
        "id": r.id,
        "decision_id": r.decision_id,
        "queue_reason": r.queue_reason,
        "status": r.status,
        "outcome": r.outcome,
        "reason": r.reason,
        "reviewer": r.reviewer,
    }


def subject_of(record: Application | DecisionRecord | Review) -> str:
    """The ledger subject naming a record, e.g. ``decision:42``."""
    kind = {Application: "application", DecisionRecord: "decision", Review: "review"}[type(record)]
    return f"{kind}:{record.id}"


def record_digest(record: Any, kind: str | None = None) -> str:
    """The digest of one record's content (``kind`` names it when it is not an ORM row)."""
    kind = kind or {Application: "application", DecisionRecord: "decision"}.get(
        type(record), "review"
    )
    if kind == "application":
        return digest(application_content(record))
    if kind == "decision":
        return digest(decision_content(record))
    return digest(review_content(record))


def iter_record_digests(session: Session) -> Iterator[tuple[str, str]]:
    """``(subject, digest)`` of every application, decision and review, streamed."""
    for model in (Application, DecisionRecord, Review):
        stmt = select(model).order_by(model.id).execution_options(yield_per=2000)
        result = session.execute(stmt)
        try:
            for rec in result.scalars():
                yield subject_of(rec), record_digest(rec)  # type: ignore[arg-type]  # one of the three
                session.expunge(rec)
        finally:
            result.close()


def record_digests(session: Session) -> dict[str, str]:
    """``{subject: digest}`` of every application, decision and review in the database."""
    return dict(iter_record_digests(session))
