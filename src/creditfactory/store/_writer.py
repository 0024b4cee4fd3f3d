"""Group commit: decisions from concurrent requests are written in one transaction per batch.

A request hands its rows (:class:`~creditfactory.store._rows.Pending`) to :class:`Writer` and
waits for the commit, so nothing is answered before it is stored. The writer takes everything
queued (up to ``max_batch``) and has its back-end write it: lock the ledger head, reserve ids,
insert applications, decisions, reviews and ledger entries, move the head and commit: one commit
and one lock round trip for the whole batch instead of one per request. The back-end is chosen
by name (:data:`BACKENDS`: ``sqlite``, ``postgresql``; by default the engine's dialect); the
writer keeps one pooled DB-API connection and drives its transaction itself (no pool check-out,
pre-ping or SQLAlchemy ``Connection`` bookkeeping per batch). If a batch fails on a unique key
(an idempotency race), its items are written one by one so that only the offending one fails.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
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


class Writer:
    """A background thread writing :class:`Pending` decisions in batches (group commit)."""

    def __init__(self, engine: Engine, max_batch: int = 256, backend: str | None = None):
        self.engine = engine
        self.max_batch = max_batch
        self.backend = backend_named(backend or engine.dialect.name, engine)
        self._queue: queue.SimpleQueue[Pending | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._conn: Any = None  # the pool's proxy of the writer's DB-API connection
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
