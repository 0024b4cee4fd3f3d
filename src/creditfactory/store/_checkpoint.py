"""SQLite WAL checkpoints off the write path.

In WAL mode SQLite copies the log back into the database file (a *checkpoint*, two fsyncs) inside
whichever commit pushes the log past ``wal_autocheckpoint`` pages. For the group-commit writer
that is a stall of every request waiting on that batch. :class:`Checkpointer` raises the writer
connection's threshold to a safety net and checkpoints from its own thread and connection
instead (``PASSIVE``: it never blocks the writer), shortly after commits.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

from sqlalchemy import Engine

# the writer still checkpoints itself past this many log pages (≈40 MB): a log that the
# background checkpoints never manage to reset (readers holding it) cannot grow without bound
WRITER_AUTOCHECKPOINT = 10_000


class Checkpointer:
    """A daemon thread running ``PRAGMA wal_checkpoint(PASSIVE)`` after commits.

    Parameters
    ----------
    engine : Engine
        The SQLite engine (its pool gives the checkpointer its own connection).
    interval : float
        The least time between two checkpoints, in seconds.
    """

    def __init__(self, engine: Engine, interval: float = 0.2):
        self.engine = engine
        self.interval = interval
        self.checkpoints = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._loop, name="creditfactory-checkpoint", daemon=True
        )

    @classmethod
    def start_for(cls, engine: Engine, writer: Any) -> Checkpointer | None:
        """Hand ``writer``'s (a pooled DB-API connection's) checkpoints to a new thread, when
        the database is a file in WAL mode; ``None`` (nothing changed) otherwise."""
        raw = writer.dbapi_connection
        mode = raw.execute("PRAGMA journal_mode").fetchone()[0]
        if str(mode).lower() != "wal":
            return None
        raw.execute(f"PRAGMA wal_autocheckpoint={WRITER_AUTOCHECKPOINT}")
        out = cls(engine)
        out._thread.start()
        return out

    def wake(self) -> None:
        """Say that something was committed (called by the writer after each batch)."""
        self._wake.set()

    def stop(self) -> None:
        """Checkpoint once more and end the thread."""
        self._stop.set()
        self._wake.set()
        self._thread.join(10.0)

    def _loop(self) -> None:
        conn = self.engine.raw_connection()
        try:
            raw = conn.dbapi_connection
            assert raw is not None  # a live pooled connection
            while True:
                self._wake.wait()
                self._wake.clear()
                with contextlib.suppress(Exception):  # busy (another checkpoint): next time
                    raw.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    self.checkpoints += 1
                if self._stop.wait(self.interval):
                    with contextlib.suppress(Exception):
                        raw.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    return
        finally:
            conn.close()
