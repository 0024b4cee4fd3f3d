"""A migrated store on a fresh database (SQLite and PostgreSQL, from ``db_url``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from creditfactory.store import Store


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = Store(db_url)
    s.migrate()
    yield s
    s.dispose()
