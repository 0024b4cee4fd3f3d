"""Group commit: decisions from concurrent requests are written in one transaction per batch.

A request hands its rows to :class:`Writer` and waits for the commit, so nothing is answered
before it is stored. The writer thread takes everything queued (up to ``max_batch``), locks the
ledger head, reserves ids for the batch, inserts applications, decisions, reviews and ledger
entries (straight through the DB-API cursor), moves the head and
commits: one commit and one lock round trip for the whole batch instead of one per request. On
SQLite each table gets one multi-row INSERT; on PostgreSQL one ``json_populate_recordset`` insert
per table (the batch's rows as one JSON array), sent with the head and the commit in one psycopg
pipeline: one round trip per batch while the writer knows the ledger head (a guarded update
catches a head moved by another writer, and the batch then locks and retries), ids reserved
ahead from the sequences. SQLite's WAL checkpoints run in a thread of their own.
If a batch fails on a unique key (an idempotency race), its items are written one by one so that
only the offending one fails.

Serialising is done once, by whoever builds the :class:`Pending` (the request's thread): each JSON
column's canonical text is both what is stored and what the record's ledger digest covers, and
the digest text (:func:`~creditfactory.store._records.content_pieces`, the function ``audit
verify`` uses) is cut around the ids the writer reserves, so the writer only hashes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import queue
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Engine, Table
from sqlalchemy.exc import DBAPIError, IntegrityError

from creditfactory.audit import canonical_json, entry_hash_text, utc_now
from creditfactory.store._checkpoint import Checkpointer
from creditfactory.store._errors import unavailable
from creditfactory.store._records import content_pieces, record_digest
from creditfactory.store._tables import Application, DecisionRecord, LedgerHead, LedgerRow, Review

_APP_COLS = ("id", "external_id", "payload", "request_sha256", "idempotency_key", "api_key_id",
             "received_at")  # fmt: skip
_DEC_COLS = ("id", "application_id", "strategy_id", "strategy", "version", "decision", "limit",
             "apr", "term", "reasons", "trace", "model_versions", "values", "list_hits",
             "decided_at")  # fmt: skip
_REV_COLS = ("id", "decision_id", "queue_reason", "status", "queued_at")
_LEDGER_COLS = ("seq", "kind", "subject", "actor", "created_at", "payload", "prev_hash", "hash")
_JSON_COLS = ("reasons", "trace", "model_versions", "values", "list_hits")


_encode_str = json.encoder.encode_basestring  # what json.dumps(ensure_ascii=False) uses


def _cj(value: Any) -> str:
    """``canonical_json(value)``, faster for the scalars a row is made of."""
    kind = type(value)
    if kind is str:
        return _encode_str(value)  # type: ignore[no-any-return]
    if value is None:
        return "null"
    if kind is int:
        return int.__repr__(value)
    if kind is float and math.isfinite(value):
        return float.__repr__(value)
    if kind is list and all(type(v) is str for v in value):  # reasons, trace, list hits
        return f"[{','.join(map(_encode_str, value))}]"
    if kind is dict and all(type(k) is str and type(v) is str for k, v in value.items()):
        return (
            "{" + ",".join(f"{_encode_str(k)}:{_encode_str(value[k])}" for k in sorted(value)) + "}"
        )
    return canonical_json(value)


@dataclass
class Pending:
    """One decision waiting to be written: column values without ids, and the caller's future.

    On construction the JSON columns are serialised once (canonical JSON, :attr:`texts`) and the
    canonical texts of the application's and the decision's digest content are assembled around
    the places where the ids go (:attr:`app_digest`, :attr:`dec_digest`).
    """

    application: dict[str, Any]
    decision: dict[str, Any]
    review_reason: str | None
    actor: str
    future: Future[tuple[Any, Any, Any]] | None = None  # set when a thread waits for the item
    loop: Any = None  # set, with ``awaitable``, when an event loop awaits the item
    awaitable: Any = None
    texts: dict[str, str] = field(default_factory=dict)
    app_digest: tuple[str, str] = ("", "")
    dec_digest: tuple[str, str, str] = ("", "", "")
    app_values: tuple[Any, ...] = ()  # the row after its id, JSON as text
    dec_values: tuple[Any, ...] = ()  # the row after its id and application id

    def __post_init__(self) -> None:
        a, d, texts = self.application, self.decision, self.texts
        # what a Float / Integer column gives back, so that the digest survives the round trip
        limit, apr, term = d["limit"], d["apr"], d["term"]
        if limit is not None and type(limit) is not float:
            d["limit"] = limit = float(limit)
        if apr is not None and type(apr) is not float:
            d["apr"] = apr = float(apr)
        if term is not None and type(term) is not int:
            d["term"] = term = int(term)
        if "payload" not in texts:
            texts["payload"] = _cj(a["payload"])
        for name in _JSON_COLS:
            if name not in texts:
                texts[name] = _cj(d[name])
        payload, reasons, trace = texts["payload"], texts["reasons"], texts["trace"]
        versions, values, hits = texts["model_versions"], texts["values"], texts["list_hits"]
        external, sha, key, key_id = (
            a["external_id"],
            a["request_sha256"],
            a["idempotency_key"],
            a["api_key_id"],
        )
        strategy_id, strategy, version, decision = (
            d["strategy_id"],
            d["strategy"],
            d["version"],
            d["decision"],
        )
        # the times as stored (UTC: SQLite keeps the wall time) and as digested (stamp text)
        received, decided = a["received_at"], d["decided_at"]
        if received is not None and received.tzinfo is not UTC:
            a["received_at"] = received = _utc(received)
        if decided is not None and decided.tzinfo is not UTC:
            d["decided_at"] = decided = _utc(decided)
        received_text = _stamp_json(received)
        decided_text = received_text if decided is received else _stamp_json(decided)
        # the rows in _APP_COLS / _DEC_COLS order after their ids, JSON columns as text
        self.app_values = (external, payload, sha, key, key_id, received)
        self.dec_values = (
            strategy_id, strategy, version, decision, limit, apr, term, reasons, trace,
            versions, values, hits, decided,
        )  # fmt: skip
        # the texts the application's and the decision's digests cover, ids left out
        a0, a1 = content_pieces(
            "application",
            {"api_key_id": _cj(key_id), "external_id": _cj(external),
             "idempotency_key": _cj(key), "payload": payload, "received_at": received_text,
             "request_sha256": _cj(sha)},
            ("id",),
        )  # fmt: skip
        self.app_digest = (a0, a1)
        d0, d1, d2 = content_pieces(
            "decision",
            {"apr": _cj(apr), "decided_at": decided_text, "decision": _cj(decision),
             "limit": _cj(limit), "list_hits": hits, "model_versions": versions,
             "reasons": reasons, "strategy": _cj(strategy), "strategy_id": _cj(strategy_id),
             "term": _cj(term), "trace": trace, "values": values, "version": _cj(version)},
            ("application_id", "id"),
        )  # fmt: skip
        self.dec_digest = (d0, d1, d2)


def _stamp_json(value: datetime | None) -> str:
    """``_cj(stamp(value))`` for a UTC value, without the calls (ISO text needs no escaping)."""
    if value is None:
        return "null"
    return f'"{value.isoformat(timespec="microseconds")}"'


def _utc(value: datetime) -> datetime:
    """``value`` in UTC; a naive one is UTC already (as :func:`stamp` reads it)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _settle_on_loop(done: list[tuple[Any, Any, BaseException | None]]) -> None:
    for fut, result, exc in done:
        if fut.cancelled():
            continue
        if exc is not None:
            fut.set_exception(exc)
        else:
            fut.set_result(result)


def _settle(batch: list[Pending], results: list[Any] | None, exc: BaseException | None) -> None:
    """Hand each item its result (or the error): one wake-up per event loop per batch."""
    by_loop: dict[Any, list[tuple[Any, Any, BaseException | None]]] = {}
    for i, item in enumerate(batch):
        result = None if results is None else results[i]
        if item.loop is not None:
            by_loop.setdefault(item.loop, []).append((item.awaitable, result, exc))
        elif item.future is None:  # nobody waits (written directly, e.g. in a test)
            continue
        elif exc is not None:
            item.future.set_exception(exc)
        else:
            item.future.set_result(result)  # type: ignore[arg-type]  # results given: no exc
    for loop, done in by_loop.items():
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting any more
            loop.call_soon_threadsafe(_settle_on_loop, done)


class _Sql:
    """The writer's statements for one dialect (DB-API parameter style, quoted names)."""

    def __init__(self, engine: Engine):
        dialect = engine.dialect
        self.postgres = dialect.name == "postgresql"
        q = dialect.identifier_preparer.quote
        mark = "%s" if dialect.paramstyle in ("format", "pyformat") else "?"

        def insert(table: Table, cols: tuple[str, ...]) -> str:
            names = ", ".join(q(c) for c in cols)
            if not self.postgres:  # one row of marks; rows() repeats it for a whole batch
                marks = ", ".join([mark] * len(cols))
                return f"INSERT INTO {q(table.name)} ({names}) VALUES ({marks})"
            # one statement for the whole batch: its rows as one JSON array (one parameter,
            # no per-value dumping); JSON columns keep their text, the head of each row is the
            # canonical content its digest covers
            t = q(table.name)
            return (
                f"INSERT INTO {t} ({names}) SELECT {names} "
                f"FROM json_populate_recordset(NULL::{t}, %s::json)"
            )

        app: Table = Application.__table__  # type: ignore[assignment]  # declarative tables
        dec: Table = DecisionRecord.__table__  # type: ignore[assignment]
        rev: Table = Review.__table__  # type: ignore[assignment]
        ledger: Table = LedgerRow.__table__  # type: ignore[assignment]
        head: Table = LedgerHead.__table__  # type: ignore[assignment]
        self.insert_app = insert(app, _APP_COLS)
        self.insert_dec = insert(dec, _DEC_COLS)
        self.insert_rev = insert(rev, _REV_COLS)
        self.insert_ledger = insert(ledger, _LEDGER_COLS)
        h = q(head.name)
        # taking the write lock first (an UPDATE) makes writers in other processes queue up
        self.lock_head = f"UPDATE {h} SET seq = seq WHERE id = 1 RETURNING seq, hash"
        self.move_head = (
            f"UPDATE {h} SET seq = {mark}, hash = {mark}, updated_at = {mark} WHERE id = 1"
        )
        # PostgreSQL: the head moves only if no other writer moved it since this one did
        # (else 1 / 0 fails the transaction); ids are reserved ahead from the sequences
        self.guard_head = (
            f"WITH u AS ({self.move_head} AND seq = {mark} AND hash = {mark} RETURNING 1) "
            "SELECT 1 / count(*) FROM u"
        )
        self.reserve = f"SELECT nextval({mark}::regclass) FROM generate_series(1, {mark})"
        if self.postgres:  # sequences hand out ids that no other writer will take
            self.ids = (
                f"SELECT nextval({mark}::regclass), nextval({mark}::regclass), "
                f"CASE WHEN g <= {mark} THEN nextval({mark}::regclass) END "
                f"FROM generate_series(1, {mark}) AS g"
            )
        else:  # under SQLite's write lock, max(id) + 1 ... is what the rowid would be
            self.ids = (
                f"SELECT (SELECT coalesce(max(id), 0) FROM {q(app.name)}), "
                f"(SELECT coalesce(max(id), 0) FROM {q(dec.name)}), "
                f"(SELECT coalesce(max(id), 0) FROM {q(rev.name)})"
            )
        self.sequences: tuple[str, str, str] | None = None
        self._rows: dict[tuple[str, int], str] = {}
        # the bind processors of the plain columns (SQLite stores datetimes as text)
        self.procs: dict[str, Callable[[Any], Any]] = {}
        for table in (app, dec, rev):
            for col in table.columns:
                proc = col.type._cached_bind_processor(dialect)
                if proc is not None and col.name not in ("payload", *_JSON_COLS):
                    self.procs[col.name] = proc

    def rows(self, insert: str, n: int) -> str:
        """SQLite: ``insert`` (one row of ``?``) for ``n`` rows in one statement.

        One statement per table steps the database once: ``executemany`` would step (and give
        up and take back the GIL) once per row.
        """
        out = self._rows.get((insert, n))
        if out is None:
            head, marks = insert.rsplit(" VALUES ", 1)
            out = self._rows[(insert, n)] = f"{head} VALUES {', '.join([marks] * n)}"
        return out


# PostgreSQL: batches written with the head locked after a guess of it missed
LOCK_AFTER_MISS = 32

# rows per SQLite INSERT: far below its limit of 32,766 parameters for the widest table
_SQLITE_ROWS = 500


class Writer:
    """A background thread writing :class:`Pending` decisions in batches (group commit)."""

    def __init__(self, engine: Engine, max_batch: int = 256):
        self.engine = engine
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[Pending | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._sql: _Sql | None = None
        self._conn: Any = None  # the pool's proxy of the writer's DB-API connection
        self._checkpointer: Checkpointer | None = None
        # PostgreSQL: the ledger head as this writer left it, and ids reserved ahead
        self._head: tuple[int, str] | None = None
        self._pools: tuple[deque[int], deque[int], deque[int]] = (deque(), deque(), deque())
        self.one_trip = 0  # batches written in one round trip
        self.guard_misses = 0  # batches whose guess of the head was wrong
        self._lock_for = 0  # batches to write with the lock before guessing again
        self.batches = 0
        self.items = 0

    def submit(self, item: Pending) -> tuple[Any, Any, Any]:
        """Queue ``item`` and wait until it is committed; re-raises the write's error."""
        item.future = future = Future[tuple[Any, Any, Any]]()
        self._enqueue(item)
        return future.result()

    async def submit_async(self, item: Pending) -> tuple[Any, Any, Any]:
        """Queue ``item`` and await its commit without holding a thread."""
        import asyncio

        loop = asyncio.get_running_loop()
        item.awaitable = loop.create_future()
        item.loop = loop
        self._enqueue(item)
        return await item.awaitable  # type: ignore[no-any-return]

    def write(self, batch: list[Pending]) -> None:
        """Write ``batch`` now, in the calling thread, as the writer thread would (one
        transaction per ``max_batch`` items; a clash isolated to its item): each item's
        ``future`` then holds its rows or its error. For a caller that batches itself; never
        beside a running writer thread.
        """
        if self._thread is not None and self._thread.is_alive():
            raise RuntimeError("Writer.write: the writer thread is running")
        for item in batch:
            item.future = Future()
        for start in range(0, len(batch), self.max_batch):
            self._write_safely(batch[start : start + self.max_batch])

    def _enqueue(self, item: Pending) -> None:
        if self._thread is None or not self._thread.is_alive():
            with self._start_lock:
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(
                        target=self._loop, name="creditfactory-writer", daemon=True
                    )
                    self._thread.start()
        self._queue.put(item)

    def close(self, timeout: float = 10.0) -> None:
        """Stop the thread after the queued items are written."""
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout)
        self._thread = None
        self._drop_connection()

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while len(batch) < self.max_batch:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stop = True
                    break
                batch.append(nxt)
            self._write_safely(batch)
            if stop:
                return

    def _write_safely(self, batch: list[Pending]) -> None:
        try:
            results = self._write(batch)
        except Exception as exc:
            # a unique-key clash (a racing retry) or a value the database refuses is one
            # item's: find it, the others go through; an outage is every item's
            if len(batch) == 1 or unavailable(exc):
                _settle(batch, None, exc)
                return
            for item in batch:
                self._write_safely([item])
            return
        except BaseException as exc:  # handed to every waiting request
            _settle(batch, None, exc)
            return
        self.batches += 1
        self.items += len(batch)
        _settle(batch, results, None)

    def _write(self, batch: list[Pending]) -> list[tuple[Any, Any, Any]]:
        """Write ``batch`` in one transaction; DB-API errors come back as SQLAlchemy's.

        The writer keeps one pooled DB-API connection and drives its transaction itself: no
        pool check-out, pre-ping or SQLAlchemy ``Connection`` bookkeeping per batch.
        """
        if self._sql is None:
            self._sql = _Sql(self.engine)
        sql = self._sql
        dbapi = self.engine.dialect.loaded_dbapi
        if self._conn is None:
            self._conn = self.engine.raw_connection()
            if not sql.postgres:
                self._checkpointer = Checkpointer.start_for(self.engine, self._conn)
        raw = self._conn.dbapi_connection
        assert raw is not None
        try:
            try:
                if sql.postgres:
                    return self._write_postgres(sql, raw, batch)
                out = self._write_sqlite(sql, raw.cursor(), batch)
                raw.commit()
            except BaseException:
                with contextlib.suppress(Exception):
                    raw.rollback()
                raise
        except dbapi.Error as exc:
            err = DBAPIError.instance(
                "group commit", None, exc, dbapi.Error, dialect=self.engine.dialect
            )
            self._head = None  # not known after a failure: the next batch locks it
            if not isinstance(err, IntegrityError):  # maybe broken: the next batch reconnects
                self._drop_connection(invalidate=True)
            raise err from exc
        if self._checkpointer is not None:
            self._checkpointer.wake()
        return out

    def _drop_connection(self, invalidate: bool = False) -> None:
        conn, self._conn = self._conn, None
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.invalidate() if invalidate else conn.close()

    # ------------------------------------------------------------------ back-ends
    def _write_postgres(self, sql: _Sql, raw: Any, batch: list[Pending]) -> list[Any]:
        """One round trip per batch while this writer knows the ledger head and holds ids;
        two (lock and reserve, then write) otherwise."""
        from psycopg.errors import DivisionByZero

        if sql.sequences is None:
            cur = raw.cursor()
            cur.execute(
                "SELECT pg_get_serial_sequence('applications', 'id'), "
                "pg_get_serial_sequence('decisions', 'id'), "
                "pg_get_serial_sequence('reviews', 'id')"
            )
            sql.sequences = tuple(cur.fetchone())
        n, k = len(batch), sum(p.review_reason is not None for p in batch)
        pools = self._pools
        wanted = (n, n, k)
        enough = all(len(p) >= m for p, m in zip(pools, wanted, strict=True))
        if self._lock_for:  # the head moved elsewhere lately: another writer is busy too
            self._lock_for -= 1
        elif self._head is not None and enough:
            ids = [[p.popleft() for _ in range(m)] for p, m in zip(pools, wanted, strict=True)]
            built = build_rows(sql, batch, *self._head, *ids)
            try:
                self._send(sql, raw, built, guard=self._head)
                self.one_trip += 1
                return built.out
            except DivisionByZero:
                raw.rollback()  # another writer moved the head: lock it and start again
                self._head = None
                self.guard_misses += 1
                # with several writers (uvicorn workers) a guess would mostly miss and cost a
                # round trip: lock for a while before guessing again
                self._lock_for = LOCK_AFTER_MISS

        def lock_and_reserve(n: int, k: int) -> tuple[Any, ...]:
            assert sql.sequences is not None
            sa, sd, sr = sql.sequences
            with raw.pipeline():  # the lock and the ids in one round trip
                c1, c2 = raw.cursor(), raw.cursor()
                c1.execute(sql.lock_head)
                c2.execute(sql.ids, (sa, sd, k, sr, n))
            seq, head_hash = c1.fetchone()
            rows = c2.fetchall()
            return (
                seq, head_hash, [r[0] for r in rows], [r[1] for r in rows],
                [r[2] for r in rows[:k]],
            )  # fmt: skip

        built = build_rows(sql, batch, *lock_and_reserve(n, k))
        self._send(sql, raw, built, guard=None)
        return built.out

    def _send(self, sql: _Sql, raw: Any, built: Built, guard: tuple[int, str] | None) -> None:
        """The inserts, the head (moved only if still at ``guard``, when given), the commit and
        fresh ids for the next batches, in one pipeline (one round trip)."""
        assert sql.sequences is not None
        statements = built.statements(sql)
        if guard is not None:  # first, and failing (1 / 0) unless the head is still ours
            statements = [(sql.guard_head, (*built.head, *guard)), *statements[:-1]]
        refills = []
        with raw.pipeline():
            cur = raw.cursor()
            for stmt, params in statements:
                cur.execute(stmt, params)
            want = max(64, 4 * len(built.out))
            for pool, seq_name in zip(self._pools, sql.sequences, strict=True):
                if len(pool) < 2 * len(built.out):  # nextval is not undone by a rollback
                    c = raw.cursor()
                    c.execute(sql.reserve, (seq_name, want - len(pool)))
                    refills.append((pool, c))
            raw.commit()
        for pool, c in refills:
            pool.extend(r[0] for r in c.fetchall())
        self._head = built.head[0], built.head[1]

    @staticmethod
    def _write_sqlite(sql: _Sql, cur: Any, batch: list[Pending]) -> list[Any]:
        """SQLite: lock the head, take ids after the largest, one multi-row INSERT per table."""
        seq, head_hash = cur.execute(sql.lock_head).fetchone()
        a, d, r = cur.execute(sql.ids).fetchone()
        n, k = len(batch), sum(p.review_reason is not None for p in batch)
        built = build_rows(
            sql, batch, seq, head_hash, range(a + 1, a + n + 1), range(d + 1, d + n + 1),
            range(r + 1, r + k + 1),
        )  # fmt: skip
        for stmt, rows in (
            (sql.insert_app, built.apps),
            (sql.insert_dec, built.decs),
            (sql.insert_rev, built.revs),
            (sql.insert_ledger, built.ledger),
        ):
            for i in range(0, len(rows), _SQLITE_ROWS):
                part = rows[i : i + _SQLITE_ROWS]
                cur.execute(sql.rows(stmt, len(part)), [v for row in part for v in row])
        cur.execute(sql.move_head, built.head)
        return built.out


@dataclass
class Built:
    """A batch's rows, ready to insert, and the records to answer with."""

    # SQLite: parameter tuples; PostgreSQL: each row as a JSON object's text
    apps: list[Any]
    decs: list[Any]
    revs: list[Any]
    ledger: list[Any]
    head: tuple[int, str, str]
    out: list[Any]

    def statements(self, sql: _Sql) -> list[tuple[str, Any]]:
        """PostgreSQL: one insert per table (its rows as a JSON array), then the head."""
        out: list[tuple[str, Any]] = [
            (stmt, (f"[{','.join(rows)}]",))
            for stmt, rows in ((sql.insert_app, self.apps), (sql.insert_dec, self.decs),
                               (sql.insert_rev, self.revs), (sql.insert_ledger, self.ledger))
            if rows
        ]  # fmt: skip
        return [*out, (sql.move_head, self.head)]


def build_rows(
    sql: _Sql, batch: list[Pending], seq: int, prev_hash: str, app_ids: Any, dec_ids: Any,
    rev_ids: Any,
) -> Built:  # fmt: skip
    """The rows of ``batch`` with its reserved ids, chained after ``(seq, prev_hash)``."""
    reviewed = [p for p in batch if p.review_reason is not None]
    rev_of = {id(p): r for p, r in zip(reviewed, rev_ids, strict=True)}
    procs, postgres = sql.procs, sql.postgres
    app_procs = [(i, procs[c]) for i, c in enumerate(_APP_COLS[1:]) if c in procs]
    dec_procs = [(i, procs[c]) for i, c in enumerate(_DEC_COLS[2:]) if c in procs]
    when = utc_now()
    apps: list[Any] = []
    decs: list[Any] = []
    revs: list[Any] = []
    ledger: list[Any] = []
    out: list[Any] = []
    for p, app_id, dec_id in zip(batch, app_ids, dec_ids, strict=True):
        a, d, t = p.application, p.decision, p.texts
        a0, a1 = p.app_digest
        d0, d1, d2 = p.dec_digest
        app_text, dec_text = f"{a0}{app_id}{a1}", f"{d0}{app_id}{d1}{dec_id}{d2}"
        digests = (
            f'{{"application:{app_id}":"{_sha(app_text)}","decision:{dec_id}":"{_sha(dec_text)}"'
        )
        app_row = {**a, "id": app_id}
        dec_row = {**d, "id": dec_id, "application_id": app_id}
        if postgres:  # rows as JSON objects: the digested content is the whole row
            apps.append(app_text)
            decs.append(dec_text)
        elif procs:
            apps.append((app_id, *_bound(p.app_values, app_procs)))
            decs.append((dec_id, app_id, *_bound(p.dec_values, dec_procs)))
        else:
            apps.append((app_id, *p.app_values))
            decs.append((dec_id, app_id, *p.dec_values))
        review = None
        rev_id = rev_of.get(id(p))
        if rev_id is not None:
            rv = {
                "id": rev_id, "decision_id": dec_id, "queue_reason": p.review_reason,
                "status": "pending", "queued_at": d["decided_at"], "outcome": None,
                "reason": None, "reviewer": None, "reviewed_at": None,
            }  # fmt: skip
            if postgres:
                revs.append(
                    canonical_json({c: rv[c] for c in _REV_COLS if c != "queued_at"})[:-1]
                    + f',"queued_at":{_iso(rv["queued_at"])}}}'
                )
            else:
                revs.append(tuple(_bind(procs, c, rv[c]) for c in _REV_COLS))
            review = SimpleNamespace(**rv)
            digests += f',"review:{rev_id}":"{record_digest(review, "review")}"'
        payload = (
            f'{{"decision":{_cj(d["decision"])},"digests":{digests}}},'
            f'"reasons":{t["reasons"]},"strategy":{_cj(d["strategy"])},'
            f'"version":{_cj(d["version"])}}}'
        )
        seq += 1
        subject = f"decision:{dec_id}"
        h = entry_hash_text(seq, "decision", subject, p.actor, when, payload, prev_hash)
        if postgres:
            ledger.append(
                f'{{"seq":{seq},"kind":"decision","subject":"{subject}",'
                f'"actor":{_encode_str(p.actor)},"created_at":"{when}",'
                f'"payload":{_encode_str(payload)},"prev_hash":"{prev_hash}","hash":"{h}"}}'
            )
        else:
            ledger.append((seq, "decision", subject, p.actor, when, payload, prev_hash, h))
        prev_hash = h
        out.append((SimpleNamespace(**app_row), SimpleNamespace(**dec_row), review))
    return Built(apps, decs, revs, ledger, (seq, prev_hash, when), out)


def _iso(value: Any) -> str:
    """A timestamp as a JSON string (PostgreSQL reads it back as ``timestamptz``)."""
    return "null" if value is None else f'"{value.isoformat()}"'


def _bound(values: tuple[Any, ...], procs: list[tuple[int, Callable[[Any], Any]]]) -> list[Any]:
    out = list(values)
    for i, proc in procs:
        if out[i] is not None:
            out[i] = proc(out[i])
    return out


def _bind(procs: dict[str, Callable[[Any], Any]], column: str, value: Any) -> Any:
    proc = procs.get(column)
    return value if proc is None or value is None else proc(value)
