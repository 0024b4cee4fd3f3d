"""Tampering with the database directly (SQL UPDATE / INSERT / DELETE) is caught by ``verify``.

Every table that changes what a decision means or who may act is altered, inserted into and
deleted from, on SQLite and PostgreSQL; the ledger's tail is cut and its history recomputed, and
the anchor file catches what the chain alone cannot.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from creditfactory.audit import entry_hash
from creditfactory.store import (
    LedgerHead,
    LedgerRow,
    Store,
    activate,
    add_key,
    add_list_entries,
    add_strategy,
    anchor_head,
    entries,
    register_model,
    remove_list_entries,
    revoke_key,
    verify,
)

SECRET = "list-secret"
KEY = "anchor-key"
SPEC = {
    "format": "creditfactory.scoring_spec", "format_version": 1,
    "scaling": {"factor": 28.85, "offset": 487.1},
    "characteristics": [{"name": "age", "kind": "numerical", "code": "R001",
                         "missing_points": 10.0, "special": [], "upper_edges": [25.0],
                         "points": [20.0, 40.0]}],
}  # fmt: skip
T = "'2020-01-01 00:00:00'"  # a time literal both databases take


class Filled:
    """A store with every kind of record, and its anchor file (anchored at the end)."""

    def __init__(self, store: Store, anchors: Path):
        self.store, self.anchors = store, anchors

    def verify(self, **kw: Any) -> Any:
        with self.store.session() as s:
            return verify(s, **kw)

    def verify_anchored(self) -> Any:
        return self.verify(anchor_file=self.anchors, anchor_key=KEY)

    def sql(self, *statements: str) -> None:
        with self.store.engine.begin() as conn:
            for statement in statements:
                conn.execute(text(statement))


@pytest.fixture
def filled(
    db_url: str,
    strategy_yaml: str,
    strategy_yaml_v2: str,
    good_application: dict[str, Any],
    tmp_path: Path,
    make_service: Any,
) -> Iterator[Filled]:
    """Keys 1 (admin) and 2 (analyst, revoked); model 1; strategies 1 and 2, activations 1 (v1)
    and 2 (v2); list entries 1 and 3 (2 removed); applications/decisions 1..4 (3 a refer,
    reviewed: review 1 overridden)."""
    store = Store(db_url)
    store.migrate()
    with store.session() as s:
        add_key(s, "admin", "admin", "a-long-admin-secret-0123456789", "bootstrap")
        add_key(s, "analyst", "analyst", "a-long-analyst-secret-012345678", "admin")
        revoke_key(s, 2, "admin")
        register_model(s, "ascore", "1", SPEC, "ana")
        v1 = add_strategy(s, strategy_yaml, "ana")
        v2 = add_strategy(s, strategy_yaml_v2, "ana")
        activate(s, v1.id, "boss")
        activate(s, v2.id, "boss")
        add_list_entries(s, SECRET, "blacklist", "phone", ["1", "2", "3"], "ana")
        remove_list_entries(s, SECRET, "blacklist", "phone", ["2"], "ana")
    service = make_service(store, SECRET)
    for i in range(4):
        app = {**good_application, "application_id": f"A{i}", "inquiries_3m": 5 if i == 2 else 0}
        service.decide(app, "channel", api_key_id=1)
    service.review(1, "approve", "checked by phone", "uwe")
    service.close()
    f = Filled(store, tmp_path / "anchors.jsonl")
    with store.session() as s:
        anchor_head(s, f.anchors, KEY)
    verdict = f.verify_anchored()
    assert verdict.ok, verdict.problems
    yield f
    store.dispose()


CASES = [
    # api_keys: who may act
    ("UPDATE api_keys SET role = 'admin' WHERE id = 2", "record-altered", "api_key:2"),
    ("UPDATE api_keys SET revoked_at = NULL WHERE id = 2", "record-altered", "api_key:2"),
    (f"UPDATE api_keys SET key_hash = '{'0' * 64}' WHERE id = 1", "record-altered", "api_key:1"),
    ("UPDATE api_keys SET name = 'root' WHERE id = 1", "record-altered", "api_key:1"),
    ("UPDATE api_keys SET key_id = 'k_0' WHERE id = 1", "record-altered", "api_key:1"),
    (f"UPDATE api_keys SET created_at = {T} WHERE id = 1", "record-altered", "api_key:1"),
    (
        "INSERT INTO api_keys (id, name, role, key_hash, key_id, created_at) "
        f"VALUES (3, 'mallory', 'admin', '{'1' * 64}', 'k_m', {T})",
        "record-unvouched", "api_key:3",
    ),
    ("DELETE FROM api_keys WHERE id = 2", "record-removed", "api_key:2"),
    # strategy_versions
    ("UPDATE strategy_versions SET source = source || ' ' WHERE id = 2", "record-altered",
     "strategy:2"),
    (f"UPDATE strategy_versions SET sha256 = '{'0' * 64}' WHERE id = 2", "record-altered",
     "strategy:2"),
    ("UPDATE strategy_versions SET base_dir = '/tmp' WHERE id = 1", "record-altered",
     "strategy:1"),
    ("UPDATE strategy_versions SET version = '9' WHERE id = 1", "record-altered", "strategy:1"),
    (f"UPDATE strategy_versions SET uploaded_at = {T} WHERE id = 1", "record-altered",
     "strategy:1"),
    (
        "INSERT INTO strategy_versions (id, name, version, source, sha256, uploaded_by, "
        f"uploaded_at) VALUES (3, 'x', '1', 'strategy: x', 'x', 'mallory', {T})",
        "record-unvouched", "strategy:3",
    ),
    # strategy_activations: which version decides
    (
        "INSERT INTO strategy_activations (id, strategy_id, action, actor, at) "
        f"VALUES (3, 1, 'activate', 'mallory', {T})",
        "record-unvouched", "activation:3",
    ),
    ("UPDATE strategy_activations SET strategy_id = 1 WHERE id = 2", "record-altered",
     "activation:2"),
    (f"UPDATE strategy_activations SET at = {T} WHERE id = 1", "record-altered", "activation:1"),
    ("DELETE FROM strategy_activations WHERE id = 2", "record-removed", "activation:2"),
    # models
    ("UPDATE models SET spec = '{}' WHERE id = 1", "record-altered", "model:1"),
    ("UPDATE models SET version = '2' WHERE id = 1", "record-altered", "model:1"),
    (f"UPDATE models SET registered_at = {T} WHERE id = 1", "record-altered", "model:1"),
    (
        "INSERT INTO models (id, name, version, spec, sha256, registered_by, registered_at) "
        f"VALUES (2, 'm', '1', '{{}}', 'x', 'mallory', {T})",
        "record-unvouched", "model:2",
    ),
    ("DELETE FROM models WHERE id = 1", "record-removed", "model:1"),
    # list_entries
    ("UPDATE list_entries SET list_name = 'whitelist' WHERE id = 1", "record-altered",
     "list_entry:1"),
    ("UPDATE list_entries SET field = 'id_number' WHERE id = 1", "record-altered",
     "list_entry:1"),
    (f"UPDATE list_entries SET value_hash = '{'0' * 64}' WHERE id = 3", "record-altered",
     "list_entry:3"),
    ("UPDATE list_entries SET note = 'x' WHERE id = 3", "record-altered", "list_entry:3"),
    ("DELETE FROM list_entries WHERE id = 1", "record-removed", "list_entry:1"),
    (
        "INSERT INTO list_entries (id, list_name, field, value_hash, note, added_by, added_at) "
        f"VALUES (7, 'whitelist', 'phone', '{'2' * 64}', '', 'mallory', {T})",
        "record-unvouched", "list_entry:7",
    ),
    (  # the removed entry put back as it was
        "INSERT INTO list_entries (id, list_name, field, value_hash, note, added_by, added_at) "
        f"VALUES (2, 'blacklist', 'phone', '{'3' * 64}', '', 'ana', {T})",
        "record-unvouched", "list_entry:2",
    ),
    # timestamps of applications, decisions, reviews
    (f"UPDATE applications SET received_at = {T} WHERE id = 2", "record-altered",
     "application:2"),
    (f"UPDATE decisions SET decided_at = {T} WHERE id = 2", "record-altered", "decision:2"),
    (f"UPDATE reviews SET queued_at = {T} WHERE id = 1", "record-altered", "review:1"),
    (f"UPDATE reviews SET reviewed_at = {T} WHERE id = 1", "record-altered", "review:1"),
    # the rest of the records, as before
    ("UPDATE decisions SET decision = 'approve' WHERE id = 3", "record-altered", "decision:3"),
    ("UPDATE applications SET external_id = 'B9' WHERE id = 1", "record-altered",
     "application:1"),
    ("UPDATE reviews SET outcome = 'decline' WHERE id = 1", "record-altered", "review:1"),
    ("DELETE FROM reviews", "record-removed", "review:1"),
    (
        "INSERT INTO applications (id, payload, request_sha256, received_at) "
        "VALUES (99, '{}', 'x', CURRENT_TIMESTAMP)",
        "record-unvouched", "application:99",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("sql", "problem", "subject"), CASES, ids=[c[0][:60] for c in CASES])
def test_every_table_tampered_with_is_caught(
    filled: Filled, sql: str, problem: str, subject: str
) -> None:
    filled.sql(sql)
    verdict = filled.verify()
    assert verdict.first is not None, "not caught"
    assert (verdict.first.problem, verdict.first.detail.split()[0]) == (problem, subject)


def test_updated_ledger_entry_is_caught(filled: Filled) -> None:
    filled.sql("UPDATE ledger SET actor = 'mallory' WHERE seq = 4")
    assert (filled.verify().first.seq, filled.verify().first.problem) == (4, "altered")


def test_deleted_ledger_entry_is_caught(filled: Filled) -> None:
    filled.sql("DELETE FROM ledger WHERE seq = 4")
    assert (filled.verify().first.seq, filled.verify().first.problem) == (4, "removed")


def test_deleted_last_entry_is_caught(filled: Filled) -> None:
    last = filled.verify().checked
    filled.sql(f"DELETE FROM ledger WHERE seq = {last}")
    assert (filled.verify().first.seq, filled.verify().first.problem) == (last, "removed")


def test_reordered_entries_are_caught(filled: Filled) -> None:
    filled.sql(
        "UPDATE ledger SET seq = 1000 WHERE seq = 4",
        "UPDATE ledger SET seq = 4 WHERE seq = 5",
        "UPDATE ledger SET seq = 5 WHERE seq = 1000",
    )
    assert (filled.verify().first.seq, filled.verify().first.problem) == (4, "reordered")


def _cut_tail(filled: Filled, keep: int) -> None:
    """Delete the entries after ``keep`` and move the head back, as an attacker would."""
    filled.sql(
        f"DELETE FROM ledger WHERE seq > {keep}",
        f"UPDATE ledger_head SET seq = {keep}, "
        f"hash = (SELECT hash FROM ledger WHERE seq = {keep}), "
        f"updated_at = (SELECT created_at FROM ledger WHERE seq = {keep}) WHERE id = 1",
    )


def test_undone_override_is_caught_by_the_anchor_file(filled: Filled) -> None:
    """The review entry is the last: cut it, put the review back to pending; the chain and the
    records agree again, the anchor file does not."""
    last = filled.verify().checked
    filled.sql(
        "UPDATE reviews SET status = 'pending', outcome = NULL, reason = NULL, "
        "reviewer = NULL, reviewed_at = NULL WHERE id = 1"
    )
    _cut_tail(filled, last - 1)
    assert filled.verify().ok  # without the anchor nothing is wrong
    first = filled.verify_anchored().first
    assert (first.problem, first.seq) == ("tail-cut", last)
    assert f"entries {last}..{last} are gone" in first.detail


def test_deleted_newest_decision_is_caught_by_the_anchor_file(filled: Filled) -> None:
    last = filled.verify().checked
    filled.sql("UPDATE reviews SET status = 'pending' WHERE id = 1")  # undone too
    filled.sql(  # an intruder deletes the decision's fraud link first (a foreign key)
        "DELETE FROM decisions WHERE id = 4", "DELETE FROM fraud_links WHERE application_id = 4",
        "DELETE FROM applications WHERE id = 4",
    )  # fmt: skip
    with filled.store.session() as s:  # the entry of decision 4 and the review after it
        seq = s.query(LedgerRow.seq).filter(LedgerRow.subject == "decision:4").scalar()
    _cut_tail(filled, seq - 1)
    filled.sql(  # the review entry is gone: put the review row back as queued
        "UPDATE reviews SET outcome = NULL, reason = NULL, reviewer = NULL, reviewed_at = NULL"
    )
    assert filled.verify().ok
    first = filled.verify_anchored().first
    assert first.problem == "tail-cut"
    assert f"entries {seq}..{last} are gone" in first.detail


def test_truncated_ledger_is_caught_by_the_anchor_file(filled: Filled) -> None:
    filled.sql(
        "DELETE FROM reviews", "DELETE FROM decisions", "DELETE FROM fraud_links",
        "DELETE FROM applications",
        "DELETE FROM list_entries", "DELETE FROM strategy_activations",
        "DELETE FROM strategy_versions", "DELETE FROM models", "DELETE FROM api_keys",
        "DELETE FROM ledger", f"UPDATE ledger_head SET seq = 0, hash = '{'0' * 64}'",
    )  # fmt: skip
    assert filled.verify().ok
    assert filled.verify_anchored().first.problem == "tail-cut"


def _rewrite(filled: Filled, seq: int, change: dict[str, Any]) -> None:
    """Change entry ``seq``'s payload and recompute every later hash and the head."""
    with filled.store.session() as s:
        rows = list(entries(s))
    prev = "0" * 64
    with filled.store.session() as s:
        for e in rows:
            payload = {**e.payload, **change} if e.seq == seq else e.payload
            h = entry_hash(e.seq, e.kind, e.subject, e.actor, e.created_at, payload, prev)
            row = s.get(LedgerRow, e.seq)
            row.payload = json.dumps(payload, sort_keys=True, separators=(",", ":"))
            row.prev_hash, row.hash, prev = prev, h, h
        s.get(LedgerHead, 1).hash = prev


def test_history_rewritten_with_recomputed_hashes_is_caught_by_an_anchor(filled: Filled) -> None:
    """An attacker who rewrites an entry and recomputes every later hash and the head defeats
    the chain alone; the head kept outside the database (``--anchor`` or the anchor file)
    still catches it."""
    anchor = filled.verify().head
    _rewrite(filled, 5, {"name": "forged"})
    assert filled.verify().ok  # the chain alone cannot tell
    assert filled.verify(anchors=[anchor]).first.problem == "anchor-missing"
    first = filled.verify_anchored().first
    assert first.problem == "anchor-mismatch"
    assert first.seq == filled.verify().checked  # the anchored head is no longer that entry


def test_a_forged_anchor_line_is_caught(filled: Filled) -> None:
    lines = filled.anchors.read_text().splitlines(keepends=True)
    forged = json.loads(lines[-1])
    forged["seq"] += 100  # a head that never was, to make honest history look cut
    filled.anchors.write_text("".join(lines) + json.dumps(forged) + "\n")
    first = filled.verify_anchored().first
    assert (first.problem, first.detail) == (
        "anchor-forged", f"line {len(lines) + 1} of the anchor file is not signed by the anchor key"
    )  # fmt: skip


def test_an_anchor_file_signed_with_another_key_is_forged(filled: Filled) -> None:
    verdict = filled.verify(anchor_file=filled.anchors, anchor_key="another key")
    assert [p.problem for p in verdict.problems] == ["anchor-forged"]


def test_a_line_cut_short_by_a_crash_is_ignored(filled: Filled) -> None:
    with filled.anchors.open("a") as fh:
        fh.write('{"at":"2026-')
    assert filled.verify_anchored().ok


def test_an_unreadable_anchor_file_is_a_problem_without_its_path(filled: Filled) -> None:
    filled.anchors.unlink()
    filled.anchors.mkdir()
    first = filled.verify_anchored().first
    assert first.problem == "anchor-unreadable"
    assert str(filled.anchors) not in first.detail


def test_digests_survive_a_session_in_another_time_zone(filled: Filled) -> None:
    """PostgreSQL gives ``timestamptz`` back in the session's zone; SQLite gives naive UTC text.
    Either way the digests' timestamp text is the same UTC instant."""
    url = filled.store.engine.url.render_as_string(hide_password=False)
    if not url.startswith("postgresql"):
        pytest.skip("SQLite has no session time zone")
    elsewhere = Store(
        url.replace("options=-csearch_path", "options=-ctimezone%3DAsia/Shanghai%20-csearch_path")
    )
    with elsewhere.engine.connect() as conn:
        assert conn.execute(text("SHOW timezone")).scalar() == "Asia/Shanghai"
    with elsewhere.session() as s:
        assert verify(s).ok
    elsewhere.dispose()
