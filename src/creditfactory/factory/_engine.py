"""The engine-process mode: the factory's loop in a child process, beside the HTTP front.

One Python process serves HTTP *and* decides on one core: the interpreter lock lets one of them
run at a time. In this mode the front hands each raw application body to an engine process over
a private socket pair (:class:`EngineClient`, the front's end, on its event loop); the engine
(:func:`serve`) reads whatever has arrived (waiting up to :data:`LINGER_SECONDS` for more when
fewer arrived than its recent batches held), runs :meth:`Factory.handle
<creditfactory.factory.Factory.handle>` on it, exactly as the in-process thread does with its
queue, and writes the answers back in one write. While one batch commits, the next queues in
the socket (group commit without a writer thread).

What crosses is :mod:`creditfactory.factory._messages`: :class:`Start` then :class:`Decide`,
:class:`Invalidate` and :class:`Close` one way, :class:`Ready`, :class:`Decided` and
:class:`Failed` the other. Errors travel as :class:`ErrorState`, so the front raises exactly
what deciding in process would have raised.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import gc
import itertools
import logging
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from creditfactory.exceptions import ConfigError, CreditFactoryError
from creditfactory.factory._config import FactoryConfig
from creditfactory.factory._messages import (
    FACTORY_TO_FRONT,
    FRONT_TO_FACTORY,
    Close,
    Decide,
    Decided,
    ErrorState,
    Failed,
    Invalidate,
    Message,
    Ready,
    Start,
    frame,
    unframe,
)
from creditfactory.factory._outcome import Answer
from creditfactory.factory._unit import Factory
from creditfactory.store import ConflictError

_log = logging.getLogger("creditfactory.engine")


class EngineUnavailableError(CreditFactoryError, RuntimeError):
    """The engine process stopped; the front answers 503 and starts a new one."""


class _Frames(asyncio.Protocol):
    """The front's end of the socket pair: framed messages."""

    def __init__(self, on_message: Callable[[Any], None], on_lost: Callable[[], None]):
        self._on_message = on_message
        self._on_lost = on_lost
        self._buf = bytearray()
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._buf += data
        for message in unframe(self._buf, FACTORY_TO_FRONT):
            self._on_message(message)

    def send(self, message: Message) -> None:
        """Write one message now: the engine starts on it while the front reads the next
        request (coalescing a loop turn's messages made requests move in lockstep)."""
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(frame(message))

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        self._on_lost()

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


class EngineClient:
    """The front's end: start the engine process, hand it bodies, await the answers.

    Start and close it from the event loop that serves the requests (the app's lifespan).
    """

    mode = "process"

    def __init__(self, config: FactoryConfig, start_timeout: float = 60.0):
        self.config = config
        self.start_timeout = start_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self._frames: _Frames | None = None
        self._waiting: dict[int, asyncio.Future[Answer]] = {}
        self._ready: asyncio.Future[Ready] | None = None
        self._ids = itertools.count()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._starting: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the engine process and wait until it is ready to decide.

        Raises
        ------
        ConfigError
            The engine did not start (its error, or a timeout).
        """
        loop = self._loop = asyncio.get_running_loop()
        front, back = socket.socketpair()
        code = "from creditfactory.factory._engine import main; main()"
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-c", code, str(back.fileno())], pass_fds=[back.fileno()]
            )
        finally:
            back.close()
        ready = self._ready = loop.create_future()
        _, self._frames = await loop.create_connection(
            lambda: _Frames(self._on_message, self._on_lost), sock=front
        )
        self._frames.send(Start(self.config))
        try:
            answer = await asyncio.wait_for(ready, self.start_timeout)
            if answer.error is not None:
                raise answer.error.rebuild()
        except Exception as exc:  # its own error (unreachable database ...), or a timeout
            await self.close()
            raise ConfigError(
                f"engine_process: the decision engine did not start: {exc or type(exc).__name__}"
            ) from exc

    def _on_message(self, message: Ready | Decided | Failed) -> None:
        if isinstance(message, Ready):
            if self._ready is not None and not self._ready.done():
                self._ready.set_result(message)
            return
        fut = self._waiting.pop(message.id, None)
        if fut is None or fut.done():
            return
        if isinstance(message, Decided):
            fut.set_result(message.answer)
        else:
            fut.set_exception(message.error.rebuild())

    def _on_lost(self) -> None:
        self._frames = None
        waiting, self._waiting = self._waiting, {}
        lost = EngineUnavailableError("the decision engine stopped; retry")
        if self._ready is not None and not self._ready.done():
            self._ready.set_exception(lost)
        for fut in waiting.values():
            if not fut.done():
                fut.set_exception(EngineUnavailableError("the decision engine stopped; retry"))

    async def decide(
        self, body: bytes, actor: str, api_key_id: int | None, idempotency_key: str | None
    ) -> Answer:
        """Decide and store one application body in the engine process (its errors re-raised
        here).

        Raises
        ------
        EngineUnavailableError
            The engine stopped before answering (a new one starts for the next request).
        """
        if self._frames is None:
            await self._restart()
        assert self._loop is not None
        assert self._frames is not None
        i = next(self._ids)
        fut: asyncio.Future[Answer] = self._loop.create_future()
        self._waiting[i] = fut
        self._frames.send(Decide(i, body, actor, api_key_id, idempotency_key))
        return await fut

    async def _restart(self) -> None:
        if self._starting is None:
            _log.warning("the decision engine stopped; starting a new one")
            self._reap()
            self._starting = asyncio.ensure_future(self.start())
        try:
            await asyncio.shield(self._starting)
        except ConfigError as exc:
            raise EngineUnavailableError(str(exc)) from exc
        finally:
            if self._starting is not None and self._starting.done():
                self._starting = None

    def invalidate(self) -> None:
        """Make the engine forget its cached strategy and list fields before it decides the
        next request sent (callable from any thread)."""
        loop = self._loop
        if loop is not None and self._frames is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._send_invalidate)

    def _send_invalidate(self) -> None:
        if self._frames is not None:
            self._frames.send(Invalidate())

    async def close(self, timeout: float = 10.0) -> None:
        """Let the engine write what it holds, then stop it."""
        if self._frames is not None:
            self._frames.send(Close())
        proc = self.process
        if proc is not None:
            try:
                await asyncio.to_thread(proc.wait, timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._reap()

    def _reap(self) -> None:
        if self._frames is not None:
            self._frames.close()
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None


# ------------------------------------------------------------------------- the engine process
def main() -> None:
    """The engine process: ``python -c '...main()' FD`` with FD its end of the socket pair."""
    logging.basicConfig(level=logging.WARNING)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the front, which stops this
    with socket.socket(fileno=int(sys.argv[1])) as sock:
        serve(sock)


#: how long the engine waits, at most, for more applications when fewer have arrived than in its
#: recent batches (group commit: one transaction, one lock, one commit for more decisions)
LINGER_SECONDS = 0.001
#: how many recent batches set the size the engine waits for
LINGER_MEMORY = 8


class _Linger:
    """Wait a little for more applications when fewer have arrived than the recent batches had
    (as PostgreSQL's ``commit_delay`` does for commits): with many clients the front hands the
    next applications over while the engine would otherwise start on a few, and every batch
    pays one lock, one commit and one read of the fraud history however many it holds. A
    single client never waits: its batches have one application, as has the one waiting."""

    def __init__(self, seconds: float = LINGER_SECONDS, memory: int = LINGER_MEMORY):
        self.seconds = seconds
        self.recent: collections.deque[int] = collections.deque(maxlen=memory)

    def more(self, sock: socket.socket, buf: bytearray, messages: list[Any]) -> bool:
        """Add to ``messages`` what arrives within the wait; False at end of input."""
        target = max(self.recent, default=0)
        open_ = True
        if self.seconds > 0 and len(messages) < target:
            deadline = time.monotonic() + self.seconds
            while len(messages) < target:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([sock], [], [], left)[0]:
                    break
                chunk = sock.recv(1 << 20)
                if not chunk:
                    open_ = False
                    break
                buf += chunk
                messages += unframe(buf, FRONT_TO_FACTORY)
        self.recent.append(sum(isinstance(m, Decide) for m in messages))
        return open_


def _messages(sock: socket.socket, buf: bytearray) -> list[Any] | None:
    """The whole messages that have arrived (waiting for at least one); None at end of input."""
    while True:
        out = unframe(buf, FRONT_TO_FACTORY)
        if out:
            return out
        chunk = sock.recv(1 << 20)
        if not chunk:
            return None
        buf += chunk


def serve(sock: socket.socket) -> None:
    """Answer the front until it closes the socket or sends :class:`Close`: each pass runs
    :meth:`Factory.handle` on what has arrived and sends its answers in one write."""
    buf = bytearray()
    first = _messages(sock, buf)
    if first is None:
        return
    start = first[0]
    try:
        if not isinstance(start, Start):
            raise ConfigError(f"engine: the first message was {type(start).__name__}, not Start")
        factory = Factory(start.config)
    except Exception as exc:
        _send(sock, [Ready(ErrorState.of(exc))])
        return
    try:
        # compile the active strategy now, and fail here if the database is unreachable (none
        # active yet is fine: one may be uploaded later)
        with contextlib.suppress(ConflictError):
            factory.refresh()
        # what start-up built lives as long as the process: out of every later collection
        gc.collect()
        gc.freeze()
    except Exception as exc:
        factory.close()
        _send(sock, [Ready(ErrorState.of(exc))])
        return
    _send(sock, [Ready()])
    backlog = first[1:]
    linger = _Linger()
    try:
        while True:
            messages = backlog or _messages(sock, buf)
            backlog = []
            if messages is None:
                return
            open_ = linger.more(sock, buf, messages)
            replies, stop = factory.handle(messages)
            _send(sock, replies)
            if stop or not open_:
                return
    finally:
        factory.close()


def _send(sock: socket.socket, messages: list[Any]) -> None:
    if messages:
        sock.sendall(b"".join(map(frame, messages)))
