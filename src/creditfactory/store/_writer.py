"""Group commit: decisions from concurrent requests are written in one transaction per batch.

A request hands its rows to :class:`Writer` and waits for the commit, so nothing is answered
before it is stored. The writer thread takes everything queued (up to ``max_batch``), locks the
ledger head, inserts applications, decisions, reviews and ledger entries with one multi-row
statement per table, moves the head and commits: one commit and one lock round trip for the
whole batch instead of one per request. If a batch fails on a unique key (an idempotency race),
its items are written one by one so that only the offending one fails.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Engine, insert, update
from sqlalchemy.exc import IntegrityError

from creditfactory.audit import make_entry
from creditfactory.audit._ledger import Entry
from creditfactory.store._records import record_digest
from creditfactory.store._tables import Application, DecisionRecord, LedgerHead, LedgerRow, Review

_APP = Application.__table__
_DEC = DecisionRecord.__table__
_REV = Review.__table__
_LEDGER = LedgerRow.__table__
_HEAD = LedgerHead.__table__

# Built once: constructing statements per batch costs more than executing them on SQLite.
# Taking the write lock first (an UPDATE) makes concurrent writers in other processes queue up.
_LOCK_HEAD = (
    update(_HEAD)
    .where(_HEAD.c.id == 1)
    .values(seq=_HEAD.c.seq)
    .returning(_HEAD.c.seq, _HEAD.c.hash)
)
_INSERT_APP = insert(_APP).returning(_APP.c.id, sort_by_parameter_order=True)
_INSERT_DEC = insert(_DEC).returning(_DEC.c.id, sort_by_parameter_order=True)
_INSERT_REV = insert(_REV).returning(_REV.c.id, sort_by_parameter_order=True)
_INSERT_LEDGER = insert(_LEDGER)
_MOVE_HEAD = update(_HEAD).where(_HEAD.c.id == 1)


@dataclass
class Pending:
    """One decision waiting to be written: column values without ids, and the caller's future."""

    application: dict[str, Any]
    decision: dict[str, Any]
    review_reason: str | None
    actor: str
    future: Future[tuple[Application, DecisionRecord, Review | None]] = field(
        default_factory=Future
    )
    loop: Any = None  # set, with ``awaitable``, when an event loop awaits the item
    awaitable: Any = None


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
        elif exc is not None:
            item.future.set_exception(exc)
        else:
            item.future.set_result(result)
    for loop, done in by_loop.items():
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting any more
            loop.call_soon_threadsafe(_settle_on_loop, done)


def _typed(model: type, values: dict[str, Any]) -> Any:
    """A plain record with the attributes of a ``model`` row (cheaper than an ORM object)."""
    return SimpleNamespace(**values)


class Writer:
    """A background thread writing :class:`Pending` decisions in batches (group commit)."""

    def __init__(self, engine: Engine, max_batch: int = 256):
        self.engine = engine
        self.max_batch = max_batch
        self._queue: queue.Queue[Pending | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.batches = 0
        self.items = 0

    def submit(self, item: Pending) -> tuple[Application, DecisionRecord, Review | None]:
        """Queue ``item`` and wait until it is committed; re-raises the write's error."""
        self._enqueue(item)
        return item.future.result()

    async def submit_async(
        self, item: Pending
    ) -> tuple[Application, DecisionRecord, Review | None]:
        """Queue ``item`` and await its commit without holding a thread."""
        import asyncio

        item.loop = asyncio.get_running_loop()
        item.awaitable = item.loop.create_future()
        self._enqueue(item)
        return await item.awaitable  # type: ignore[no-any-return]

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
        except IntegrityError as exc:
            if len(batch) == 1:
                _settle(batch, None, exc)
                return
            for item in batch:  # find the one that clashes; the others go through
                self._write_safely([item])
            return
        except BaseException as exc:  # handed to every waiting request
            _settle(batch, None, exc)
            return
        self.batches += 1
        self.items += len(batch)
        _settle(batch, results, None)

    def _write(
        self, batch: list[Pending]
    ) -> list[tuple[Application, DecisionRecord, Review | None]]:
        with self.engine.begin() as conn:
            seq, head_hash = conn.execute(_LOCK_HEAD).one()
            app_ids = conn.execute(_INSERT_APP, [p.application for p in batch]).scalars().all()
            decisions = [
                {**p.decision, "application_id": a} for p, a in zip(batch, app_ids, strict=True)
            ]
            dec_ids = conn.execute(_INSERT_DEC, decisions).scalars().all()
            reviews = [
                {"decision_id": d, "queue_reason": p.review_reason, "status": "pending",
                 "queued_at": p.decision["decided_at"]}
                for p, d in zip(batch, dec_ids, strict=True) if p.review_reason is not None
            ]  # fmt: skip
            rev_ids = conn.execute(_INSERT_REV, reviews).scalars().all() if reviews else []
            by_decision = {
                r["decision_id"]: {**r, "id": i} for r, i in zip(reviews, rev_ids, strict=True)
            }
            prev: Entry | None = None
            if seq:
                prev = SimpleNamespace(seq=seq, hash=head_hash)  # type: ignore[assignment]
            out: list[tuple[Application, DecisionRecord, Review | None]] = []
            ledger: list[dict[str, Any]] = []
            for p, app_id, dec, dec_id in zip(batch, app_ids, decisions, dec_ids, strict=True):
                app = _typed(Application, {**p.application, "id": app_id})
                rec = _typed(DecisionRecord, {**dec, "id": dec_id})
                rv = by_decision.get(dec_id)
                review = (
                    None
                    if rv is None
                    else _typed(
                        Review,
                        {
                            **rv,
                            "outcome": None,
                            "reason": None,
                            "reviewer": None,
                            "reviewed_at": None,
                        },
                    )
                )
                digests = {
                    f"application:{app_id}": record_digest(app, "application"),
                    f"decision:{dec_id}": record_digest(rec, "decision"),
                }
                if review is not None:
                    digests[f"review:{review.id}"] = record_digest(review, "review")
                entry = make_entry(
                    prev, "decision", f"decision:{dec_id}", p.actor,
                    {"decision": rec.decision, "strategy": rec.strategy, "version": rec.version,
                     "reasons": rec.reasons, "digests": digests},
                )  # fmt: skip
                ledger.append(_row(entry))
                prev = entry
                out.append((app, rec, review))
            conn.execute(_INSERT_LEDGER, ledger)
            assert prev is not None
            conn.execute(
                _MOVE_HEAD, {"seq": prev.seq, "hash": prev.hash, "updated_at": prev.created_at}
            )
        return out


def _row(entry: Entry) -> dict[str, Any]:
    import json

    return {
        "seq": entry.seq, "kind": entry.kind, "subject": entry.subject, "actor": entry.actor,
        "created_at": entry.created_at,
        "payload": json.dumps(entry.payload, sort_keys=True, separators=(",", ":")),
        "prev_hash": entry.prev_hash, "hash": entry.hash,
    }  # fmt: skip
