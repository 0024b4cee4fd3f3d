"""The group-commit writer's PostgreSQL back-end: one round trip per batch.

Each table gets one ``json_populate_recordset`` insert (the batch's rows as one JSON array: one
parameter, no per-value dumping; a row's JSON object is the very text its digest covers), sent
with the head and the commit in one psycopg pipeline while the back-end knows the ledger head
(a guarded update catches a head moved by another writer, and the batch then locks and
retries) and holds ids reserved ahead from the sequences. Otherwise two round trips: lock the
head and reserve ids, then write.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from sqlalchemy import Engine

from creditfactory.audit import canonical_json
from creditfactory.store._backend import Tables
from creditfactory.store._fraud_links import insert_links
from creditfactory.store._rows import (
    APP_COLS,
    DEC_COLS,
    LEDGER_COLS,
    REV_COLS,
    Built,
    Pending,
    build_rows,
    encode_str,
    reviewed,
)

# batches written with the head locked after a guess of it missed
LOCK_AFTER_MISS = 32


class PostgresBackend:
    """Writes a batch in one pipeline (see the module)."""

    name = "postgresql"

    def __init__(self, engine: Engine):
        t = Tables(engine)
        self.tables = t
        q, mark = t.quote, t.mark

        def insert(table: Any, cols: tuple[str, ...]) -> str:  # the whole batch, one parameter
            names, name = t.names(cols), q(table.name)
            return (
                f"INSERT INTO {name} ({names}) SELECT {names} "
                f"FROM json_populate_recordset(NULL::{name}, %s::json)"
            )

        self.inserts = (
            insert(t.app, APP_COLS), insert(t.dec, DEC_COLS), insert(t.rev, REV_COLS),
            insert(t.ledger, LEDGER_COLS),
        )  # fmt: skip
        # the head moves only if no other writer moved it since this one did (else 1 / 0 fails
        # the transaction); ids are reserved ahead from the sequences
        self.guard_head = (
            f"WITH u AS ({t.move_head} AND seq = {mark} AND hash = {mark} RETURNING 1) "
            "SELECT 1 / count(*) FROM u"
        )
        self.reserve = f"SELECT nextval({mark}::regclass) FROM generate_series(1, {mark})"
        self.ids = (
            f"SELECT nextval({mark}::regclass), nextval({mark}::regclass), "
            f"CASE WHEN g <= {mark} THEN nextval({mark}::regclass) END "
            f"FROM generate_series(1, {mark}) AS g"
        )
        self.sequences: tuple[str, str, str] | None = None
        # the ledger head as this writer left it, and ids reserved ahead
        self._head: tuple[int, str] | None = None
        self._pools: tuple[deque[int], deque[int], deque[int]] = (deque(), deque(), deque())
        self.one_trip = 0  # batches written in one round trip
        self.guard_misses = 0  # batches whose guess of the head was wrong
        self._lock_for = 0  # batches to write with the lock before guessing again

    # ------------------------------------------------------------------ WriteBackend
    def connected(self, conn: Any) -> None:
        return None

    def write(self, raw: Any, batch: list[Pending]) -> list[tuple[Any, Any, Any]]:
        """One round trip while this writer knows the ledger head and holds ids; two (lock
        and reserve, then write) otherwise."""
        from psycopg.errors import DivisionByZero

        if self.sequences is None:
            cur = raw.cursor()
            cur.execute(
                "SELECT pg_get_serial_sequence('applications', 'id'), "
                "pg_get_serial_sequence('decisions', 'id'), "
                "pg_get_serial_sequence('reviews', 'id')"
            )
            self.sequences = tuple(cur.fetchone())
        n, k = len(batch), reviewed(batch)
        pools = self._pools
        wanted = (n, n, k)
        enough = all(len(p) >= m for p, m in zip(pools, wanted, strict=True))
        if self._lock_for:  # the head moved elsewhere lately: another writer is busy too
            self._lock_for -= 1
        elif self._head is not None and enough:
            ids = [[p.popleft() for _ in range(m)] for p, m in zip(pools, wanted, strict=True)]
            built = build_rows(self, batch, *self._head, *ids)
            try:
                self._send(raw, built, guard=self._head)
                self.one_trip += 1
                return built.out
            except DivisionByZero:
                raw.rollback()  # another writer moved the head: lock it and start again
                self._head = None
                self.guard_misses += 1
                # with several writers (uvicorn workers) a guess would mostly miss and cost a
                # round trip: lock for a while before guessing again
                self._lock_for = LOCK_AFTER_MISS
        built = build_rows(self, batch, *self._lock_and_reserve(raw, n, k))
        self._send(raw, built, guard=None)
        return built.out

    def failed(self) -> None:
        self._head = None  # not known after a failure: the next batch locks it

    def others_wrote(self, raw: Any) -> bool:
        return True  # no cheap sign of other sessions' commits: the caller reads

    def committed(self) -> None:
        return None

    def close(self) -> None:
        return None

    def _lock_and_reserve(self, raw: Any, n: int, k: int) -> tuple[Any, ...]:
        assert self.sequences is not None
        sa, sd, sr = self.sequences
        with raw.pipeline():  # the lock and the ids in one round trip
            c1, c2 = raw.cursor(), raw.cursor()
            c1.execute(self.tables.lock_head)
            c2.execute(self.ids, (sa, sd, k, sr, n))
        seq, head_hash = c1.fetchone()
        rows = c2.fetchall()
        return (
            seq, head_hash, [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows[:k]],
        )  # fmt: skip

    def _send(self, raw: Any, built: Built, guard: tuple[int, str] | None) -> None:
        """The inserts, the head (moved only if still at ``guard``, when given), the commit and
        fresh ids for the next batches, in one pipeline (one round trip)."""
        assert self.sequences is not None
        statements: list[tuple[str, Any]] = [
            (stmt, (f"[{','.join(rows)}]",))
            for stmt, rows in zip(
                self.inserts, (built.apps, built.decs, built.revs, built.ledger), strict=True
            )
            if rows
        ]
        if built.links:  # fraud links (store._fraud_links), in the same transaction
            statements.append(self._links(built.links))
        if guard is not None:  # first, and failing (1 / 0) unless the head is still ours
            statements.insert(0, (self.guard_head, (*built.head, *guard)))
        else:
            statements.append((self.tables.move_head, built.head))
        refills = []
        with raw.pipeline():
            cur = raw.cursor()
            for stmt, params in statements:
                cur.execute(stmt, params)
            want = max(64, 4 * len(built.out))
            for pool, seq_name in zip(self._pools, self.sequences, strict=True):
                if len(pool) < 2 * len(built.out):  # nextval is not undone by a rollback
                    c = raw.cursor()
                    c.execute(self.reserve, (seq_name, want - len(pool)))
                    refills.append((pool, c))
            raw.commit()
        for pool, c in refills:
            pool.extend(r[0] for r in c.fetchall())
        self._head = built.head[0], built.head[1]

    def _links(self, links: list[tuple[Any, ...]]) -> tuple[str, Any]:
        stmt = insert_links(self.tables.quote, "%s", len(links))
        return stmt, tuple(v for row in links for v in row)

    # ------------------------------------------------------------------ RowFormat
    # rows as JSON objects: an application's and a decision's are the texts their digests cover
    def application_row(self, p: Pending, app_id: int, text: str) -> Any:
        return text

    def decision_row(self, p: Pending, dec_id: int, app_id: int, text: str) -> Any:
        return text

    def review_row(self, review: dict[str, Any]) -> Any:
        queued = review["queued_at"]  # as JSON text PostgreSQL reads back as timestamptz
        when = "null" if queued is None else f'"{queued.isoformat()}"'
        head = canonical_json({c: review[c] for c in REV_COLS if c != "queued_at"})[:-1]
        return f'{head},"queued_at":{when}}}'

    def ledger_row(
        self, seq: int, subject: str, actor: str, when: str, payload: str, prev: str, h: str
    ) -> Any:
        return (
            f'{{"seq":{seq},"kind":"decision","subject":"{subject}",'
            f'"actor":{encode_str(actor)},"created_at":"{when}",'
            f'"payload":{encode_str(payload)},"prev_hash":"{prev}","hash":"{h}"}}'
        )
