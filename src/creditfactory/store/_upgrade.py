"""Upgrading a ledger to the rules of revision 0003: the existing rows vouched for once.

Before revision 0003 the ledger vouched for applications, decisions and reviews without their
timestamps, and for nothing else (keys, strategies, activations, models, list entries). The
upgrade first checks the ledger under the old rules, then appends ``ledger.migrate`` entries
whose digests (the new rules) cover every row then in the database. What the old rules did not
cover is therefore only as good as the database was at the upgrade; the entries record what the
old-rules check found, and :func:`creditfactory.store.verify` reports a failed one as
``migrated-broken`` for ever after.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from creditfactory.audit import Entry, digest, verify_chain
from creditfactory.store._ledger import append, entries, ledger_head
from creditfactory.store._records import AUTHORITY, RECORD_KINDS
from creditfactory.store._tables import LedgerRow

#: what the digests of the three record kinds left out before revision 0003
_UNCOVERED = {
    "application": ("received_at",),
    "decision": ("decided_at",),
    "review": ("queued_at", "reviewed_at"),
}

# digests per ledger.migrate entry: a few hundred kB of payload each
PART = 2000


def old_rules_problems(session: Session, limit: int = 20) -> list[str]:
    """What ``audit verify`` of revision 0002 would have reported (up to ``limit`` lines)."""
    count, head = ledger_head(session)
    vouched: dict[str, tuple[int, str]] = {}

    def walk() -> Generator[Entry, None, None]:
        for e in entries(session):
            for subject, expected in (e.payload.get("digests") or {}).items():
                if subject.split(":", 1)[0] in _UNCOVERED:
                    vouched[subject] = (e.seq, str(expected))
            yield e

    def lookup(h: str) -> int | None:
        return session.execute(select(LedgerRow.seq).where(LedgerRow.hash == h)).scalar()

    stream = walk()
    try:
        verdict = verify_chain(stream, expected_count=count, expected_head=head, lookup=lookup)
    finally:
        stream.close()
    found = [f"{p.problem} at entry {p.seq}: {p.detail}" for p in verdict.problems]
    if found:
        return found[:limit]
    for kind, dropped in _UNCOVERED.items():
        model, content = RECORD_KINDS[kind]
        for rec in _rows(session, model):
            subject = f"{kind}:{rec.id}"
            old = {k: v for k, v in content(rec).items() if k not in dropped}
            seen = vouched.pop(subject, None)
            if seen is None:
                found.append(f"record-unvouched: {subject} is not in the ledger")
            elif seen[1] != digest(old):
                found.append(f"record-altered: {subject} no longer matches entry {seen[0]}")
            if len(found) >= limit:
                return found
    found.extend(f"record-removed: {s} (entry {q}) is gone" for s, (q, _) in vouched.items())
    return found[:limit]


def _rows(session: Session, model: Any) -> Iterator[Any]:
    """Every row of ``model`` by id, a page at a time (no cursor open between pages)."""
    last = None
    while True:
        stmt = select(model).order_by(model.id).limit(PART)
        if last is not None:
            stmt = stmt.where(model.id > last)
        page = list(session.execute(stmt).scalars())
        for rec in page:
            session.expunge(rec)
            yield rec
        if len(page) < PART:
            return
        last = page[-1].id


def vouch_existing(session: Session, revision: str) -> int:
    """Check the ledger under the old rules and vouch for every row now in the database.

    The rows authority comes from (keys, models, strategies, activations) go in
    ``ledger.migrate`` entries, the rest (list entries, applications, decisions, reviews) in
    ``ledger.migrate.records`` entries, so that the start-up check reads only the former.
    Nothing happens on an empty ledger (a new database). Returns the entries appended.
    """
    if ledger_head(session)[0] == 0:
        return 0
    problems = old_rules_problems(session)
    old_rules: dict[str, Any] = {"ok": not problems, "problems": problems}
    appended, part = 0, 0
    digests: dict[str, str] = {}

    def flush(kind: str) -> None:
        nonlocal appended, part, digests
        payload = {"revision": revision, "part": part, "old_rules": old_rules, "digests": digests}
        append(session, kind, f"ledger:{revision}", "migration", payload)
        appended, part, digests = appended + 1, part + 1, {}

    for group, kinds in (("ledger.migrate", AUTHORITY), ("ledger.migrate.records", None)):
        for kind, (model, content) in RECORD_KINDS.items():
            if (kind in AUTHORITY) != (kinds is not None):
                continue
            if not inspect(session.connection()).has_table(model.__tablename__):
                continue  # a table of a later revision (it has no rows to vouch for yet)
            for rec in _rows(session, model):
                digests[f"{kind}:{rec.id}"] = digest(content(rec))
                if len(digests) >= PART:
                    flush(group)
        if digests or part == 0:  # part 0 always: it carries old_rules
            flush(group)
    return appended
