"""The engine process waits a little for more applications only when its recent batches held
more than have arrived (group commit), never for a lone client."""

from __future__ import annotations

import socket
import threading
import time

from creditfactory.factory import Decide
from creditfactory.factory._engine import _Linger
from creditfactory.factory._messages import frame


def _decide(i: int) -> Decide:
    return Decide(i, b"{}", "me")


def test_a_lone_client_never_waits() -> None:
    a, b = socket.socketpair()
    with a, b:
        linger = _Linger(seconds=5.0)
        for i in range(3):
            messages: list[object] = [_decide(i)]
            t0 = time.monotonic()
            assert linger.more(b, bytearray(), messages)
            assert time.monotonic() - t0 < 1.0  # no wait: its batches held one
            assert len(messages) == 1


def test_the_engine_waits_for_as_many_as_its_recent_batches_held() -> None:
    a, b = socket.socketpair()
    with a, b:
        linger = _Linger(seconds=5.0)
        linger.recent.append(3)
        # two more arrive a little later: they join the batch, which then stops waiting
        sender = threading.Timer(0.05, a.sendall, [frame(_decide(1)) + frame(_decide(2))])
        sender.start()
        messages: list[object] = [_decide(0)]
        t0 = time.monotonic()
        assert linger.more(b, bytearray(), messages)
        sender.join()
        assert [m.id for m in messages] == [0, 1, 2]  # type: ignore[attr-defined]
        assert time.monotonic() - t0 < 4.0
        # nothing more comes: it gives up after its wait and decides what it has
        linger = _Linger(seconds=0.05)
        linger.recent.append(4)
        messages = [_decide(3)]
        assert linger.more(b, bytearray(), messages)
        assert len(messages) == 1
        # the front closed its end: what arrived is decided, then the engine stops
        a.close()
        assert not linger.more(b, bytearray(), [_decide(4)])
