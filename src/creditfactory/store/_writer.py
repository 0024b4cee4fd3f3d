"""Group commit: the decisions that arrived together are written in one transaction.

The factory hands :class:`Writer` the rows (:class:`~creditfactory.store._rows.Pending`) of
everything that has arrived and answers only after the commit, so nothing is answered before it
is stored. The writer has its back-end write up to ``max_batch`` at a time: lock the ledger
head, reserve ids, insert applications, decisions, reviews and ledger entries, move the head and
commit: one commit and one lock round trip for the whole batch instead of one per request. The
back-end is chosen by name (:data:`BACKENDS`: ``sqlite``, ``postgresql``; by default the
engine's dialect); the writer keeps one pooled DB-API connection and drives its transaction
itself (no pool check-out, pre-ping or SQLAlchemy ``Connection`` bookkeeping per batch). If a
batch fails on a unique key (an idempotency race), its items are written one by one so that only
the offending one fails.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError

from creditfactory.exceptions import ConfigError
from creditfactory.store._backend import WriteBackend
from creditfactory.store._backend_postgres import PostgresBackend
from creditfactory.store._backend_sqlite import SqliteBackend
from creditfactory.store._errors import unavailable
from creditfactory.store._rows import Pending

#: the writer's back-ends by name
BACKENDS: dict[str, Callable[[Engine], WriteBackend]] = {
    "sqlite": SqliteBackend,
    "postgresql": PostgresBackend,
}


def backend_named(name: str, engine: Engine) -> WriteBackend:
    """The back-end called ``name`` for ``engine``.

    Raises
    ------
    ConfigError
        No back-end has that name (the message lists them).
    """
    make = BACKENDS.get(name)
    if make is None:
        raise ConfigError(f"backend: {name!r} is not one of {', '.join(sorted(BACKENDS))}")
    return make(engine)


class Writer:
    """Writes batches of :class:`Pending` decisions, each in one transaction (group commit).

    Used by one thread at a time (the factory's loop), which hands it whatever has arrived.
    """

    def __init__(self, engine: Engine, max_batch: int = 256, backend: str | None = None):
        self.engine = engine
        self.max_batch = max_batch
        self.backend = backend_named(backend or engine.dialect.name, engine)
        self._conn: Any = None  # the pool's proxy of the writer's DB-API connection
        self.batches = 0
        self.items = 0

    def write(self, batch: list[Pending]) -> list[Any]:
        """Write ``batch`` now, one transaction per ``max_batch`` items: for each item, in order,
        its rows ``(application, decision, review or None)`` or its error (a unique-key clash
        or a value the database refuses is one item's, found by writing the batch's items one
        by one; an outage is every item's)."""
        out: list[Any] = []
        for start in range(0, len(batch), self.max_batch):
            out += self._write_safely(batch[start : start + self.max_batch])
        return out

    def close(self) -> None:
        """Let go of the connection."""
        self._drop_connection()

    def others_wrote(self) -> bool:
        """Whether another connection (another process, the front's sessions) may have
        committed since the last call: False only when the back-end can tell for sure that
        none did (SQLite's ``data_version``); True before the first write, after an error and
        on back-ends that cannot tell cheaply (PostgreSQL)."""
        conn = self._conn
        if conn is None or conn.dbapi_connection is None:
            return True
        try:
            return self.backend.others_wrote(conn.dbapi_connection)
        except Exception:  # a broken connection: the next write finds out and reconnects
            return True

    def _write_safely(self, batch: list[Pending]) -> list[Any]:
        try:
            results = self._write(batch)
        except Exception as exc:
            # a unique-key clash (a racing retry) or a value the database refuses is one
            # item's: find it, the others go through; an outage is every item's
            if len(batch) == 1 or unavailable(exc):
                return [exc] * len(batch)
            return [r for item in batch for r in self._write_safely([item])]
        self.batches += 1
        self.items += len(batch)
        return results

    def _write(self, batch: list[Pending]) -> list[tuple[Any, Any, Any]]:
        """Write ``batch`` in one transaction; DB-API errors come back as SQLAlchemy's."""
        dbapi = self.engine.dialect.loaded_dbapi
        if self._conn is None:
            self._conn = self.engine.raw_connection()
            self.backend.connected(self._conn)
        raw = self._conn.dbapi_connection
        assert raw is not None
        try:
            try:
                out = self.backend.write(raw, batch)
            except BaseException:
                with contextlib.suppress(Exception):
                    raw.rollback()
                self.backend.failed()
                raise
        except dbapi.Error as exc:
            err = DBAPIError.instance(
                "group commit", None, exc, dbapi.Error, dialect=self.engine.dialect
            )
            if not isinstance(err, IntegrityError):  # maybe broken: the next batch reconnects
                self._drop_connection(invalidate=True)
            raise err from exc
        self.backend.committed()
        return out

    def _drop_connection(self, invalidate: bool = False) -> None:
        conn, self._conn = self._conn, None
        self.backend.close()
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.invalidate() if invalidate else conn.close()
