"""The factory's fraud history: every engine process sees every decided application.

The fraud features of an online decision (``fraud:ring_size`` ...) come from a
:class:`~creditfactory.fraud.FraudSource` that keeps the history in memory (velocity windows and
union-find groups: microseconds an application). What makes it right across processes is the
store: each decided application's *link* (its arrival time, ID validity and identifiers as keyed
hashes, :class:`~creditfactory.store.FraudLink`) is written in the decision's own transaction,
and before each batch the factory reads the links stored since its high-water mark — other
processes' decisions — into its history (one indexed range query; its own links are skipped, they
are in already; on SQLite the query is skipped when the writer's connection shows that no
other connection committed since the last look, ``PRAGMA data_version``). A process that
starts reads every stored link once (compact rows: no payload to
decrypt, no identity check to repeat).

The links are keyed by the list secret (``CREDITFACTORY_LIST_SECRET``); without one no link is
stored, and the history is this process's own, from its start.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from creditfactory.fraud import FraudSource, keyed_hasher
from creditfactory.store import LinkReader, Pending, Store, now

_log = logging.getLogger("creditfactory.engine")


class FraudLinks:
    """The fraud source of a factory and the links it stores and reads back (see the module).

    Parameters
    ----------
    store : Store
        Where the links are stored (the writer writes them) and read back from.
    secret : str, optional
        The key of the links' hashes (the list secret); None: no link is stored.
    others_wrote : callable, optional
        ``others_wrote()`` is False only when no other connection can have committed since
        its last call (the factory's writer: :meth:`~creditfactory.store.Writer.others_wrote`);
        then no link can have been stored by anyone else and :meth:`catch_up` skips its query.
    """

    def __init__(
        self, store: Store, secret: str | None, others_wrote: Callable[[], bool] | None = None
    ):
        hasher = keyed_hasher(secret) if secret else None
        self.source = FraudSource(clock=now, hasher=hasher)
        self.reader = LinkReader(store.engine) if secret else None
        self._others_wrote = others_wrote
        self.wanted = False  # whether the active strategy asks for fraud features
        self.read = 0  # links read back from the store (other processes', and at start)
        self._warned = False

    def catch_up(self) -> int:
        """Add the links stored since the last read (when the active strategy wants them);
        returns how many were added."""
        if not self.wanted:
            return 0
        if self.reader is None:
            if not self._warned:
                self._warned = True
                _log.warning(
                    "fraud history: no list secret, so no fraud link is stored: each engine "
                    "process sees only the applications it decided since it started"
                )
            return 0
        # asked before the read: a commit after this question moves the answer of the next one
        if self._others_wrote is not None and not self._others_wrote():
            return 0
        rows = self.reader.after(self.source.high_water)
        if not rows:
            return 0
        self.read += len(rows)
        return self.source.absorb(rows)

    def link(self, application: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The link to store with a decided application (None: none to store)."""
        if self.reader is None:
            return None
        return self.source.link(application)

    def stored(self, batch: Sequence[Pending], written: Sequence[Any]) -> None:
        """The writer's results for ``batch``: the links stored are not read back twice."""
        for item, result in zip(batch, written, strict=True):
            if item.fraud_link is not None and isinstance(result, tuple):
                self.source.stored(item.fraud_link, result[0].id)

    def close(self) -> None:
        """Let go of the reader's connection."""
        if self.reader is not None:
            self.reader.close()
