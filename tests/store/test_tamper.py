"""Tampering with the database directly (SQL UPDATE / DELETE) is caught by ``verify``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text

from creditfactory.store import DecisionService, Store, activate, add_strategy, verify


@pytest.fixture
def filled(db_url: str, strategy_yaml: str, good_application: dict[str, Any]) -> Iterator[Store]:
    """Ledger: 1 upload, 2 activation, 3..6 four decisions (the third a refer, queued)."""
    store = Store(db_url)
    store.migrate()
    with store.session() as s:
        activate(s, add_strategy(s, strategy_yaml, "ana").id, "boss")
    service = DecisionService(store)
    for i in range(4):
        app = {**good_application, "application_id": f"A{i}", "inquiries_3m": 5 if i == 2 else 0}
        service.decide(app, "channel")
    with store.session() as s:
        assert verify(s).ok
    yield store
    store.dispose()


def tamper(store: Store, *sql: str) -> Any:
    with store.engine.begin() as conn:
        for statement in sql:
            conn.execute(text(statement))
    with store.session() as s:
        return verify(s).first


def test_updated_decision_is_caught(filled: Store) -> None:
    first = tamper(filled, "UPDATE decisions SET decision = 'approve' WHERE id = 3")
    assert (first.seq, first.problem) == (5, "record-altered")
    assert "decision:3" in first.detail


def test_updated_application_payload_is_caught(filled: Store) -> None:
    first = tamper(filled, "UPDATE applications SET external_id = 'B9' WHERE id = 1")
    assert (first.seq, first.problem) == (3, "record-altered")


def test_updated_ledger_entry_is_caught(filled: Store) -> None:
    first = tamper(filled, "UPDATE ledger SET actor = 'mallory' WHERE seq = 4")
    assert (first.seq, first.problem) == (4, "altered")


def test_deleted_ledger_entry_is_caught(filled: Store) -> None:
    first = tamper(filled, "DELETE FROM ledger WHERE seq = 4")
    assert (first.seq, first.problem) == (4, "removed")


def test_deleted_last_entry_is_caught(filled: Store) -> None:
    first = tamper(filled, "DELETE FROM ledger WHERE seq = 6")
    assert (first.seq, first.problem) == (6, "removed")


def test_reordered_entries_are_caught(filled: Store) -> None:
    first = tamper(
        filled,
        "UPDATE ledger SET seq = 1000 WHERE seq = 4",
        "UPDATE ledger SET seq = 4 WHERE seq = 5",
        "UPDATE ledger SET seq = 5 WHERE seq = 1000",
    )
    assert (first.seq, first.problem) == (4, "reordered")


def test_deleted_review_is_caught(filled: Store) -> None:
    first = tamper(filled, "DELETE FROM reviews")
    assert (first.seq, first.problem) == (5, "record-removed")


def test_record_written_behind_the_ledger_is_caught(filled: Store) -> None:
    first = tamper(
        filled,
        "INSERT INTO applications (id, payload, request_sha256, received_at) "
        "VALUES (99, '{}', 'x', CURRENT_TIMESTAMP)",
    )
    assert first.problem == "record-unvouched"
    assert "application:99" in first.detail


def test_history_rewritten_with_recomputed_hashes_is_caught_by_an_anchor(filled: Store) -> None:
    """An attacker who rewrites an entry and recomputes every later hash and the head defeats
    the chain alone; the head hash kept outside the database (an anchor) still catches it."""
    import json

    from creditfactory.audit import entry_hash
    from creditfactory.store import LedgerHead, LedgerRow, entries

    with filled.session() as s:
        anchor = verify(s).head
        rows = list(entries(s))
    prev = "0" * 64
    with filled.session() as s:
        for e in rows:
            payload = {**e.payload, "decision": "approve"} if e.seq == 5 else e.payload
            h = entry_hash(e.seq, e.kind, e.subject, e.actor, e.created_at, payload, prev)
            row = s.get(LedgerRow, e.seq)
            row.payload = json.dumps(payload, sort_keys=True, separators=(",", ":"))
            row.prev_hash, row.hash, prev = prev, h, h
        head = s.get(LedgerHead, 1)
        head.hash = prev
    with filled.session() as s:
        assert verify(s).ok  # the chain alone cannot tell
        first = verify(s, anchors=[anchor]).first
    assert first.problem == "anchor-missing"
