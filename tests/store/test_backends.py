"""The writer's back-ends, chosen by name, store the same rows and the same ledger.

The same decisions (fixed times, the ledger's clock fixed) are written by the SQLite and the
PostgreSQL back-end in two batches (the second one, on PostgreSQL, in one round trip with ids
reserved ahead); every stored column and every ledger entry must be equal, and both ledgers
verify.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from creditfactory.exceptions import ConfigError
from creditfactory.store import Application, DecisionRecord, LedgerRow, Review, Store, verify
from creditfactory.store._backend_postgres import PostgresBackend
from creditfactory.store._backend_sqlite import SqliteBackend
from creditfactory.store._records import content
from creditfactory.store._rows import Pending
from creditfactory.store._writer import BACKENDS, Writer, backend_named

PG_URL = os.environ.get(
    "CREDITFACTORY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
T0 = datetime(2026, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL schema (skipped when the server is unreachable, failed under CI)."""
    psycopg = pytest.importorskip("psycopg")
    dsn = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    try:
        with psycopg.connect(dsn, connect_timeout=3) as conn:
            conn.execute("select 1")
    except Exception as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL at {PG_URL} is unreachable: {exc}")
        pytest.skip(f"PostgreSQL at {PG_URL} is unreachable: {exc}")
    schema = f"cf_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{PG_URL}{'&' if '?' in PG_URL else '?'}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def _pending(i: int) -> Pending:
    when = T0 + timedelta(seconds=i)
    decision = ("approve", "refer", "decline")[i % 3]
    return Pending(
        {"external_id": f"A{i}", "payload": {"n": i, "name": "张 \"q\"", "x": [1.5, None]},
         "request_sha256": f"{i:064x}", "idempotency_key": None if i % 2 else f"k{i}",
         "api_key_id": None, "received_at": when},
        {"strategy_id": None, "strategy": "s", "version": "1", "decision": decision,
         "limit": None if decision == "decline" else 1000.0 * i, "apr": 0.125, "term": 12,
         "reasons": [] if decision == "approve" else [f"R{i}"], "trace": ["rules", "table"],
         "model_versions": {"m": "1"}, "values": {"score": 600 + i, "é": True},
         "list_hits": ["blacklist:phone"] if decision == "decline" else [],
         "decided_at": when + timedelta(microseconds=7)},
        "refer" if decision == "refer" else ("qc_sample" if i == 5 else None),
        "channel",
    )  # fmt: skip


def _stored(url: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    clock = iter(f"2026-05-06T08:00:0{k}.000000+00:00" for k in range(10))
    monkeypatch.setattr("creditfactory.store._rows.utc_now", lambda: next(clock))
    store = Store(url)
    store.migrate()
    writer = Writer(store.engine)
    try:
        writer.write([_pending(i) for i in range(5)])
        writer.write([_pending(i) for i in range(5, 12)])
        backend = writer.backend
    finally:
        writer.close()
    try:
        with store.session() as s:
            report = verify(s)
            assert report.ok, report
            out: dict[str, Any] = {"backend": type(backend)}
            for kind, model in (
                ("application", Application), ("decision", DecisionRecord), ("review", Review),
            ):  # fmt: skip
                rows = s.execute(select(model).order_by(model.id)).scalars()
                out[kind] = [content(kind, r) for r in rows]
            out["ledger"] = [
                (e.seq, e.kind, e.subject, e.actor, e.created_at, e.payload, e.prev_hash, e.hash)
                for e in s.execute(select(LedgerRow).order_by(LedgerRow.seq)).scalars()
            ]
            if isinstance(backend, PostgresBackend):
                out["one_trip"] = backend.one_trip
        return out
    finally:
        store.dispose()


def test_sqlite_and_postgresql_store_the_same_rows_and_the_same_ledger(
    tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    lite = _stored(f"sqlite:///{tmp_path / 'cf.db'}", monkeypatch)
    pg = _stored(pg_url, monkeypatch)
    assert (lite.pop("backend"), pg.pop("backend")) == (SqliteBackend, PostgresBackend)
    assert pg.pop("one_trip") == 1  # the second batch: the head known, ids reserved ahead
    assert [len(lite[k]) for k in ("application", "decision", "review", "ledger")] == [
        12,
        12,
        5,
        12,
    ]
    assert lite["application"][3]["received_at"] == "2026-05-06T07:08:12.123456+00:00"
    for kind in ("application", "decision", "review", "ledger"):
        assert lite[kind] == pg[kind], kind


def test_a_backend_is_chosen_by_name(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'cf.db'}")
    try:
        assert sorted(BACKENDS) == ["postgresql", "sqlite"]
        assert isinstance(backend_named("sqlite", store.engine), SqliteBackend)
        assert isinstance(Writer(store.engine).backend, SqliteBackend)  # the dialect's
        with pytest.raises(
            ConfigError, match=r"backend: 'oracle' is not one of postgresql, sqlite"
        ):
            Writer(store.engine, backend="oracle")
    finally:
        store.dispose()
