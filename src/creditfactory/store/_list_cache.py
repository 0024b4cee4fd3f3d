"""The service's hashed lists in memory, one copy per list version: the store back-end of the
``list`` look-ups (:mod:`creditfactory.fraud`). Screening an application is an HMAC and a set
look-up per listed field, never a query.

The version is what changes whenever an entry is added or removed: the count, the highest id and
the newest ``added_at`` of ``list_entries`` (an addition is the newest entry; SQLite may give a
new row the highest id of a removed one, so the id alone would not do). Checking it is one small
query; the entries are read again (one query) only after it changed. 100,000 entries take about
15 MB.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from creditfactory.fraud import HashedLists
from creditfactory.store._repo import stored_lists
from creditfactory.store._tables import ListEntry


class ListCache:
    """The lists hashed with ``secret``, as of the last :meth:`check`.

    Not thread-safe by itself: :class:`~creditfactory.factory.Factory` checks from one
    refresh at a time and replaces the whole state in one assignment, so a reader sees either
    the old lists or the new ones.
    """

    def __init__(self, secret: str):
        self.secret = secret
        # (checked at, version, lists); checked at -inf: check at the next chance
        self._state: tuple[float, Any, HashedLists] | None = None
        self._generation = 0  # expire() counts; a check begun before one stays stale

    @property
    def loaded(self) -> bool:
        """Whether the lists were read at least once."""
        return self._state is not None

    def age(self) -> float:
        """Seconds since the last check (infinite before the first, or after :meth:`expire`)."""
        state = self._state
        return math.inf if state is None else time.monotonic() - state[0]

    def generation(self) -> int:
        """Pass to :meth:`check`, read before its session starts."""
        return self._generation

    def check(self, session: Session, generation: int) -> None:
        """Read the version; read the entries again only when it changed. ``generation`` is
        :meth:`generation` read before ``session`` began: after an :meth:`expire` since, the
        result counts as stale (it may predate the change that expired it)."""
        version = _version(session)
        state = self._state
        if state is not None and state[1] == version:
            index = state[2]
        else:
            index = stored_lists(session, self.secret)
        at = time.monotonic() if generation == self._generation else -math.inf
        self._state = (at, version, index)

    def expire(self) -> None:
        """Make the next refresh check the version (the lists were changed)."""
        self._generation += 1
        state = self._state
        if state is not None:
            self._state = (-math.inf, state[1], state[2])

    def lists(self) -> HashedLists:
        """The lists as of the last check (none before the first)."""
        state = self._state
        return _EMPTY if state is None else state[2]

    # the look-up source of kind "list" (creditfactory.fraud.Provider), answered by the lists
    # as of the last check
    kind = "list"

    def row(self, names: Sequence[str], application: Mapping[str, Any]) -> dict[str, bool]:
        """Each ``list:<list>:<field>`` feature of ``names`` for one application."""
        return self.lists().row(names, application)

    def frame(self, names: Sequence[str], applications: pl.DataFrame) -> pl.DataFrame:
        """Each feature of ``names`` for every row of ``applications``."""
        return self.lists().frame(names, applications)

    def fingerprint(self) -> str:
        """A digest of the entries as of the last check."""
        return self.lists().fingerprint()


def _version(session: Session) -> tuple[Any, ...]:
    stmt = select(func.count(), func.max(ListEntry.id), func.max(ListEntry.added_at))
    return tuple(session.execute(stmt).one())


_EMPTY = HashedLists.empty()
