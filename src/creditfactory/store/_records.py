"""Digests of the records the ledger vouches for, derived the same way at write and verify time.

One function per record kind gives what its digest covers (``*_content``); the writer's
hand-assembled texts must equal the canonical JSON of that content (a test checks it). Every
column of a record is covered, timestamps included, as :func:`stamp` text: UTC, microseconds,
``+00:00``, whatever the database gives back (SQLite: naive text; PostgreSQL: ``timestamptz`` in
the session's time zone), so a digest survives the round trip on both.

The subjects are ``<kind>:<id>``; the kinds are the keys of :data:`RECORD_KINDS`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from creditfactory.audit import digest
from creditfactory.store._tables import (
    Activation,
    ApiKey,
    Application,
    DecisionRecord,
    ListEntry,
    ModelArtefact,
    Review,
    StrategyVersion,
)


def stamp(value: datetime | str | None) -> str | None:
    """A timestamp as the text digests cover: UTC ISO-8601 with microseconds.

    A naive value (SQLite gives those back) is UTC; text (a raw SQLite column) is parsed first.

    Examples
    --------
    >>> from datetime import timedelta, timezone
    >>> stamp(datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=8))))
    '2026-01-01T19:04:05.000000+00:00'
    >>> stamp("2026-01-01 19:04:05.000000") == stamp(datetime(2026, 1, 1, 19, 4, 5))
    True
    """
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    elif value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat(timespec="microseconds")


def application_content(a: Any) -> dict[str, Any]:
    """What an application's digest covers."""
    return {
        "id": a.id,
        "external_id": a.external_id,
        "payload": a.payload,
        "request_sha256": a.request_sha256,
        "idempotency_key": a.idempotency_key,
        "api_key_id": a.api_key_id,
        "received_at": stamp(a.received_at),
    }


def decision_content(d: Any) -> dict[str, Any]:
    """What a decision's digest covers."""
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
        "decided_at": stamp(d.decided_at),
    }


def review_content(r: Any) -> dict[str, Any]:
    """What a review's digest covers."""
    return {
        "id": r.id,
        "decision_id": r.decision_id,
        "queue_reason": r.queue_reason,
        "status": r.status,
        "outcome": r.outcome,
        "reason": r.reason,
        "reviewer": r.reviewer,
        "queued_at": stamp(r.queued_at),
        "reviewed_at": stamp(r.reviewed_at),
    }


def key_content(k: Any) -> dict[str, Any]:
    """What an API key's digest covers (who may act, and since when)."""
    return {
        "id": k.id,
        "key_id": k.key_id,
        "name": k.name,
        "role": k.role,
        "key_hash": k.key_hash,
        "created_at": stamp(k.created_at),
        "revoked_at": stamp(k.revoked_at),
    }


def strategy_content(s: Any) -> dict[str, Any]:
    """What a strategy version's digest covers (its source text included)."""
    return {
        "id": s.id,
        "name": s.name,
        "version": s.version,
        "source": s.source,
        "sha256": s.sha256,
        "base_dir": s.base_dir,
        "uploaded_by": s.uploaded_by,
        "uploaded_at": stamp(s.uploaded_at),
    }


def activation_content(a: Any) -> dict[str, Any]:
    """What an activation's digest covers (which version was put in force, when, by whom)."""
    return {
        "id": a.id,
        "strategy_id": a.strategy_id,
        "action": a.action,
        "actor": a.actor,
        "at": stamp(a.at),
    }


def model_content(m: Any) -> dict[str, Any]:
    """What a model artefact's digest covers (its spec text included)."""
    return {
        "id": m.id,
        "name": m.name,
        "version": m.version,
        "spec": m.spec,
        "sha256": m.sha256,
        "registered_by": m.registered_by,
        "registered_at": stamp(m.registered_at),
    }


def list_entry_content(e: Any) -> dict[str, Any]:
    """What a list entry's digest covers."""
    return {
        "id": e.id,
        "list_name": e.list_name,
        "field": e.field,
        "value_hash": e.value_hash,
        "note": e.note,
        "added_by": e.added_by,
        "added_at": stamp(e.added_at),
    }


#: kind (the subject's prefix) -> (table, content function), in the order verify reads them
RECORD_KINDS: dict[str, tuple[type[Any], Callable[[Any], dict[str, Any]]]] = {
    "api_key": (ApiKey, key_content),
    "model": (ModelArtefact, model_content),
    "strategy": (StrategyVersion, strategy_content),
    "activation": (Activation, activation_content),
    "list_entry": (ListEntry, list_entry_content),
    "application": (Application, application_content),
    "decision": (DecisionRecord, decision_content),
    "review": (Review, review_content),
}
#: the kinds authority comes from: who may act, and what decides (checked at start-up)
AUTHORITY = ("api_key", "model", "strategy", "activation")
_KIND_OF = {model: kind for kind, (model, _) in RECORD_KINDS.items()}


def subject_of(record: Any) -> str:
    """The ledger subject naming a record, e.g. ``decision:42``."""
    return f"{_KIND_OF[type(record)]}:{record.id}"


def record_digest(record: Any, kind: str | None = None) -> str:
    """The digest of one record's content (``kind`` names it when it is not an ORM row)."""
    content = RECORD_KINDS[kind or _KIND_OF[type(record)]][1]
    return digest(content(record))


def vouch(*records: Any) -> dict[str, str]:
    """``{subject: digest}`` of ORM rows, for a ledger entry's ``payload.digests``."""
    return {subject_of(r): record_digest(r) for r in records}


def iter_record_digests(session: Session) -> Iterator[tuple[str, str]]:
    """``(subject, digest)`` of every record the ledger vouches for, streamed."""
    for kind, (model, content) in RECORD_KINDS.items():
        stmt = select(model).order_by(model.id).execution_options(yield_per=2000)
        result = session.execute(stmt)
        try:
            for rec in result.scalars():
                yield f"{kind}:{rec.id}", digest(content(rec))
                session.expunge(rec)
        finally:
            result.close()


def record_digests(session: Session) -> dict[str, str]:
    """``{subject: digest}`` of every vouched-for record in the database."""
    return dict(iter_record_digests(session))
