"""``unavailable``: an outage (503, retry) told apart from a statement the database refused."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from creditfactory.store import unavailable


def test_an_unreachable_postgresql_is_unavailable() -> None:
    engine = create_engine("postgresql+psycopg://postgres@127.0.0.1:1/test")  # nothing listens
    with pytest.raises(OperationalError) as info:
        engine.connect()
    assert unavailable(info.value)
    assert unavailable(info.value.orig)  # as the engine process passes it back


def test_a_locked_sqlite_is_unavailable_but_a_missing_table_is_a_bug(tmp_path: Path) -> None:
    path = tmp_path / "cf.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0.05})
    with pytest.raises(OperationalError) as locked, engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (1)"))
    assert "locked" in str(locked.value)
    assert unavailable(locked.value)
    holder.execute("ROLLBACK")
    with pytest.raises(OperationalError) as missing, engine.begin() as conn:
        conn.execute(text("SELECT * FROM nowhere"))
    assert not unavailable(missing.value)
    holder.close()
    engine.dispose()


def test_refused_statements_are_not_outages() -> None:
    clash = IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE constraint failed"))
    assert not unavailable(clash)
    assert not unavailable(psycopg.errors.UniqueViolation("duplicate key"))
    assert not unavailable(DBAPIError("SELECT", {}, psycopg.DataError("bad value")))
