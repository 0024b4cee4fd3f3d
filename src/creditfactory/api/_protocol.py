"""uvicorn's h11 protocol with deadlines for slow clients: a request's line and headers must
arrive within ``header_timeout`` seconds (of the connection, or of the request's first byte on
a kept-alive one), its body within ``body_timeout`` seconds of the headers.

uvicorn (0.55, h11) has neither: its keep-alive timer is re-armed by every byte, so a client
sending a header a byte a second, or stalling mid-body, holds its connection for ever. A client
past the header deadline is disconnected; one past the body deadline gets a 408 (JSON, the
connection closed) if nothing was answered yet, and the application sees a disconnect.
Imported by :func:`creditfactory.api._server.serve` only (uvicorn is imported lazily).
"""

from __future__ import annotations

import asyncio
import json
from functools import partial
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from creditfactory.settings import Settings


class DeadlineH11Protocol(H11Protocol):
    """:class:`uvicorn.protocols.http.h11_impl.H11Protocol` with header and body deadlines.

    The deadline is set only while a request is incomplete: a request that arrives whole in one
    read (the usual case) costs two state comparisons and no timer.
    """

    def __init__(
        self, *args: Any, header_timeout: float = 10.0, body_timeout: float = 30.0,
        **kwargs: Any,
    ) -> None:  # fmt: skip
        super().__init__(*args, **kwargs)
        self.header_timeout = header_timeout
        self.body_timeout = body_timeout
        self._deadline: asyncio.TimerHandle | None = None
        self._phase: Any = None  # the client's h11 state the deadline is for

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(h11.IDLE, self.header_timeout)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        state = self.conn.their_state
        if state is self._phase:
            return
        if state is h11.IDLE:  # part of a request line or header
            self._arm(state, self.header_timeout)
        elif state is h11.SEND_BODY:
            self._arm(state, self.body_timeout)
        else:
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        state = self.conn.their_state
        if state is h11.SEND_BODY:  # answered before the body was read: it must still end
            if self._phase is not state:
                self._arm(state, self.body_timeout)
        else:  # idle (uvicorn's keep-alive timer runs), or a pipelined request handled whole
            self._disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self, phase: Any, seconds: float) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        self._phase = phase
        self._deadline = self.loop.call_later(seconds, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self._phase = None

    def _expired(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        client = f"{self.client[0]}:{self.client[1]}" if self.client else "a client"
        cycle = self.cycle
        if self._phase is h11.SEND_BODY:
            self.logger.info("%s - request body not received in %g s", client, self.body_timeout)
            if cycle is not None and not cycle.response_started:
                # the application's reads now see a disconnect and its answer is dropped
                cycle.response_started = cycle.disconnected = True
                cycle.message_event.set()
                self._send_408()
        else:
            self.logger.info("%s - headers not received in %g s", client, self.header_timeout)
        self.transport.close()

    def _send_408(self) -> None:
        body = json.dumps(
            {"detail": f"request body not received within {self.body_timeout:g} s "
                       "(CREDITFACTORY_BODY_TIMEOUT)"}
        ).encode()  # fmt: skip
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        try:
            out = self.conn.send(h11.Response(status_code=408, headers=headers))
            out = (out or b"") + (self.conn.send(h11.Data(data=body)) or b"")
            out += self.conn.send(h11.EndOfMessage()) or b""
        except h11.LocalProtocolError:  # not in a state to answer: just close
            return
        self.transport.write(out)


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The ``uvicorn.run`` keyword arguments of the settings' connection limits."""
    return {
        "http": partial(
            DeadlineH11Protocol,
            header_timeout=settings.header_timeout,
            body_timeout=settings.body_timeout,
        ),
        "timeout_keep_alive": settings.keep_alive_timeout,
        "limit_concurrency": settings.max_connections or None,
        "backlog": settings.backlog,
        "h11_max_incomplete_event_size": settings.max_header_bytes,
    }
