"""Persisting the audit ledger: append under a lock on the head row, and verify.

Appends take the write lock first (``UPDATE ledger_head``) so that concurrent writers queue up
instead of forking the chain, on SQLite and PostgreSQL alike. ``verify`` walks the chain with
:func:`creditfactory.audit.verify_chain`, checks the anchors kept outside the database, and then
re-derives the digest of every record an entry vouches for (keys, models, strategies,
activations, list entries, applications, decisions, reviews: see
:mod:`creditfactory.store._records`), so an ``UPDATE``, ``INSERT`` or ``DELETE`` on those tables
is caught too.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Iterator, Mapping, Sequence
from dataclasses import astuple
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from creditfactory.audit import (
    Anchor,
    Entry,
    Problem,
    Verdict,
    append_anchor,
    entry_hash,
    make_entry,
    read_anchor_file,
    verify_chain,
)
from creditfactory.exceptions import ConfigError
from creditfactory.store._tables import LedgerHead, LedgerRow


def ledger_head(session: Session) -> tuple[int, str]:
    """``(count, last hash)`` as recorded in the head row."""
    head = session.get(LedgerHead, 1)
    if head is None:
        return 0, "0" * 64
    return head.seq, head.hash


def _check_head_row(session: Session, count: int) -> list[Problem]:
    """The head is one row (id 1) whose ``updated_at`` is the last entry's ``created_at`` (both
    writers set it so): another row, or a time changed, is ``head-altered``."""
    heads = session.execute(select(LedgerHead).order_by(LedgerHead.id)).scalars().all()
    others = [h.id for h in heads if h.id != 1]
    if others:
        return [Problem(count, "head-altered", f"ledger_head holds rows besides id 1: {others}")]
    if not heads or not count:
        return []
    last = session.get(LedgerRow, count)
    if last is not None and heads[0].updated_at != last.created_at:
        return [
            Problem(
                count,
                "head-altered",
                f"ledger_head.updated_at is {heads[0].updated_at!r}, not the last entry's "
                f"created_at {last.created_at!r}",
            )
        ]
    return []


def append(
    session: Session, kind: str, subject: str, actor: str, payload: Mapping[str, Any]
) -> Entry:
    """Append one entry in the caller's transaction and return it."""
    # Taking the write lock before reading the head serialises appenders on both back-ends.
    session.execute(update(LedgerHead).where(LedgerHead.id == 1).values(seq=LedgerHead.seq))
    head = session.execute(select(LedgerHead).where(LedgerHead.id == 1)).scalar_one()
    last = session.get(LedgerRow, head.seq) if head.seq else None
    prev = _entry(last) if last is not None else None
    entry = make_entry(prev, kind, subject, actor, payload)
    session.add(
        LedgerRow(
            seq=entry.seq,
            kind=entry.kind,
            subject=entry.subject,
            actor=entry.actor,
            created_at=entry.created_at,
            payload=json.dumps(entry.payload, sort_keys=True, separators=(",", ":")),
            prev_hash=entry.prev_hash,
            hash=entry.hash,
        )
    )
    head.seq, head.hash, head.updated_at = entry.seq, entry.hash, entry.created_at
    session.flush()
    return entry


def _entry(row: LedgerRow) -> Entry:
    try:
        payload = json.loads(row.payload)
    except ValueError:
        payload = {"__unreadable__": row.payload}
    return Entry(
        row.seq, row.kind, row.subject, row.actor, row.created_at, payload, row.prev_hash, row.hash
    )


def entries(session: Session, after: int = 0, limit: int | None = None) -> Iterator[Entry]:
    """Ledger entries in ``seq`` order, streamed."""
    stmt = select(LedgerRow).where(LedgerRow.seq > after).order_by(LedgerRow.seq)
    if limit is not None:
        stmt = stmt.limit(limit)
    result = session.execute(stmt.execution_options(yield_per=1000))
    try:
        for row in result.scalars():
            yield _entry(row)
    finally:  # a walk stopped early must not leave a server-side cursor behind
        result.close()


def verify(
    session: Session,
    check_records: bool = True,
    anchors: Sequence[str] = (),
    anchor_file: str | Path | None = None,
    anchor_key: str | None = None,
) -> Verdict:
    """Verify the chain, the head row, the anchors and (optionally) every vouched-for record.

    ``anchors`` are entry hashes kept outside the database (e.g. the head printed by an earlier
    ``creditfactory audit verify``); each must still be the hash of an entry of the intact
    chain, which rules out history rewritten wholesale, hashes and head included.
    ``anchor_file`` is a file of signed heads (:mod:`creditfactory.audit._anchor`, key
    ``anchor_key``): every line must be well signed (else ``anchor-forged``) and its entry must
    still be at its ``seq`` with its hash (else ``tail-cut`` when the ledger now ends before it,
    ``anchor-mismatch`` when another entry stands there). A ``ledger.migrate`` entry whose
    old-rules check failed is reported as ``migrated-broken``.
    """
    from creditfactory.store._records import iter_record_digests

    count, head_hash = ledger_head(session)
    vouched: dict[str, tuple[int, str | None]] = {}
    upgrades: list[Problem] = []

    def walk() -> Generator[Entry, None, None]:
        for e in entries(session):  # streamed: the chain is checked in constant memory
            if e.kind == "ledger.migrate" and e.payload.get("part") == 0:
                old = e.payload.get("old_rules") or {}
                if old.get("ok") is False:  # what the upgrade found stays reported
                    first = (old.get("problems") or ["?"])[0]
                    upgrades.append(
                        Problem(
                            e.seq,
                            "migrated-broken",
                            f"at the upgrade to {e.payload.get('revision')} the ledger did not "
                            f"verify under the old rules: {first}",
                        )
                    )
            if check_records:  # the latest entry vouching for a record says what it must be
                for subject, expected in (e.payload.get("digests") or {}).items():
                    # null: the record was removed by this entry (a list entry taken out)
                    vouched[subject] = (e.seq, None if expected is None else str(expected))
            yield e

    def lookup(h: str) -> int | None:
        stmt = select(LedgerRow.seq).where(LedgerRow.hash == h).limit(1)
        return session.execute(stmt).scalar()

    stream = walk()
    try:
        verdict = verify_chain(stream, expected_count=count, expected_head=head_hash, lookup=lookup)
    finally:
        stream.close()
    if verdict.ok:
        for anchor in anchors:
            if lookup(anchor) is None:
                verdict.problems.append(
                    Problem(0, "anchor-missing", f"no entry has the anchored hash {anchor}")
                )
                break
    if anchor_file is not None:
        verdict.problems.extend(_check_anchor_file(session, anchor_file, anchor_key or ""))
    if verdict.ok:  # after the anchors: a tail cut also leaves a stale head time
        verdict.problems.extend(_check_head_row(session, count))
    verdict.problems.extend(upgrades if verdict.ok else ())
    if not verdict.ok or not check_records:
        return verdict
    found: list[Problem] = []
    for subject, got in iter_record_digests(session):
        seen = vouched.pop(subject, None)
        if seen is None or seen[1] is None:
            why = "is not in the ledger" if seen is None else f"was removed by entry {seen[0]}"
            found.append(Problem(count + 1, "record-unvouched", f"{subject} {why}"))
        elif seen[1] != got:
            found.append(
                Problem(seen[0], "record-altered", f"{subject} no longer matches entry {seen[0]}")
            )
    for subject, (seq, expected) in vouched.items():
        if expected is not None:
            found.append(
                Problem(seq, "record-removed", f"{subject} (vouched for by entry {seq}) is gone")
            )
    verdict.problems.extend(sorted(found, key=lambda p: (p.seq, p.detail)))
    return verdict


def _check_anchor_file(session: Session, path: str | Path, key: str) -> list[Problem]:
    """The problems the anchor file at ``path`` reveals (see :func:`verify`)."""
    try:
        anchors, forged = read_anchor_file(path, key)
    except ConfigError as exc:  # no path in the detail: it may reach an HTTP answer
        reason = exc.__cause__.strerror if isinstance(exc.__cause__, OSError) else str(exc)
        return [Problem(0, "anchor-unreadable", f"the anchor file cannot be read: {reason}")]
    problems = [
        Problem(0, "anchor-forged", f"line {n} of the anchor file is not signed by the anchor key")
        for n in forged
    ]
    last = session.execute(select(func.max(LedgerRow.seq))).scalar() or 0
    wanted = sorted({a.seq for a in anchors})
    stored: dict[int, str] = {}
    for i in range(0, len(wanted), 500):
        part = wanted[i : i + 500]
        stmt = select(LedgerRow.seq, LedgerRow.hash).where(LedgerRow.seq.in_(part))
        stored.update((seq, h) for seq, h in session.execute(stmt).all())
    cut: Anchor | None = None
    mismatch: Anchor | None = None
    for a in anchors:
        if a.seq == 0:
            continue  # an empty ledger was anchored
        got = stored.get(a.seq)
        if got is None and a.seq > last:
            if cut is None or a.seq > cut.seq:
                cut = a
        elif got != a.hash and (mismatch is None or a.seq < mismatch.seq):
            mismatch = a
    if mismatch is not None:
        problems.append(
            Problem(
                mismatch.seq,
                "anchor-mismatch",
                f"entry {mismatch.seq} is not the one anchored at {mismatch.at}: "
                "history was rewritten or removed",
            )
        )
    if cut is not None:
        problems.append(
            Problem(
                last + 1,
                "tail-cut",
                f"entries {last + 1}..{cut.seq} are gone (anchored at {cut.at}; the ledger "
                f"now ends at {last})",
            )
        )
    return problems


def anchor_head(session: Session, path: str | Path, key: str) -> Anchor:
    """Append the current ledger head to the anchor file at ``path``, signed with ``key``."""
    seq, hash_ = ledger_head(session)
    return append_anchor(path, key, seq, hash_)


#: entries that vouch for the records authority comes from (keys, models, strategies, activations)
AUTHORITY_KINDS = (
    "key.create", "key.revoke", "model.register", "strategy.upload", "strategy.activate",
    "strategy.rollback", "ledger.migrate",
)  # fmt: skip


def check_authority(session: Session) -> list[Problem]:
    """A quick check, for start-up, of the rows authority comes from: API keys, models,
    strategy versions and activations must match the latest ledger entry vouching for them.

    Reads only the entries of :data:`AUTHORITY_KINDS` (one scan of the ledger table by kind,
    not a walk of the chain; the ``ledger.migrate.records`` entries, which vouch for the other
    rows at an upgrade, are not read): each must still match its hash and be linked to by the
    entry after it (or be the head). A chain rewritten wholesale is left to :func:`verify` and
    the anchors.
    """
    from creditfactory.store._records import AUTHORITY, RECORD_KINDS, record_digest

    kinds = AUTHORITY

    count, head_hash = ledger_head(session)
    stmt = select(LedgerRow).where(LedgerRow.kind.in_(AUTHORITY_KINDS)).order_by(LedgerRow.seq)
    rows = list(session.execute(stmt).scalars())
    nexts: dict[int, str] = {}
    wanted = [r.seq + 1 for r in rows]
    for i in range(0, len(wanted), 500):
        part = select(LedgerRow.seq, LedgerRow.prev_hash).where(
            LedgerRow.seq.in_(wanted[i : i + 500])
        )
        nexts.update((seq - 1, prev) for seq, prev in session.execute(part).all())
    problems: list[Problem] = []
    vouched: dict[str, tuple[int, str | None]] = {}
    for row in rows:
        e = _entry(row)
        linked = nexts.get(e.seq) == e.hash or (e.seq == count and e.hash == head_hash)
        if entry_hash(*astuple(e)[:-1]) != e.hash or not linked:
            problems.append(Problem(e.seq, "altered", f"entry {e.seq} ({e.kind} {e.subject})"))
            continue
        for subject, expected in (e.payload.get("digests") or {}).items():
            if subject.split(":", 1)[0] in kinds:
                vouched[subject] = (e.seq, expected)
    for kind in kinds:
        model = RECORD_KINDS[kind][0]
        for rec in session.execute(select(model).order_by(model.id)).scalars():
            subject = f"{kind}:{rec.id}"
            seen = vouched.pop(subject, None)
            if seen is None or seen[1] is None:
                problems.append(Problem(0, "record-unvouched", f"{subject} is not in the ledger"))
            elif seen[1] != record_digest(rec, kind):
                problems.append(
                    Problem(
                        seen[0], "record-altered", f"{subject} no longer matches entry {seen[0]}"
                    )
                )
    problems.extend(
        Problem(seq, "record-removed", f"{s} (vouched for by entry {seq}) is gone")
        for s, (seq, expected) in vouched.items()
        if expected is not None
    )
    return problems
