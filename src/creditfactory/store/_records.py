"""Digests of the records the ledger vouches for, derived the same way at write and verify time.

:data:`COVERED` names the columns each kind's digest covers and :func:`content_pieces` writes
the text a digest covers, once for everyone: the writer (around the ids it reserves later), every
append and ``audit verify``. Every
column of a record is covered, timestamps included, as :func:`stamp` text: UTC, microseconds,
``+00:00``, whatever the database gives back (SQLite: naive text; PostgreSQL: ``timestamptz`` in
the session's time zone), so a digest survives the round trip on both.

The subjects are ``<kind>:<id>``; the kinds are the keys of :data:`RECORD_KINDS`.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from creditfactory.audit import canonical_json
from creditfactory.store._fraud_links import ALL_LINK_COLS, FraudLink
from creditfactory.store._id_card_table import IdCardCheck
from creditfactory.store._loan_tables import Loan, LoanPayment, LoanWriteOff
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


#: the columns each record kind's digest covers (every column of its table); the ``*_at``
#: columns (and an activation's ``at``) as :func:`stamp` text
COVERED: dict[str, tuple[str, ...]] = {
    "api_key": ("id", "key_id", "name", "role", "key_hash", "created_at", "revoked_at"),
    "model": ("id", "name", "version", "spec", "sha256", "registered_by", "registered_at"),
    "strategy": (
        "id", "name", "version", "source", "sha256", "base_dir", "uploaded_by", "uploaded_at",
    ),
    "activation": ("id", "strategy_id", "action", "actor", "at"),
    "list_entry": ("id", "list_name", "field", "value_hash", "note", "added_by", "added_at"),
    "application": (
        "id", "external_id", "payload", "request_sha256", "idempotency_key", "api_key_id",
        "received_at",
    ),
    "decision": (
        "id", "application_id", "strategy_id", "strategy", "version", "decision", "limit",
        "apr", "term", "reasons", "trace", "model_versions", "values", "list_hits",
        "decided_at",
    ),
    "review": (
        "id", "decision_id", "queue_reason", "status", "outcome", "reason", "reviewer",
        "queued_at", "reviewed_at",
    ),
    "loan": (
        "id", "decision_id", "amount", "apr", "term", "method", "disbursed_on", "penalty_rate",
        "late_fee", "created_by", "created_at",
    ),
    "loan_payment": (
        "id", "loan_id", "paid_on", "amount", "reference", "idempotency_key", "request_sha256",
        "posted_by", "posted_at",
    ),
    "loan_write_off": (
        "id", "loan_id", "written_off_on", "amount", "reason", "written_off_by", "created_at",
    ),
    "id_card_check": (
        "id", "application_id", "image_hmac", "ok", "problems", "fields", "confidence",
        "checked_by", "checked_at",
    ),
    # a decided application's fraud link (keyed hashes, times in seconds), vouched for by its
    # decision's ledger entry: a link altered, removed or slipped in would change the fraud
    # features of every later application that shares an identifier with it
    "fraud_link": ALL_LINK_COLS,
}  # fmt: skip
#: covered columns whose name ends in ``_at`` but that hold seconds, not timestamps
_NOT_TIMES = frozenset({("fraud_link", "known_bad_at")})
_SORTED = {kind: tuple(sorted(cols)) for kind, cols in COVERED.items()}


def is_time(column: str) -> bool:
    """Whether a covered column is a timestamp (digested as :func:`stamp` text)."""
    return column == "at" or column.endswith("_at")


def content(kind: str, record: Any) -> dict[str, Any]:
    """What the digest of a record of ``kind`` covers: its columns, timestamps as :func:`stamp`."""
    return {
        c: stamp(getattr(record, c))
        if is_time(c) and (kind, c) not in _NOT_TIMES
        else getattr(record, c)
        for c in COVERED[kind]
    }


def content_pieces(kind: str, texts: Mapping[str, str], holes: tuple[str, ...] = ()) -> list[str]:
    """The text a record's digest covers, from each column's canonical JSON text, cut where the
    ``holes`` columns' values go (left out): ``len(holes) + 1`` pieces.

    **The one place a digest text is written.** :func:`content_text` (``audit verify``, every
    append) joins it without holes; the group-commit writer calls it once per decision with the
    ids as holes, before it has reserved them, and fills them in per batch. The text is the
    canonical JSON of :func:`content` (sorted keys, no spaces), so a digest is
    ``audit.digest(content(kind, record))``.

    Examples
    --------
    >>> texts = {"id": "7", "strategy_id": "1", "action": '"activate"', "actor": '"ann"',
    ...          "at": '"2026-01-01T00:00:00.000000+00:00"'}
    >>> content_pieces("activation", texts, ("id",))[0]
    '{"action":"activate","actor":"ann","at":"2026-01-01T00:00:00.000000+00:00","id":'
    """
    return [piece.format_map(texts) for piece in _templates(kind, holes)]


@functools.cache
def _templates(kind: str, holes: tuple[str, ...]) -> tuple[str, ...]:
    """:func:`content_pieces`' pieces as format strings (``{column}`` where a text goes)."""
    out: list[str] = []
    part = "{{"
    for c in _SORTED[kind]:
        part += f'"{c}":' if part == "{{" else f',"{c}":'
        if c in holes:
            out.append(part)
            part = ""
        else:
            part += f"{{{c}}}"
    out.append(part + "}}")
    return tuple(out)


def content_text(kind: str, texts: Mapping[str, str]) -> str:
    """:func:`content_pieces` without holes: the whole text a record's digest covers."""
    return content_pieces(kind, texts)[0]


def _content_of(kind: str) -> Callable[[Any], dict[str, Any]]:
    def of(record: Any) -> dict[str, Any]:
        return content(kind, record)

    of.__name__ = f"{kind}_content"
    of.__doc__ = f"What a {kind.replace('_', ' ')}'s digest covers (:func:`content`)."
    return of


application_content = _content_of("application")
decision_content = _content_of("decision")
review_content = _content_of("review")
key_content = _content_of("api_key")
strategy_content = _content_of("strategy")
activation_content = _content_of("activation")
model_content = _content_of("model")
list_entry_content = _content_of("list_entry")
loan_content = _content_of("loan")
loan_payment_content = _content_of("loan_payment")
loan_write_off_content = _content_of("loan_write_off")
id_card_check_content = _content_of("id_card_check")
fraud_link_content = _content_of("fraud_link")


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
    "loan": (Loan, loan_content),
    "loan_payment": (LoanPayment, loan_payment_content),
    "loan_write_off": (LoanWriteOff, loan_write_off_content),
    "id_card_check": (IdCardCheck, id_card_check_content),
    "fraud_link": (FraudLink, fraud_link_content),
}
#: the kinds authority comes from: who may act, and what decides (checked at start-up)
AUTHORITY = ("api_key", "model", "strategy", "activation")
_KIND_OF = {model: kind for kind, (model, _) in RECORD_KINDS.items()}


def subject_of(record: Any) -> str:
    """The ledger subject naming a record, e.g. ``decision:42``."""
    return f"{_KIND_OF[type(record)]}:{record.id}"


def record_digest(record: Any, kind: str | None = None) -> str:
    """The digest of one record's content (``kind`` names it when it is not an ORM row): the
    SHA-256 of :func:`content_text` of its columns' canonical JSON."""
    kind = kind or _KIND_OF[type(record)]
    texts = {c: canonical_json(v) for c, v in content(kind, record).items()}
    return hashlib.sha256(content_text(kind, texts).encode("utf-8")).hexdigest()


def fraud_link_digest(seq: int, application_id: int, link: tuple[Any, ...]) -> str:
    """The digest of the fraud link row ``(seq, application_id, *link)`` the writer is about to
    store (what :func:`record_digest` gives for the row read back)."""
    texts = {
        c: canonical_json(v)
        for c, v in zip(ALL_LINK_COLS, (seq, application_id, *link), strict=True)
    }
    return hashlib.sha256(content_text("fraud_link", texts).encode("utf-8")).hexdigest()


def vouch(*records: Any) -> dict[str, str]:
    """``{subject: digest}`` of ORM rows, for a ledger entry's ``payload.digests``."""
    return {subject_of(r): record_digest(r) for r in records}


def iter_record_digests(session: Session) -> Iterator[tuple[str, str]]:
    """``(subject, digest)`` of every record the ledger vouches for, streamed."""
    for kind, (model, _) in RECORD_KINDS.items():
        stmt = select(model).order_by(model.id).execution_options(yield_per=2000)
        result = session.execute(stmt)
        try:
            for rec in result.scalars():
                yield f"{kind}:{rec.id}", record_digest(rec, kind)
                session.expunge(rec)
        finally:
            result.close()


def record_digests(session: Session) -> dict[str, str]:
    """``{subject: digest}`` of every vouched-for record in the database."""
    return dict(iter_record_digests(session))
