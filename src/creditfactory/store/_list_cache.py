"""The service's hashed lists in memory, one copy per list version: screening an application is an
HMAC and a dict look-up per listed field, never a query.

The version is what changes whenever an entry is added or removed: the count, the highest id and
the newest ``added_at`` of ``list_entries`` (an addition is the newest entry; SQLite may give a
new row the highest id of a removed one, so the id alone would not do). Checking it is one small
query; the entries are read again (one query) only after it changed. 100,000 entries take about
15 MB.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from creditfactory.store._repo import LIST_NAMES, hash_identifier
from creditfactory.store._tables import ListEntry

Index = dict[str, dict[str, tuple[str, ...]]]  # field -> value hash -> list names


class ListCache:
    """The lists hashed with ``secret``, as of the last :meth:`check`.

    Not thread-safe by itself: :class:`~creditfactory.factory.Factory` checks from one
    refresh at a time and replaces the whole state in one assignment, so a reader sees either
    the old lists or the new ones.
    """

    def __init__(self, secret: str):
        self.secret = secret
        # (checked at, version, index); checked at -inf: check at the next chance
        self._state: tuple[float, Any, Index] | None = None
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
        index = state[2] if state is not None and state[1] == version else _index(session)
        at = time.monotonic() if generation == self._generation else -math.inf
        self._state = (at, version, index)

    def expire(self) -> None:
        """Make the next refresh check the version (the lists were changed)."""
        self._generation += 1
        state = self._state
        if state is not None:
            self._state = (-math.inf, state[1], state[2])

    def hits(self, payload: Mapping[str, Any]) -> list[tuple[str, str]]:
        """``(list, field)`` for each listed identifier in ``payload``, blacklist first."""
        state = self._state
        if state is None or not state[2]:
            return []
        hits: list[tuple[str, str]] = []
        for field, hashes in state[2].items():
            value = payload.get(field)
            if value not in (None, ""):
                names = hashes.get(hash_identifier(self.secret, field, value))
                if names:
                    hits.extend((name, field) for name in names)
        if len(hits) > 1:
            hits.sort(key=_hit_order)
        return hits


def _version(session: Session) -> tuple[Any, ...]:
    stmt = select(func.count(), func.max(ListEntry.id), func.max(ListEntry.added_at))
    return tuple(session.execute(stmt).one())


def _index(session: Session) -> Index:
    """``{field: {value hash: list names}}`` of every list entry (one query)."""
    out: Index = {}
    shared: dict[tuple[str, ...], tuple[str, ...]] = {}  # one tuple per combination of lists
    stmt = select(ListEntry.field, ListEntry.value_hash, ListEntry.list_name)
    for field, value_hash, name in session.execute(stmt):
        hashes = out.setdefault(field, {})
        names = (*hashes.get(value_hash, ()), name)
        hashes[value_hash] = shared.setdefault(names, names)
    return out


_ORDER = {n: i for i, n in enumerate(LIST_NAMES)}


def _hit_order(hit: tuple[str, str]) -> tuple[int, str]:
    return _ORDER.get(hit[0], 9), hit[1]
