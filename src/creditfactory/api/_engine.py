"""The decision engine in a process of its own, beside the HTTP front.

One Python process serves HTTP *and* decides on one core: the interpreter lock lets one of them
run at a time. With ``engine_process`` on, the front (uvicorn) only speaks HTTP, authorises the
caller and hands the raw application body to an engine process over a socket pair; the engine
parses it, decides, stores application, decision, review and ledger entry and sends back the
status and the JSON answer. The front writes each body as soon as it has it (the engine starts
on it while the front reads the next request); the engine decides whatever has arrived, commits
it in one transaction (group commit, on its own thread) and answers it in one write.

Frames are length-prefixed pickles between two processes of the same installation (the socket
pair is private to them: nothing else can connect). Errors travel as the exception itself, so
the front answers exactly as if it had decided (422 naming the field, 409, ...).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import pickle
import signal
import socket
import struct
import subprocess
import sys
from collections.abc import Callable
from typing import Any

from creditfactory.api._settings import Settings
from creditfactory.exceptions import ConfigError, CreditFactoryError, DecisionFailedError
from creditfactory.store import unavailable

_LEN = struct.Struct("!I")


def _frame(message: Any) -> bytes:
    """One message as it travels: its pickle's length (4 bytes), then the pickle."""
    data = pickle.dumps(message, pickle.HIGHEST_PROTOCOL)
    return _LEN.pack(len(data)) + data


def _unframe(buf: bytearray) -> list[Any]:
    """The whole messages at the start of ``buf``, removed from it (a partial one stays)."""
    out: list[Any] = []
    pos, end = 0, len(buf)
    while end - pos >= 4:
        (n,) = _LEN.unpack_from(buf, pos)
        if end - pos - 4 < n:
            break
        out.append(pickle.loads(memoryview(buf)[pos + 4 : pos + 4 + n]))
        pos += 4 + n
    del buf[:pos]
    return out


_log = logging.getLogger("creditfactory.engine")


class EngineUnavailableError(CreditFactoryError, RuntimeError):
    """The engine process stopped; the front answers 503 and starts a new one."""


class _Frames(asyncio.Protocol):
    """The front's end of the socket pair: length-prefixed pickled messages."""

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
        for message in _unframe(self._buf):
            self._on_message(message)

    def send(self, message: Any) -> None:
        """Write one message now: the engine starts on it while the front reads the next
        request (coalescing a loop turn's messages made requests move in lockstep)."""
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(_frame(message))

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        self._on_lost()

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


def engine_wanted(settings: Settings) -> bool:
    """Whether the app decides in an engine process: ``settings.engine_process``, or by default
    on a POSIX system with two or more CPUs and a database another process can open.

    Raises
    ------
    ConfigError
        An engine process is asked for with an in-memory SQLite database, or off POSIX.
    """
    memory = settings.database_url in ("sqlite://", "sqlite:///:memory:")
    posix = os.name == "posix"  # the socket pair is handed to the child as a file descriptor
    if settings.engine_process is None:
        return posix and not memory and (os.cpu_count() or 1) >= 2
    if settings.engine_process and memory:
        raise ConfigError("engine_process: an in-memory SQLite database cannot be shared")
    if settings.engine_process and not posix:
        raise ConfigError("engine_process: needs a POSIX system (Linux, macOS)")
    return settings.engine_process


def _pack(exc: BaseException) -> tuple[Any, ...]:
    """An exception as (class, args, attributes), rebuilt without calling ``__init__``."""
    state = (type(exc), exc.args, dict(vars(exc)))
    try:
        pickle.dumps(state)
    except Exception:  # an attribute that does not pickle: the message is what counts
        return (RuntimeError, (f"{type(exc).__name__}: {exc}",), {})
    return state


def _unpack(state: tuple[Any, ...]) -> BaseException:
    cls, args, attrs = state
    exc: BaseException = cls.__new__(cls)
    exc.args = args
    vars(exc).update(attrs)
    return exc


class EngineClient:
    """The front's end: start the engine process, hand it bodies, await the answers.

    Start and close it from the event loop that serves the requests (the app's lifespan).
    """

    def __init__(self, settings: Settings, start_timeout: float = 60.0):
        self.settings = settings
        self.start_timeout = start_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self._frames: _Frames | None = None
        self._waiting: dict[int, asyncio.Future[Any]] = {}
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
        code = "from creditfactory.api._engine import main; main()"
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-c", code, str(back.fileno())], pass_fds=[back.fileno()]
            )
        finally:
            back.close()
        ready = loop.create_future()
        self._waiting[-1] = ready
        _, self._frames = await loop.create_connection(
            lambda: _Frames(self._on_message, self._on_lost), sock=front
        )
        self._frames.send(("start", self.settings))
        try:
            await asyncio.wait_for(ready, self.start_timeout)
        except Exception as exc:  # its own error (unreachable database ...), or a timeout
            await self.close()
            raise ConfigError(
                f"engine_process: the decision engine did not start: {exc or type(exc).__name__}"
            ) from exc

    def _on_message(self, message: tuple[Any, ...]) -> None:
        fut = self._waiting.pop(message[0], None)
        if fut is None or fut.done():
            return
        if message[1] == "ok":
            fut.set_result(message[2])
        else:
            fut.set_exception(_unpack(message[2]))

    def _on_lost(self) -> None:
        self._frames = None
        waiting, self._waiting = self._waiting, {}
        for fut in waiting.values():
            if not fut.done():
                fut.set_exception(EngineUnavailableError("the decision engine stopped; retry"))

    async def decide(
        self, raw: bytes, actor: str, api_key_id: int | None, idempotency_key: str | None
    ) -> tuple[int, bytes]:
        """What :func:`~creditfactory.api._applications.decide_body` would answer, decided in
        the engine process (its errors re-raised here).

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
        fut = self._waiting[i] = self._loop.create_future()
        self._frames.send((i, raw, actor, api_key_id, idempotency_key))
        return await fut  # type: ignore[no-any-return]

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
        loop, frames = self._loop, self._frames
        if loop is not None and frames is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._send_control, ("invalidate",))

    def _send_control(self, message: tuple[Any, ...]) -> None:
        if self._frames is not None:
            self._frames.send((-2, *message))

    async def close(self, timeout: float = 10.0) -> None:
        """Let the engine write what it holds, then stop it."""
        if self._frames is not None:
            self._frames.send((-2, "close"))
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
        serve_engine(sock)


def _messages(sock: socket.socket, buf: bytearray) -> list[Any] | None:
    """The whole messages that have arrived (waiting for at least one); None at end of input."""
    while True:
        out = _unframe(buf)
        if out:
            return out
        chunk = sock.recv(1 << 20)
        if not chunk:
            return None
        buf += chunk


def serve_engine(sock: socket.socket) -> None:
    """Answer the front until it closes the socket or asks to stop.

    Each pass decides what has arrived and writes it in one transaction (group commit without
    a writer thread: while one batch commits, the next one queues in the socket).
    """
    from creditfactory.api._app import decision_service
    from creditfactory.api._applications import answer, parse_application
    from creditfactory.api._server import _freeze
    from creditfactory.store import ConflictError, Store

    buf = bytearray()
    first = _messages(sock, buf)
    if first is None:
        return
    try:
        settings: Settings = first[0][1]
        store = Store(settings.database_url)
        service = decision_service(store, settings)
        with contextlib.suppress(ConflictError):  # none active yet: one may be uploaded later
            service.refresh()  # compile the active strategy now, and fail here if unreachable
        _freeze()
    except Exception as exc:
        _send(sock, [(-1, "error", _pack(exc))])
        return
    _send(sock, [(-1, "ok", None)])
    backlog = first[1:]
    try:
        while True:
            messages = backlog or _messages(sock, buf)
            backlog = []
            if messages is None:
                return
            replies: list[tuple[Any, ...]] = []
            ids: list[int] = []
            requests: list[tuple[Any, str, int | None, str | None]] = []
            stop = False
            for message in messages:
                if message[0] == -2:  # control, in order with the decisions around it
                    if requests:  # decided with the strategy in force when they were sent
                        _decide(service, ids, requests, replies, answer)
                        ids, requests = [], []
                    if message[1] == "invalidate":
                        service.invalidate()
                    elif message[1] == "close":
                        stop = True
                    continue
                i, raw, actor, key_id, key = message
                try:
                    requests.append((parse_application(raw), actor, key_id, key))
                    ids.append(i)
                except Exception as exc:  # the field-level 422
                    replies.append((i, "error", _pack(exc)))
            if requests:
                _decide(service, ids, requests, replies, answer)
            _send(sock, replies)
            if stop:
                return
    finally:
        service.close()
        store.dispose()


def _decide(
    service: Any, ids: list[int], requests: list[Any], replies: list[tuple[Any, ...]],
    answer: Callable[[Any], tuple[int, bytes]],
) -> None:  # fmt: skip
    try:
        outcomes: list[Any] = service.decide_many(requests)
    except Exception as exc:  # no strategy active (409), the database unreachable ...
        outcomes = [exc] * len(requests)
    logged: set[int] = set()
    for i, out in zip(ids, outcomes, strict=True):
        if isinstance(out, Exception):
            if not isinstance(out, CreditFactoryError) and id(out) not in logged:
                logged.add(id(out))  # a failed write is every request's: logged once
                if unavailable(out):  # an outage: one line a batch, the front answers 503
                    _log.warning("database unavailable: %s", type(out).__name__)
                else:
                    _log.error("deciding applications failed", exc_info=out)
            replies.append((i, "error", _pack(out)))
            continue
        try:
            replies.append((i, "ok", answer(out)))
        except Exception as exc:  # one answer that cannot be built must not stop the engine
            _log.error("answering a decided application failed", exc_info=exc)
            replies.append((i, "error", _pack(DecisionFailedError(_UNANSWERED))))


_UNANSWERED = (
    "the application was decided and stored, but its answer could not be built (an internal "
    "error, logged); a retry with the same Idempotency-Key reads it back"
)


def _send(sock: socket.socket, messages: list[tuple[Any, ...]]) -> None:
    if messages:
        sock.sendall(b"".join(map(_frame, messages)))
