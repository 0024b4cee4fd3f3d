"""The decision engine in a process of its own: same answers as deciding in the front."""

from __future__ import annotations

import asyncio
import json
import os
import pickle
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from creditfactory.api import Settings, create_app
from creditfactory.api._app import engine_wanted, factory_config
from creditfactory.api._errors import status_of
from creditfactory.decision import InputError
from creditfactory.exceptions import ConfigError, ForbiddenError
from creditfactory.factory import (
    VERSION,
    BodyError,
    Close,
    Decide,
    Decided,
    EngineClient,
    EngineUnavailableError,
    ErrorState,
    FactoryConfig,
    Failed,
    Invalidate,
    ProtocolError,
    Ready,
    Start,
)
from creditfactory.factory._engine import serve
from creditfactory.factory._messages import FACTORY_TO_FRONT, FRONT_TO_FACTORY, frame, unframe
from creditfactory.store import Store, activate, add_strategy, verify

ADMIN = {"X-API-Key": "cf-test-admin-3Jq8ZrVx5TmW2pLk"}


def _settings(db_url: str, **kw: Any) -> Settings:
    return Settings(
        database_url=db_url, admin_key=ADMIN["X-API-Key"], list_secret="list-secret", qc_rate=0.0,
        engine_process=True, **kw,
    )  # fmt: skip


@pytest.fixture
def engine_client(db_url: str, strategy_yaml: str) -> Iterator[TestClient]:
    """The app with its engine process running and the test strategy active."""
    app = create_app(_settings(db_url))
    with TestClient(app) as client:
        assert app.state.factory.mode == "process"  # started with no strategy active yet
        none_yet = client.post("/v1/applications", json={"age": 30}, headers=ADMIN)
        assert none_yet.status_code == 409
        assert "no strategy is active" in none_yet.json()["detail"]
        r = client.post("/v1/strategies", json={"source": strategy_yaml, "activate": True},
                        headers=ADMIN)  # fmt: skip
        assert r.status_code == 201, r.text
        yield client
    assert app.state.factory is None  # stopped with the app
    app.state.store.dispose()


def _received(sock: socket.socket, buf: bytearray, n: int) -> list[Any]:
    """The next ``n`` messages from the engine."""
    out: list[Any] = []
    while len(out) < n:
        out += unframe(buf, FACTORY_TO_FRONT)
        if len(out) < n:
            chunk = sock.recv(1 << 16)
            assert chunk, "the engine closed the socket"
            buf += chunk
    return out


def _post(client: TestClient, body: Any, **headers: str) -> Any:
    return client.post("/v1/applications", json=body, headers={**ADMIN, **headers})


def test_engine_decides_stores_and_explains_like_the_front(
    engine_client: TestClient, good_application: dict[str, Any], strategy_yaml_v2: str
) -> None:
    c = engine_client
    app: Any = c.app
    assert c.get("/health").json() == {"status": "ok", "engine": "process"}
    first = _post(c, good_application)
    assert first.status_code == 201, first.text
    body = first.json()
    assert (body["decision"], body["limit"], body["external_id"]) == ("approve", 30000.0, "A1")
    assert c.get(f"/v1/decisions/{body['decision_id']}", headers=ADMIN).json()["decision"] == (
        "approve"
    )
    # bad input: the same field-level 422s, nothing stored
    missing = _post(c, {k: v for k, v in good_application.items() if k != "age"})
    assert missing.status_code == 422
    assert missing.json()["detail"][0]["loc"] == ["body", "age"]
    nan = c.post("/v1/applications", content=b'{"age": NaN}', headers=ADMIN)
    assert nan.status_code == 422
    assert nan.json()["detail"][0]["loc"] == ["body", "age"]
    broken = c.post("/v1/applications", content=b"{not json", headers=ADMIN)
    assert broken.json()["detail"][0]["type"] == "json_invalid"
    # a 900-deep list is not echoed back (it once failed to cross the socket: a 500)
    pid = app.state.factory.process.pid
    deep = c.post("/v1/applications", content=b"[" * 900 + b"]" * 900, headers=ADMIN)
    assert deep.status_code == 422
    assert deep.json()["detail"][0]["input"] is None
    surrogate = c.post("/v1/applications", content=b'{"application_id": "\\ud800"}', headers=ADMIN)
    assert surrogate.json()["detail"][0]["loc"] == ["body", "application_id"]
    assert app.state.factory.process.pid == pid  # the same engine answered throughout
    # idempotency: a retry replays, another body under the key is a conflict
    key = {"Idempotency-Key": "retry-1"}
    new = _post(c, {**good_application, "application_id": "A2"}, **key)
    again = _post(c, {**good_application, "application_id": "A2"}, **key)
    assert (new.status_code, again.status_code) == (201, 200)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["decision_id"] == new.json()["decision_id"]
    assert _post(c, {**good_application, "application_id": "A3"}, **key).status_code == 409
    # a new strategy and a list entry apply to the very next application, not a second later
    r = c.post("/v1/strategies", json={"source": strategy_yaml_v2, "activate": True},
               headers=ADMIN)  # fmt: skip
    assert r.status_code == 201
    assert _post(c, {**good_application, "application_id": "A4"}).json()["limit"] == 20000.0
    phone = good_application["phone"]
    c.post("/v1/lists/blacklist/entries", json={"field": "phone", "values": [phone]},
           headers=ADMIN)  # fmt: skip
    listed = _post(c, {**good_application, "application_id": "A5"}).json()
    assert (listed["decision"], listed["reasons"]) == ("decline", ["LIST_BLACKLIST_PHONE"])
    # written by the engine's own connection, vouched for by the one ledger
    with app.state.store.session() as s:
        assert verify(s).ok
    assert c.get("/v1/applications/A1", headers=ADMIN).json()["external_id"] == "A1"


def test_a_stopped_engine_is_replaced_on_the_next_request(
    engine_client: TestClient, good_application: dict[str, Any]
) -> None:
    c = engine_client
    engine: EngineClient = c.app.state.factory  # type: ignore[attr-defined]
    assert engine.process is not None
    old = engine.process.pid
    os.kill(old, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while engine._frames is not None and time.monotonic() < deadline:  # the front notices
        time.sleep(0.02)
    r = _post(c, good_application)
    assert r.status_code == 201, r.text
    assert engine.process is not None
    assert engine.process.pid != old


def test_a_request_in_flight_when_the_engine_dies_gets_503(db_url: str, strategy_yaml: str) -> None:
    store = Store(db_url)
    store.migrate()
    with store.session() as s:
        activate(s, add_strategy(s, strategy_yaml, "ana").id, "boss")
        s.commit()

    async def main() -> BaseException | None:
        engine = EngineClient(factory_config(_settings(db_url)))
        await engine.start()
        assert engine.process is not None
        os.kill(engine.process.pid, signal.SIGSTOP)  # it cannot answer ...
        task = asyncio.ensure_future(engine.decide(b'{"age": 30}', "c", None, None))
        await asyncio.sleep(0.05)
        os.kill(engine.process.pid, signal.SIGKILL)  # ... and then it is gone
        try:
            await asyncio.wait_for(task, 10)
        except BaseException as exc:
            return exc
        finally:
            await engine.close()
        return None

    err = asyncio.run(main())
    store.dispose()
    assert isinstance(err, EngineUnavailableError)
    assert status_of(err) == 503


def test_an_engine_that_cannot_reach_the_database_fails_the_start() -> None:
    settings = Settings(
        database_url="postgresql+psycopg://nobody@127.0.0.1:1/none", engine_process=True
    )

    async def main() -> None:
        await EngineClient(factory_config(settings), start_timeout=60).start()

    with pytest.raises(ConfigError, match="engine_process: the decision engine did not start"):
        asyncio.run(main())


def test_control_messages_apply_between_the_decisions_around_them(
    tmp_path: Path, strategy_yaml: str, strategy_yaml_v2: str, good_application: dict[str, Any]
) -> None:
    """The engine loop (in a thread here): a new strategy is used from the ``invalidate``
    onwards, even within one batch that arrived at once."""
    url = f"sqlite:///{tmp_path / 'e.db'}"
    store = Store(url)
    store.migrate()
    with store.session() as s:
        activate(s, add_strategy(s, strategy_yaml, "ana").id, "boss")
        s.commit()
    front, back = socket.socketpair()
    thread = threading.Thread(target=serve, args=(back,), daemon=True)
    thread.start()
    front.sendall(frame(Start(FactoryConfig(url, cache_seconds=3600))))  # only Invalidate
    buf = bytearray()
    assert _received(front, buf, 1) == [Ready()]
    with store.session() as s:  # activated by someone else: the engine still has v1 cached
        activate(s, add_strategy(s, strategy_yaml_v2, "ana").id, "boss")
        s.commit()
    body = (b'{"application_id": "%s", "id_number": "1", "phone": null, "age": 35, '
            b'"monthly_income": 10000.0, "bureau_monthly_debt": 0, "inquiries_3m": 0, '
            b'"term_requested": 12}')  # fmt: skip
    sent = [Decide(1, body % b"X1", "c"), Invalidate(), Decide(2, body % b"X2", "c"),
            Decide(3, b"[]", "c"), Close()]  # fmt: skip
    front.sendall(b"".join(map(frame, sent)))
    by_id = {r.id: r for r in _received(front, buf, 3)}
    assert isinstance(by_id[1], Decided)
    assert isinstance(by_id[2], Decided)
    assert json.loads(by_id[1].answer.body)["limit"] == 30000.0  # v1: income x 3
    assert json.loads(by_id[2].answer.body)["limit"] == 20000.0  # v2: income x 2
    assert isinstance(by_id[3], Failed)
    assert isinstance(by_id[3].error.rebuild(), BodyError)
    thread.join(10)
    assert not thread.is_alive()  # "close" stops it
    front.close()
    back.close()
    store.dispose()


@pytest.mark.parametrize(
    "exc",
    [
        InputError("application: age: required", ["age"]),
        ForbiddenError("role analyst may not"),
        BodyError([{"type": "missing", "loc": ("body",), "msg": "Field required"}]),
        ConfigError("qc_rate: 2 is not a share"),
    ],
    ids=["input", "auth", "validation", "config"],
)
def test_errors_cross_the_process_boundary_intact(exc: Exception) -> None:
    back = pickle.loads(pickle.dumps(ErrorState.of(exc))).rebuild()
    assert type(back) is type(exc)
    assert str(back) == str(exc)
    assert vars(back) == vars(exc)


def test_an_error_that_does_not_pickle_arrives_as_its_message() -> None:
    exc = ValueError("boom")
    exc.lock = threading.Lock()  # type: ignore[attr-defined]
    back = pickle.loads(pickle.dumps(ErrorState.of(exc))).rebuild()
    assert isinstance(back, RuntimeError)
    assert str(back) == "ValueError: boom"


def test_engine_is_the_default_with_two_cpus_and_a_shared_database(monkeypatch: Any) -> None:
    file_db, memory = "sqlite:///x.db", "sqlite://"
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert engine_wanted(Settings(database_url=file_db)) is True
    assert engine_wanted(Settings(database_url=memory)) is False
    assert engine_wanted(Settings(database_url=file_db, engine_process=False)) is False
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    assert engine_wanted(Settings(database_url=file_db)) is False
    assert engine_wanted(Settings(database_url=file_db, engine_process=True)) is True
    with pytest.raises(ConfigError, match="engine_process: an in-memory SQLite database"):
        engine_wanted(Settings(database_url=memory, engine_process=True))
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    monkeypatch.setattr(os, "name", "nt")
    assert engine_wanted(Settings(database_url=file_db)) is False
    with pytest.raises(ConfigError, match="engine_process: needs a POSIX system"):
        engine_wanted(Settings(database_url=file_db, engine_process=True))


def test_the_protocol_refuses_what_is_not_one_of_its_messages() -> None:
    """Named, versioned messages: a foreign object, a message sent the wrong way or another
    protocol version is a ProtocolError, not something acted on."""
    config = FactoryConfig("sqlite://")
    for wrong, kinds in (
        (("start", config), FRONT_TO_FACTORY),  # the old positional tuples
        (Ready(), FRONT_TO_FACTORY),  # the engine's message, sent to the engine
        (Start(config, version=VERSION + 1), FRONT_TO_FACTORY),
    ):
        buf = bytearray(frame(wrong))  # type: ignore[arg-type]
        with pytest.raises(ProtocolError):
            unframe(buf, kinds)
    buf = bytearray(frame(Decide(7, b"{}", "c")) + frame(Invalidate())[:3])
    assert unframe(buf, FRONT_TO_FACTORY) == [Decide(7, b"{}", "c")]  # a partial frame waits
    assert len(buf) == 3
