"""The group-commit writer: what it stores is what the ledger vouches for, on both back-ends."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import event, select

from creditfactory.audit import canonical_json
from creditfactory.factory import canonical_payload
from creditfactory.store import (
    Application,
    DecisionRecord,
    LedgerRow,
    Review,
    Store,
    activate,
    add_list_entries,
    add_strategy,
    verify,
)
from creditfactory.store._backend_postgres import LOCK_AFTER_MISS, PostgresBackend
from creditfactory.store._backend_sqlite import SqliteBackend
from creditfactory.store._records import (
    application_content,
    decision_content,
    fraud_link_digest,
    record_digests,
)
from creditfactory.store._rows import Pending
from creditfactory.store._rows import cj as _cj
from creditfactory.store._writer import Writer


@pytest.fixture
def service(store: Store, strategy_yaml: str, make_service: Any) -> Iterator[Any]:
    with store.session() as s:
        activate(s, add_strategy(s, strategy_yaml, "ana").id, "boss")
    svc = make_service(store, qc_rate=0.5, seed=3)
    yield svc
    svc.close()


def _variants(good: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {**good, "application_id": f"A{i}", "inquiries_3m": i % 6, "phone": "电话 ☎ \"q\"",
         "note": float("nan") if i % 4 == 0 else 1e16, "tiny": 1e-05}
        for i in range(24)
    ]  # fmt: skip


def test_batches_store_what_the_ledger_vouches_for(
    service: Any, good_application: dict[str, Any]
) -> None:
    service.decide({**good_application, "application_id": "warm"}, "channel")  # caches
    outs = service.decide_many([(r, "channel", None, None) for r in _variants(good_application)])
    assert service.writer.items == 25
    assert service.writer.batches == 2  # the warm-up, then the batch in one transaction
    assert {o.decision.decision for o in outs} >= {"approve", "refer"}
    reviews = [o.review for o in outs if o.review is not None]
    assert {r.queue_reason for r in reviews} == {"refer", "qc_sample"}
    with service.store.session() as s:
        assert verify(s).ok
        stored = record_digests(s)
        rows = s.execute(select(LedgerRow).where(LedgerRow.kind == "decision")).scalars().all()
        vouched: dict[str, str] = {}
        for row in rows:
            payload = json.loads(row.payload)
            assert row.payload == canonical_json(payload)  # stored exactly as hashed
            body = {
                "seq": row.seq, "kind": row.kind, "subject": row.subject, "actor": row.actor,
                "created_at": row.created_at, "payload": payload, "prev_hash": row.prev_hash,
            }  # fmt: skip
            # independent of the code under test: hashlib and json written here
            text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            assert row.hash == hashlib.sha256(text.encode("utf-8")).hexdigest()
            vouched |= payload["digests"]
        in_db = set(s.execute(select(Review.id)).scalars())  # the warm-up's review too, if any
        assert len(vouched) == 50 + len(in_db)  # 25 applications, 25 decisions, the reviews
        assert vouched == {k: v for k, v in stored.items() if k in vouched}
        # what the answer said is what was stored
        for o in outs:
            rec = s.get(DecisionRecord, o.decision.id)
            app = s.get(Application, o.application.id)
            assert rec is not None
            assert app is not None
            assert rec.application_id == app.id
            assert (rec.decision, rec.limit, rec.reasons) == (
                o.decision.decision, o.decision.limit, o.decision.reasons,
            )  # fmt: skip
            assert app.payload == o.application.payload
            i = int(str(app.payload["application_id"])[1:])
            expected_note = None if i % 4 == 0 else 1e16  # NaN -> null, the rest as sent
            assert (app.payload["note"], app.payload["tiny"]) == (expected_note, 1e-05)
            assert app.payload["phone"] == '电话 ☎ "q"'
        assert {r.id for r in reviews} <= in_db


def test_a_stale_cache_is_refreshed_once_not_by_every_request(
    service: Any, good_application: dict[str, Any], monkeypatch: Any
) -> None:
    service.decide({**good_application, "application_id": "warm"}, "channel")
    factory = service.factory
    refreshes: list[int] = []
    real = factory.refresh

    def counting() -> None:
        refreshes.append(1)
        real()

    monkeypatch.setattr(factory, "refresh", counting)
    queries: list[str] = []
    event.listen(service.store.engine, "before_cursor_execute", lambda *a: queries.append(a[2]))
    stamp, *rest = factory._active
    factory._active = (stamp - 60.0, *rest)  # expired: as after a quiet minute
    outs = service.decide_many([(r, "channel", None, None) for r in _variants(good_application)])
    assert len(outs) == 24
    assert refreshes == [1]  # once for the batch, not once per application
    assert 1 <= len([q for q in queries if "strategy" in q]) <= 2
    assert not factory.stale()


def test_ids_continue_after_rows_written_elsewhere(
    service: Any, good_application: dict[str, Any]
) -> None:
    first = service.decide(good_application, "channel")
    # a decision written by another writer (another process) in between
    other = type(service)(service.store)
    second = other.decide({**good_application, "application_id": "B"}, "channel")
    other.close()
    third = service.decide({**good_application, "application_id": "C"}, "channel")
    ids = [o.application.id for o in (first, second, third)]
    assert ids == sorted(set(ids))
    with service.store.session() as s:
        assert verify(s).ok


def test_head_moved_by_another_writer_is_locked_and_chained_after(
    service: Any, good_application: dict[str, Any]
) -> None:
    """PostgreSQL writes a batch in one round trip while the writer knows the ledger head; a
    head moved meanwhile (a ledger entry from elsewhere) makes that batch lock and retry, and
    the next ``LOCK_AFTER_MISS`` batches lock at once (another writer is likely busy)."""
    postgres = service.store.engine.dialect.name == "postgresql"
    writer = service.writer

    def decide(name: str) -> Any:
        return service.decide({**good_application, "application_id": name}, "channel")

    outs = [decide(f"A{i}") for i in range(3)]
    assert getattr(writer.backend, "one_trip", 0) == (2 if postgres else 0)
    other = type(service)(service.store)  # another process's writer, say
    other.decide({**good_application, "application_id": "B"}, "channel")
    other.close()
    with service.store.session() as s:  # and an API change: both move the head
        add_list_entries(s, "k", "greylist", "phone", ["13800000000"], "ana")
    outs += [decide(f"C{i}") for i in range(LOCK_AFTER_MISS + 2)]
    if postgres:  # C0 guessed and missed; C1..C32 locked; C33 guessed right again
        backend = writer.backend
        assert isinstance(backend, PostgresBackend)
        assert (backend.guard_misses, backend.one_trip) == (1, 3)
    ids = [o.application.id for o in outs]
    assert len(set(ids)) == len(ids)
    with service.store.session() as s:
        report = verify(s)
        assert report.ok, report
        stored = {r.external_id for r in s.execute(select(Application)).scalars()}
    assert stored >= {"A0", "A1", "A2", "B", "C0", f"C{LOCK_AFTER_MISS + 1}"}


def test_pending_keeps_the_column_types_the_database_gives_back(
    good_application: dict[str, Any],
) -> None:
    payload, text = canonical_payload({"b": 2, "a": float("inf")})
    assert (payload, text) == ({"a": None, "b": 2}, '{"a":null,"b":2}')
    p = Pending(
        {"external_id": "x", "payload": payload, "request_sha256": "", "idempotency_key": None,
         "api_key_id": None, "received_at": None},
        {"strategy_id": 1, "strategy": "s", "version": "1", "decision": "approve", "limit": 500,
         "apr": 0.1, "term": 12.0, "reasons": [], "trace": ["r"], "model_versions": {},
         "values": {"é": 1}, "list_hits": [], "decided_at": None},
        None, "me",
    )  # fmt: skip
    assert (p.decision["limit"], p.decision["term"]) == (500.0, 12)
    assert p.texts["payload"] == text
    assert p.texts["values"] == '{"é":1}'
    a0, a1 = p.app_digest
    stored = SimpleNamespace(**p.application, id=7)
    assert f"{a0}7{a1}" == canonical_json(application_content(stored))
    d0, d1, d2 = p.dec_digest
    assert f"{d0}7{d1}9{d2}" == canonical_json(
        decision_content(SimpleNamespace(**p.decision, id=9, application_id=7))
    )


_TEXT = st.text(max_size=8)
_TIME = st.datetimes(
    min_value=datetime(1970, 1, 2), max_value=datetime(9999, 1, 1),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5))])
    | st.none(),
)  # fmt: skip
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=8,
)


@given(
    app=st.fixed_dictionaries({
        "external_id": st.none() | _TEXT, "payload": st.dictionaries(_TEXT, _JSON, max_size=4),
        "request_sha256": _TEXT, "idempotency_key": st.none() | _TEXT,
        "api_key_id": st.none() | st.integers(1, 10**9), "received_at": _TIME,
    }),
    dec=st.fixed_dictionaries({
        "strategy_id": st.none() | st.integers(1, 10**6), "strategy": _TEXT, "version": _TEXT,
        "decision": st.sampled_from(["approve", "decline", "refer"]),
        "limit": st.none() | st.floats(0, 1e9) | st.integers(0, 10**6),
        "apr": st.none() | st.floats(0, 1), "term": st.none() | st.integers(1, 60),
        "reasons": st.lists(_TEXT, max_size=3), "trace": st.lists(_TEXT, max_size=3),
        "model_versions": st.dictionaries(_TEXT, _TEXT, max_size=2),
        "values": st.dictionaries(_TEXT, _JSON, max_size=3),
        "list_hits": st.lists(_TEXT, max_size=2),
    }),
    same_time=st.booleans(), decided=_TIME, app_id=st.integers(1, 10**9),
    dec_id=st.integers(1, 10**9),
)  # fmt: skip
def test_writer_digest_texts_are_the_canonical_json_of_the_record_content(
    app: dict[str, Any],
    dec: dict[str, Any],
    same_time: bool,
    decided: datetime,
    app_id: int,
    dec_id: int,
) -> None:
    """The writer's hand-assembled digest texts are exactly what verify re-derives."""
    dec["decided_at"] = app["received_at"] if same_time else decided
    p = Pending(dict(app), dict(dec), None, "me")
    a0, a1 = p.app_digest
    d0, d1, d2 = p.dec_digest
    stored_app = SimpleNamespace(**p.application, id=app_id)
    stored_dec = SimpleNamespace(**p.decision, id=dec_id, application_id=app_id)
    assert f"{a0}{app_id}{a1}" == canonical_json(application_content(stored_app))
    assert f"{d0}{app_id}{d1}{dec_id}{d2}" == canonical_json(decision_content(stored_dec))
    assert p.application["received_at"].tzinfo is UTC  # stored as UTC: SQLite keeps wall time


@given(
    link=st.tuples(
        st.integers(0, 2**40), st.booleans(), st.one_of(st.none(), st.integers(0, 2**40)),
        *[st.one_of(st.none(), _TEXT)] * 8,
    ),
    seq=st.integers(1, 10**9), app_id=st.integers(1, 10**9),
)  # fmt: skip
def test_the_fraud_link_digest_text_is_what_verify_derives(
    link: tuple[Any, ...], seq: int, app_id: int
) -> None:
    """The link's digest text, cut around its application id and seq when the rows are made,
    gives the digest ``audit verify`` derives from the stored link."""
    app = {
        "external_id": "A",
        "payload": {},
        "request_sha256": "",
        "idempotency_key": None,
        "api_key_id": None,
        "received_at": datetime(2026, 1, 2, tzinfo=UTC),
    }
    dec = {"strategy_id": 1, "strategy": "s", "version": "1", "decision": "approve",
           "limit": 1.0, "apr": 0.1, "term": 1, "reasons": [], "trace": [],
           "model_versions": {}, "values": {}, "list_hits": [], "decided_at": None}  # fmt: skip
    p = Pending(app, dec, None, "me", fraud_link=link)
    l0, l1, l2 = p.link_text
    text = f"{l0}{app_id}{l1}{seq}{l2}"
    assert hashlib.sha256(text.encode()).hexdigest() == fraud_link_digest(seq, app_id, link)


def test_sqlite_writer_tells_when_another_connection_committed(tmp_path: Path) -> None:
    """``others_wrote`` is False only when no other connection committed since it was last
    asked (the fraud history then skips its read); its own commits do not count."""
    store = Store(f"sqlite:///{tmp_path / 'w.db'}")
    store.migrate()
    one, two = Writer(store.engine), Writer(store.engine)
    try:
        assert one.others_wrote()  # not connected yet: cannot tell
        one.write([_pending_row(1)])
        assert one.others_wrote()  # a new connection: no earlier answer to compare with
        assert not one.others_wrote()
        one.write([_pending_row(2)])
        assert not one.others_wrote()  # its own commit
        two.write([_pending_row(3)])
        assert one.others_wrote()  # another connection's commit
        assert not one.others_wrote()
    finally:
        one.close()
        two.close()
        store.dispose()


def _pending_row(i: int) -> Pending:
    when = datetime(2026, 1, 2, tzinfo=UTC)
    return Pending(
        {"external_id": f"A{i}", "payload": {"i": i}, "request_sha256": "",
         "idempotency_key": None, "api_key_id": None, "received_at": when},
        {"strategy_id": None, "strategy": "s", "version": "1", "decision": "approve",
         "limit": 1.0, "apr": 0.1, "term": 1, "reasons": [], "trace": [], "model_versions": {},
         "values": {}, "list_hits": [], "decided_at": when},
        None, "me",
    )  # fmt: skip


@given(
    st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=6),
        st.lists(st.text(max_size=6), max_size=4),
        st.dictionaries(st.text(max_size=4), st.text(max_size=4), max_size=4),
        st.lists(st.one_of(st.integers(), st.text(max_size=3)), max_size=3),
    )
)  # fmt: skip
def test_fast_scalar_serialiser_is_canonical_json(value: Any) -> None:
    assert _cj(value) == canonical_json(value)


def test_sqlite_checkpoints_run_in_a_thread_of_their_own(
    service: Any, good_application: dict[str, Any]
) -> None:
    if service.store.engine.dialect.name != "sqlite":
        pytest.skip("WAL checkpoints are SQLite's")
    for i in range(5):
        service.decide({**good_application, "application_id": f"W{i}"}, "channel")
    backend = service.writer.backend
    assert isinstance(backend, SqliteBackend)
    checkpointer = backend._checkpointer
    assert checkpointer is not None
    deadline = time.monotonic() + 10
    while checkpointer.checkpoints == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert checkpointer.checkpoints >= 1
    db = Path(service.store.engine.url.database or "")
    service.close()  # a last checkpoint, and the thread ends
    assert not checkpointer._thread.is_alive()
    service.store.dispose()
    with sqlite3.connect(db) as plain:  # the database file reads back whole
        assert plain.execute("SELECT count(*) FROM decisions").fetchone()[0] == 5


def test_decide_many_writes_one_batch_and_fails_bad_applications_alone(
    service: Any, good_application: dict[str, Any]
) -> None:
    """What an engine process does with the requests that arrived together: one transaction,
    an answer (or the error ``decide`` would raise) for each, in order."""
    from creditfactory.decision import InputError
    from creditfactory.store import add_key

    with service.store.session() as s:
        key = add_key(s, "channel", "analyst", "channel-secret", "test").id
        s.commit()
    first_call = service.decide_many(
        [({**good_application, "application_id": n}, "c", key, k) for n, k in
         [("before", "key-0"), ("B0", None), ("B00", None)]]
    )  # fmt: skip
    assert service.writer.batches == 1  # three applications, one transaction
    assert not any(isinstance(o, Exception) or o.replayed for o in first_call)
    bad = {k: v for k, v in good_application.items() if k != "monthly_income"}
    outs = service.decide_many(
        [
            ({**good_application, "application_id": "B1"}, "c", key, None),
            (bad, "c", key, None),
            ({**good_application, "application_id": "B2"}, "c", key, "key-1"),
            ({**good_application, "application_id": "B2"}, "c", key, "key-1"),  # a quick retry
            ({**good_application, "application_id": "before"}, "c", key, "key-0"),  # replay
        ]
    )
    first, invalid, b2, retry, replay = outs
    assert isinstance(invalid, InputError)
    assert invalid.fields == ["monthly_income"]
    assert not isinstance(first, Exception)
    assert not isinstance(b2, Exception)
    assert not isinstance(retry, Exception)
    assert not isinstance(replay, Exception)
    assert (first.replayed, b2.replayed, retry.replayed, replay.replayed) == (
        False, False, True, True,
    )  # fmt: skip
    assert retry.decision.id == b2.decision.id
    assert first.application.external_id == "B1"
    with service.store.session() as s:
        assert verify(s).ok
        ids = s.execute(select(Application.external_id)).scalars().all()
        assert sorted(map(str, ids)) == ["B0", "B00", "B1", "B2", "before"]  # each stored once


def test_decide_many_hands_a_failed_write_to_every_application(
    service: Any, good_application: dict[str, Any], monkeypatch: Any
) -> None:
    from sqlalchemy.exc import OperationalError

    service.refresh()

    def down(batch: list[Pending]) -> list[Any]:
        raise OperationalError("insert", {}, Exception("server closed the connection"))

    monkeypatch.setattr(service.writer, "_write", down)
    outs = service.decide_many(
        [({**good_application, "application_id": f"D{i}"}, "c", None, None) for i in range(3)]
    )
    assert [type(o) for o in outs] == [OperationalError] * 3


def test_decide_many_splits_what_one_transaction_should_not_hold(
    service: Any, good_application: dict[str, Any]
) -> None:
    """Thousands of applications at once (an engine behind many clients): written in
    transactions of ``max_batch`` (SQLite caps the parameters of one statement)."""
    service.writer.max_batch = 64
    n = 1000
    outs = service.decide_many(
        [({**good_application, "application_id": f"M{i}"}, "c", None, None) for i in range(n)]
    )
    assert not any(isinstance(o, Exception) for o in outs)
    assert service.writer.batches == -(-n // 64)
    with service.store.session() as s:
        assert verify(s).ok
        assert len(s.execute(select(Application.id)).scalars().all()) == n
