"""The in-process mode: the factory's loop on a thread of the front's process, fed by a queue.

The event loop puts a :class:`~creditfactory.factory.Decide` on the queue and awaits its
future; the thread takes everything queued (controls included, in order), runs
:meth:`Factory.handle <creditfactory.factory.Factory.handle>` on it, exactly as an engine
process does with what arrived on its socket, and hands the answers back (one wake-up per event
loop per batch).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import queue
import threading
from typing import Any

from creditfactory.exceptions import CreditFactoryError
from creditfactory.factory._messages import (
    Close,
    Decide,
    Decided,
    Failed,
    Invalidate,
    Message,
)
from creditfactory.factory._outcome import Answer
from creditfactory.factory._unit import Factory


class FactoryStoppedError(CreditFactoryError, RuntimeError):
    """The factory's loop stopped before answering (its thread ended)."""


class InProcess:
    """Run ``factory`` on a thread of this process; :meth:`decide` from an event loop.

    Parameters
    ----------
    factory : Factory
        The unit of work (owned from now on: :meth:`close` closes it).
    max_batch : int
        The most messages one pass of the loop takes.
    """

    mode = "in-process"

    def __init__(self, factory: Factory, max_batch: int = 256):
        self.factory = factory
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[Message] = queue.SimpleQueue()
        self._waiting: dict[int, tuple[asyncio.AbstractEventLoop, asyncio.Future[Answer]]] = {}
        self._ids = itertools.count()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    async def start(self) -> None:
        """Start the thread (also started by the first :meth:`decide`)."""
        self._ensure_thread()

    async def decide(
        self, body: bytes, actor: str, api_key_id: int | None, idempotency_key: str | None
    ) -> Answer:
        """Decide and store one application body; its errors are raised here."""
        loop = asyncio.get_running_loop()
        i = next(self._ids)
        fut: asyncio.Future[Answer] = loop.create_future()
        self._waiting[i] = (loop, fut)
        self._ensure_thread()
        self._queue.put(Decide(i, body, actor, api_key_id, idempotency_key))
        return await fut

    def invalidate(self) -> None:
        """The strategy or the lists changed: the next application is decided with the new ones
        (callable from any thread)."""
        self._queue.put(Invalidate())

    async def close(self) -> None:
        """Answer what was sent, then stop the thread and close the factory."""
        await asyncio.to_thread(self.close_now)

    def close_now(self, timeout: float = 10.0) -> None:
        """:meth:`close` from a thread that is not an event loop."""
        thread = self._thread
        if thread is not None and thread.is_alive():
            self._queue.put(Close())
            thread.join(timeout)
        self._thread = None
        self.factory.close()

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            with self._start_lock:
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(
                        target=self._run, name="creditfactory-factory", daemon=True
                    )
                    self._thread.start()

    def _run(self) -> None:
        stop = False
        while not stop:
            messages = [self._queue.get()]
            while len(messages) < self.max_batch:
                try:
                    messages.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                replies, stop = self.factory.handle(messages)
            except BaseException as exc:  # every waiting request hears of it
                self._settle_all(exc)
                raise
            self._settle(replies)

    def _settle(self, replies: list[Decided | Failed]) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[Any, Any]]] = {}
        for reply in replies:
            waiting = self._waiting.pop(reply.id, None)
            if waiting is None:
                continue
            loop, fut = waiting
            result = reply.answer if isinstance(reply, Decided) else reply.error.rebuild()
            by_loop.setdefault(loop, []).append((fut, result))
        for loop, done in by_loop.items():
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting any more
                loop.call_soon_threadsafe(_settle_on_loop, done)

    def _settle_all(self, exc: BaseException) -> None:
        waiting, self._waiting = self._waiting, {}
        err = FactoryStoppedError(f"the decision factory stopped: {type(exc).__name__}: {exc}")
        for loop, fut in waiting.values():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle_on_loop, [(fut, err)])


def _settle_on_loop(done: list[tuple[asyncio.Future[Answer], Any]]) -> None:
    for fut, result in done:
        if fut.cancelled():
            continue
        if isinstance(result, BaseException):
            fut.set_exception(result)
        else:
            fut.set_result(result)
