"""The factory's messages: what a front hands the unit of work and what comes back.

The same messages drive both modes: in process they go through a queue to the factory's
thread as they are; to an engine process they cross a private socket pair as frames (a 4-byte
length, then the pickled message). Every message is one of the dataclasses below, and a frame
whose message is not one of them, or whose :data:`VERSION` differs, is refused
(:class:`ProtocolError`): the two ends of a socket are the same installation, but a reader can
follow what crosses from these definitions alone.

Front to factory: :class:`Start` (engine process only, first), :class:`Decide`,
:class:`Invalidate`, :class:`Close`. Factory to front: :class:`Ready` (engine process only),
:class:`Decided`, :class:`Failed`. Controls are applied in order with the applications around
them: an application sent after an :class:`Invalidate` is decided with the new strategy and
lists.
"""

from __future__ import annotations

import pickle
import struct
from dataclasses import dataclass
from typing import Any

from creditfactory.exceptions import CreditFactoryError
from creditfactory.factory._config import FactoryConfig
from creditfactory.factory._outcome import Answer

#: the protocol's version: both ends must speak the same
VERSION = 1


class ProtocolError(CreditFactoryError, RuntimeError):
    """A frame that is not one of the factory's messages, or of another protocol version."""


@dataclass(frozen=True)
class Start:
    """Front → engine, first: build the factory of ``config``."""

    config: FactoryConfig
    version: int = VERSION


@dataclass(frozen=True)
class Ready:
    """Engine → front: the factory is built (``error``: it could not be, and why)."""

    error: ErrorState | None = None
    version: int = VERSION


@dataclass(frozen=True)
class Decide:
    """Front → factory: decide and store one application.

    ``body`` is the raw JSON body (the factory parses it: a :class:`~creditfactory.factory.
    BodyError` otherwise) or an application already parsed; ``actor`` and ``api_key_id`` name
    the caller; ``idempotency_key`` makes a retry replay the first answer.
    """

    id: int
    body: bytes | dict[str, Any]
    actor: str
    api_key_id: int | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True)
class Invalidate:
    """Front → factory: the active strategy or the lists changed; check before the next."""


@dataclass(frozen=True)
class Close:
    """Front → factory: answer what was sent before, then stop."""


@dataclass(frozen=True)
class Decided:
    """Factory → front: the answer to :class:`Decide` ``id``."""

    id: int
    answer: Answer


@dataclass(frozen=True)
class Failed:
    """Factory → front: :class:`Decide` ``id`` failed with ``error`` (raised by the front as
    if it had decided: a 422 naming the field, a 409 ...)."""

    id: int
    error: ErrorState


@dataclass(frozen=True)
class ErrorState:
    """An exception as it crosses: its class, ``args`` and attributes (rebuilt without calling
    ``__init__``); one whose attributes do not pickle crosses as a ``RuntimeError`` with its
    message."""

    cls: type[BaseException]
    args: tuple[Any, ...]
    attrs: dict[str, Any]

    @classmethod
    def of(cls, exc: BaseException) -> ErrorState:
        state = cls(type(exc), exc.args, dict(vars(exc)))
        try:
            pickle.dumps(state)
        except Exception:  # an attribute that does not pickle: the message is what counts
            return cls(RuntimeError, (f"{type(exc).__name__}: {exc}",), {})
        return state

    def rebuild(self) -> BaseException:
        exc: BaseException = self.cls.__new__(self.cls)
        exc.args = self.args
        vars(exc).update(self.attrs)
        return exc


FRONT_TO_FACTORY = (Start, Decide, Invalidate, Close)
FACTORY_TO_FRONT = (Ready, Decided, Failed)
Message = Start | Decide | Invalidate | Close | Ready | Decided | Failed

_LEN = struct.Struct("!I")


def frame(message: Message) -> bytes:
    """One message as it travels: its pickle's length (4 bytes), then the pickle."""
    data = pickle.dumps(message, pickle.HIGHEST_PROTOCOL)
    return _LEN.pack(len(data)) + data


def unframe(buf: bytearray, kinds: tuple[type, ...]) -> list[Any]:
    """The whole messages at the start of ``buf``, removed from it (a partial one stays).

    Raises
    ------
    ProtocolError
        A message is not one of ``kinds``, or a :class:`Start` / :class:`Ready` of another
        :data:`VERSION`.
    """
    out: list[Any] = []
    pos, end = 0, len(buf)
    while end - pos >= 4:
        (n,) = _LEN.unpack_from(buf, pos)
        if end - pos - 4 < n:
            break
        message = pickle.loads(memoryview(buf)[pos + 4 : pos + 4 + n])
        if not isinstance(message, kinds):
            raise ProtocolError(f"unexpected message: {type(message).__name__}")
        if isinstance(message, Start | Ready) and message.version != VERSION:
            raise ProtocolError(f"protocol version {message.version}, expected {VERSION}")
        out.append(message)
        pos += 4 + n
    del buf[:pos]
    return out
