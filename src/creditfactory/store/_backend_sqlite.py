"""The group-commit writer's SQLite back-end: one multi-row ``INSERT`` per table per batch.

Under SQLite's write lock (taken first, by updating the ledger head) the next ids are the
largest ids plus one, so they are read rather than reserved. Datetimes are bound through the
columns' own processors (SQLite stores them as text). WAL checkpoints run in a thread of their
own (:class:`~creditfactory.store._checkpoint.Checkpointer`), off the write path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

from creditfactory.store._backend import Tables
from creditfactory.store._checkpoint import Checkpointer
from creditfactory.store._fraud_links import insert_links
from creditfactory.store._rows import (
    APP_COLS,
    DEC_COLS,
    JSON_COLS,
    LEDGER_COLS,
    REV_COLS,
    Pending,
    build_rows,
    reviewed,
)

# rows per INSERT: far below SQLite's limit of 32,766 parameters for the widest table
ROWS_PER_INSERT = 500


class SqliteBackend:
    """Writes a batch with one ``INSERT`` per table (see the module)."""

    name = "sqlite"

    def __init__(self, engine: Engine):
        self.engine = engine
        t = Tables(engine)
        self.tables = t
        q = t.quote

        def insert(table: Any, cols: tuple[str, ...]) -> str:  # one row of marks
            marks = ", ".join(["?"] * len(cols))
            return f"INSERT INTO {q(table.name)} ({t.names(cols)}) VALUES ({marks})"

        self.insert_app = insert(t.app, APP_COLS)
        self.insert_dec = insert(t.dec, DEC_COLS)
        self.insert_rev = insert(t.rev, REV_COLS)
        self.insert_ledger = insert(t.ledger, LEDGER_COLS)
        self.insert_link = insert_links(q, "?", 1)  # fraud links (store._fraud_links)
        # the head locked and the largest ids read in one statement (under the lock)
        self.lock_and_ids = (
            f"{t.lock_head}, (SELECT coalesce(max(id), 0) FROM {q(t.app.name)}), "
            f"(SELECT coalesce(max(id), 0) FROM {q(t.dec.name)}), "
            f"(SELECT coalesce(max(id), 0) FROM {q(t.rev.name)})"
        )
        self._rows: dict[tuple[str, int], str] = {}
        # the bind processors of the plain columns (datetimes as text)
        procs: dict[str, Callable[[Any], Any]] = {}
        for table in (t.app, t.dec, t.rev):
            for col in table.columns:
                proc = col.type._cached_bind_processor(engine.dialect)
                if proc is not None and col.name not in ("payload", *JSON_COLS):
                    procs[col.name] = proc
        self.procs = procs
        self._app_procs = [(i, procs[c]) for i, c in enumerate(APP_COLS[1:]) if c in procs]
        self._dec_procs = [(i, procs[c]) for i, c in enumerate(DEC_COLS[2:]) if c in procs]
        self._checkpointer: Checkpointer | None = None
        self._data_version: int | None = None  # of the writer's connection, last read

    # ------------------------------------------------------------------ WriteBackend
    def connected(self, conn: Any) -> None:
        self._data_version = None
        self._checkpointer = Checkpointer.start_for(self.engine, conn)

    def others_wrote(self, raw: Any) -> bool:
        """``PRAGMA data_version`` of the writer's connection moved: SQLite moves it on every
        commit of another connection (another process, the front's sessions), never on this
        connection's own."""
        version = raw.execute("PRAGMA data_version").fetchone()[0]
        moved = version != self._data_version
        self._data_version = version
        return bool(moved)

    def write(self, raw: Any, batch: list[Pending]) -> list[tuple[Any, Any, Any]]:
        """Lock the head, take ids after the largest, one multi-row INSERT per table, commit."""
        cur = raw.cursor()
        seq, head_hash, a, d, r = cur.execute(self.lock_and_ids).fetchone()
        n, k = len(batch), reviewed(batch)
        built = build_rows(
            self, batch, seq, head_hash, range(a + 1, a + n + 1), range(d + 1, d + n + 1),
            range(r + 1, r + k + 1),
        )  # fmt: skip
        for stmt, rows in (
            (self.insert_app, built.apps),
            (self.insert_dec, built.decs),
            (self.insert_rev, built.revs),
            (self.insert_ledger, built.ledger),
            (self.insert_link, built.links),
        ):
            for i in range(0, len(rows), ROWS_PER_INSERT):
                part = rows[i : i + ROWS_PER_INSERT]
                cur.execute(self._many(stmt, len(part)), [v for row in part for v in row])
        cur.execute(self.tables.move_head, built.head)
        raw.commit()
        return built.out

    def failed(self) -> None:
        return None

    def committed(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.wake()

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None

    # ------------------------------------------------------------------ RowFormat
    def application_row(self, p: Pending, app_id: int, text: str) -> Any:
        return (app_id, *_bound(p.app_values, self._app_procs))

    def decision_row(self, p: Pending, dec_id: int, app_id: int, text: str) -> Any:
        return (dec_id, app_id, *_bound(p.dec_values, self._dec_procs))

    def review_row(self, review: dict[str, Any]) -> Any:
        procs = self.procs
        out = []
        for c in REV_COLS:
            value, proc = review[c], procs.get(c)
            out.append(value if proc is None or value is None else proc(value))
        return tuple(out)

    def ledger_row(
        self, seq: int, subject: str, actor: str, when: str, payload: str, prev: str, h: str
    ) -> Any:
        return (seq, "decision", subject, actor, when, payload, prev, h)

    def _many(self, insert: str, n: int) -> str:
        """``insert`` (one row of ``?``) for ``n`` rows in one statement.

        One statement per table steps the database once: ``executemany`` would step (and give
        up and take back the GIL) once per row.
        """
        out = self._rows.get((insert, n))
        if out is None:
            head, marks = insert.rsplit(" VALUES ", 1)
            out = self._rows[(insert, n)] = f"{head} VALUES {', '.join([marks] * n)}"
        return out


def _bound(
    values: tuple[Any, ...], procs: list[tuple[int, Callable[[Any], Any]]]
) -> tuple[Any, ...]:
    if not procs:
        return values
    out = list(values)
    for i, proc in procs:
        if out[i] is not None:
            out[i] = proc(out[i])
    return tuple(out)
