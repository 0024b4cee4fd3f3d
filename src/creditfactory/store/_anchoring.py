"""Anchoring the ledger head in a file outside the database, on a schedule.

:class:`Anchorer` appends the head (``seq``, ``hash``, time; signed, see
:mod:`creditfactory.audit._anchor`) when it moved and either ``every_seconds`` passed or
``every_entries`` entries were appended since the last anchor. The service calls
:meth:`Anchorer.tick` from a background task (once a second at most), the batch factory at the
end of a run, ``creditfactory audit anchor`` once (cron).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from creditfactory.audit import Anchor, append_anchor
from creditfactory.exceptions import ConfigError
from creditfactory.store._db import Store
from creditfactory.store._ledger import ledger_head


class Anchorer:
    """Writes the ledger head of ``store`` to the anchor file at ``path`` when it is due.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> store = Store(f"sqlite:///{folder / 'a.db'}"); store.migrate()
    >>> a = Anchorer(store, folder / "anchors.jsonl", "k", every_seconds=60, every_entries=10)
    >>> a.tick().seq, a.tick()  # the first tick anchors; then nothing moved
    (0, None)
    >>> store.dispose()
    """

    def __init__(
        self,
        store: Store,
        path: str | Path,
        key: str,
        every_seconds: float = 60.0,
        every_entries: int = 1000,
        clock: Callable[[], float] = time.monotonic,
    ):
        if not key:
            raise ConfigError("anchor_key: set CREDITFACTORY_ANCHOR_KEY to sign the anchor file")
        self.store = store
        self.path = Path(path)
        self.key = key
        self.every_seconds = every_seconds
        self.every_entries = every_entries
        self.clock = clock
        self.last: tuple[int, str] | None = None  # the head this anchorer last wrote
        self.last_time = clock()
        self.written = 0
        self._lock = threading.Lock()

    def tick(self, force: bool = False) -> Anchor | None:
        """Anchor the head if it moved and is due (``force``: if it moved at all)."""
        with self._lock:
            with self.store.session() as s:
                seq, hash_ = ledger_head(s)
            if self.last == (seq, hash_):
                return None
            moved = seq - (self.last[0] if self.last else 0)
            due = (
                force
                or self.last is None
                or moved >= self.every_entries
                or self.clock() - self.last_time >= self.every_seconds
            )
            if not due:
                return None
            anchor = append_anchor(self.path, self.key, seq, hash_)
            self.last, self.last_time = (seq, hash_), self.clock()
            self.written += 1
            return anchor
