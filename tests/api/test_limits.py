"""Limits: body size, fields, timeouts, connections, rates, failed logins, strong keys."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from creditfactory.api import Settings, create_app, start_server
from creditfactory.api._limits import (
    Limits,
    TokenBuckets,
    check_fields,
    count_values,
    key_problem,
)
from creditfactory.exceptions import ConfigError
from creditfactory.store import add_key

ADMIN = "cf-test-admin-3Jq8ZrVx5TmW2pLk"
ANALYST = "cf-test-analyst-8Hd4YcQn7SbR1fGu"
WRONG = "cf-wrong-key-Zt6Kp2Xw9Lm4Qa7V"


def make_client(db_url: str, **limits: object) -> TestClient:
    settings = Settings(
        database_url=db_url, admin_key=ADMIN, qc_rate=0.0, engine_process=False, **limits
    )  # type: ignore[arg-type]
    app = create_app(settings)
    with app.state.store.session() as s:
        add_key(s, "analyst", "analyst", ANALYST, "test")
    return TestClient(app)


@pytest.fixture
def memory_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'limits.db'}"


def statements(client: TestClient) -> list[str]:
    """Every SQL statement the app's store runs from now on."""
    seen: list[str] = []
    engine = client.app.state.store.engine  # type: ignore[attr-defined]
    event.listen(engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    return seen


# ------------------------------------------------------------------------------ body size
def test_body_over_the_limit_by_content_length_is_413(memory_url: str) -> None:
    with make_client(memory_url, max_body_bytes=100, max_upload_bytes=5000) as c:
        r = c.post(
            "/v1/applications", content=b"{" + b" " * 200 + b"}", headers={"X-API-Key": ADMIN}
        )
        assert r.status_code == 413
        assert r.json() == {
            "detail": "request body larger than 100 bytes (the limit, CREDITFACTORY_MAX_BODY_BYTES)"
        }
        assert r.headers["connection"] == "close"
        # uploads have their own, larger limit: this one reaches the route (and fails there)
        r = c.post("/v1/strategies", json={"source": "x" * 300}, headers={"X-API-Key": ADMIN})
        assert r.status_code == 422
        r = c.post("/v1/strategies", json={"source": "x" * 6000}, headers={"X-API-Key": ADMIN})
        assert r.status_code == 413
        assert "CREDITFACTORY_MAX_UPLOAD_BYTES" in r.json()["detail"]


def test_chunked_body_over_the_limit_is_413(memory_url: str) -> None:
    chunks = iter([b" " * 50] * 10)  # no Content-Length: counted as it streams in
    with make_client(memory_url, max_body_bytes=120) as c:
        r = c.post("/v1/applications", content=chunks, headers={"X-API-Key": ADMIN})
        assert r.status_code == 413
        assert "larger than 120 bytes" in r.json()["detail"]
        # a chunked body under the limit goes through to the route
        r = c.post("/v1/applications", content=iter([b"[1,", b"2]"]), headers={"X-API-Key": ADMIN})
        assert r.status_code == 422
        assert r.json()["detail"][0]["type"] == "dict_type"


def test_fields_over_the_limit_are_a_422_naming_it(memory_url: str) -> None:
    with make_client(memory_url, max_fields=10) as c:
        body = {"a": list(range(5)), "b": {"c": 1, "d": [1, 2]}}  # 11 values
        assert count_values(body) == 11
        r = c.post("/v1/applications", json=body, headers={"X-API-Key": ADMIN})
        assert r.status_code == 422
        (error,) = r.json()["detail"]
        assert error["loc"] == ["body"]
        assert "at most 10 fields" in error["msg"]
        assert "CREDITFACTORY_MAX_FIELDS" in error["msg"]
        body["a"] = list(range(4))  # 10 values: past the limit check (no strategy: 409)
        r = c.post("/v1/applications", json=body, headers={"X-API-Key": ADMIN})
        assert r.status_code == 409


def test_check_fields_parses_only_bodies_that_may_be_over() -> None:
    check_fields(b'{"a": "1,2,3,4,5,6,7,8,9,10,11"}', 10)  # commas in a text: not fields
    check_fields(b"not json, [[[[[[[[[[", 5)  # left for the parser
    with pytest.raises(Exception, match="at most 3 fields"):
        check_fields(b'{"a": [1, 2, 3]}', 3)
    check_fields(b'{"a": [1, 2, 3]}', 0)  # 0: no limit


# --------------------------------------------------------------------------------- rates
def test_requests_past_a_keys_rate_get_429_with_retry_after(memory_url: str) -> None:
    with make_client(memory_url, key_rate=0.5, key_burst=2) as c:
        for _ in range(2):
            assert c.get("/v1/strategies", headers={"X-API-Key": ADMIN}).status_code == 200
        r = c.get("/v1/strategies", headers={"X-API-Key": ADMIN})
        assert r.status_code == 429
        assert r.headers["retry-after"] == "2"
        assert "CREDITFACTORY_KEY_RATE" in r.json()["detail"]
        hot = c.post("/v1/applications", json={"a": 1}, headers={"X-API-Key": ADMIN})
        assert hot.status_code == 429  # the hot path too
        # the limit is per key
        assert c.get("/v1/strategies", headers={"X-API-Key": ANALYST}).status_code == 200


def test_requests_past_an_addresss_rate_get_429_with_retry_after(memory_url: str) -> None:
    with make_client(memory_url, address_rate=0.2, address_burst=3) as c:
        for _ in range(3):
            assert c.get("/health").status_code == 200
        r = c.get("/health")
        assert r.status_code == 429
        assert r.headers["retry-after"] == "5"
        assert "CREDITFACTORY_ADDRESS_RATE" in r.json()["detail"]


def test_token_buckets_stay_bounded() -> None:
    b = TokenBuckets(rate=1.0, burst=5, size=100)
    for i in range(10_000):
        b.take(f"10.0.{i // 256}.{i % 256}", now=0.0)
        assert len(b) <= 100
    b.take("busy", now=0.0)
    for i in range(99):
        b.take(i, now=100.0)  # every earlier bucket has refilled: forgotten without loss
    assert b.taken("busy") == 0
    assert [b.take("x", now=200.0) for _ in range(6)] == [0.0] * 5 + [1.0]
    assert b.taken("x") == 5
    assert b.take("x", now=210.0) == 0.0
    assert b.taken("x") == 1  # counted afresh once full again


# ---------------------------------------------------------------------- failed logins
def test_failed_logins_are_counted_logged_and_slowed(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with make_client(db_url, auth_failures=3, auth_failure_window=60.0) as c:
        caplog.set_level(logging.WARNING, "creditfactory.api")
        for i in range(3):
            r = c.get("/v1/strategies", headers={"X-API-Key": f"{WRONG}{i}"})
            assert r.status_code == 401
        lines = [r.getMessage() for r in caplog.records if r.name == "creditfactory.api"]
        assert len(lines) == 3
        assert "client testclient, GET /v1/strategies, 3 failure(s)" in lines[-1]
        assert "refused for 20 s" in lines[-1]
        assert not any(WRONG[:6] in line for line in caplog.text.splitlines())
        sql = statements(c)
        r = c.get("/v1/strategies", headers={"X-API-Key": WRONG})
        assert r.status_code == 429
        assert r.headers["retry-after"] == "20"
        assert "CREDITFACTORY_AUTH_FAILURES" in r.json()["detail"]
        # a good key not yet remembered is refused too, before any database look-up ...
        assert c.get("/v1/strategies", headers={"X-API-Key": ANALYST}).status_code == 429
        assert sql == []


def test_a_remembered_key_passes_a_blocked_address_and_wrong_keys_are_remembered(
    db_url: str,
) -> None:
    with make_client(db_url, auth_failures=2) as c:
        assert c.get("/v1/strategies", headers={"X-API-Key": ADMIN}).status_code == 200
        sql = statements(c)
        assert c.get("/v1/strategies", headers={"X-API-Key": WRONG}).status_code == 401
        looked_up = len(sql)
        assert looked_up > 0
        assert c.get("/v1/strategies", headers={"X-API-Key": WRONG}).status_code == 401
        assert len(sql) == looked_up  # the same wrong key again: no look-up
        assert c.get("/v1/strategies", headers={"X-API-Key": WRONG}).status_code == 429
        assert c.get("/v1/strategies", headers={"X-API-Key": ADMIN}).status_code == 200
        # remembered past its few seconds, a good key is looked up again, not refused
        cache = c.app.state.auth_cache  # type: ignore[attr-defined]
        cache[ADMIN] = (cache[ADMIN][0] - 60.0, cache[ADMIN][1])
        before = len(sql)
        assert c.get("/v1/strategies", headers={"X-API-Key": ADMIN}).status_code == 200
        assert len(sql) > before
        assert c.get("/v1/strategies", headers={"X-API-Key": WRONG + "x"}).status_code == 429


def test_attempts_in_flight_together_cannot_share_one_refilled_token() -> None:
    """Each attempt from a throttled address takes its token before the look-up: four wrong
    keys arriving together when one token has refilled get one look-up, not four."""
    limits = Limits(Settings(database_url="sqlite://", auth_failures=2, auth_failure_window=60))
    assert limits.failures is not None
    limits.failed("203.0.113.9", "GET", "/v1/keys")
    limits.failed("203.0.113.9", "GET", "/v1/keys")
    bucket = limits.failures._buckets["203.0.113.9"]
    bucket[0], bucket[1] = 1.0, time.monotonic()  # one token has come back
    outcomes = [limits.refused("203.0.113.9", f"guess-{k}") for k in range(4)]
    assert [reserved for _, reserved in outcomes] == [True, False, False, False]
    assert all(wait > 0 for wait, _ in outcomes[1:])
    limits.passed("203.0.113.9")  # that one was a good key: its attempt is given back
    assert limits.refused("203.0.113.9", "guess-5") == (0.0, True)


def test_revoking_a_key_keeps_every_other_key_verified(db_url: str) -> None:
    with make_client(db_url, auth_failures=2) as c:
        admin = {"X-API-Key": ADMIN}
        made = c.post("/v1/keys", json={"name": "temp", "role": "read-only"}, headers=admin)
        assert made.status_code == 201, made.text
        for _ in range(3):
            c.get("/v1/strategies", headers={"X-API-Key": WRONG})
        assert c.get("/v1/strategies", headers={"X-API-Key": WRONG + "y"}).status_code == 429
        assert c.delete(f"/v1/keys/{made.json()['id']}", headers=admin).status_code == 200
        assert c.get("/v1/strategies", headers=admin).status_code == 200  # was 429
        revoked = {"X-API-Key": made.json()["key"]}
        assert c.get("/v1/strategies", headers=revoked).status_code in (401, 429)


# --------------------------------------------------------------------------- strong keys
@pytest.mark.parametrize(
    ("secret", "reason"),
    [
        ("a", "has 1 character"),
        ("change-me", "has 9 character"),
        ("a" * 30, "repeats a shorter text"),
        ("passwordpasswordpassword", "repeats a shorter text"),
        ("abcdefghijklmnopqrstuvwxyz", "too predictable"),
        ("0123456789012345678901234x", "too predictable"),
    ],
)
def test_weak_admin_keys_are_refused_naming_the_setting(secret: str, reason: str) -> None:
    assert reason in (key_problem(secret) or "")
    with pytest.raises(ConfigError, match=f"CREDITFACTORY_ADMIN_KEY.*{reason}") as info:
        create_app(Settings(database_url="sqlite://", admin_key=secret))
    if len(secret) > 1:
        assert secret not in str(info.value)


def test_random_keys_are_strong() -> None:
    import secrets

    for _ in range(200):
        assert key_problem(secrets.token_urlsafe(18)) is None
        assert key_problem(secrets.token_hex(12)) is None


def test_the_server_refuses_to_start_with_a_weak_admin_key(tmp_path: Path) -> None:
    env = {
        "CREDITFACTORY_DATABASE_URL": f"sqlite:///{tmp_path / 'weak.db'}",
        "CREDITFACTORY_ADMIN_KEY": "a",
    }
    with pytest.raises(ConfigError, match="CREDITFACTORY_ADMIN_KEY"):
        start_server(env=env, engine_process=False)


# ----------------------------------------------------------------- the real server: clients
@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int, object]]:
    db = tmp_path_factory.mktemp("limits") / "server.db"
    env = {
        "CREDITFACTORY_DATABASE_URL": f"sqlite:///{db}",
        "CREDITFACTORY_ADMIN_KEY": ADMIN,
        "CREDITFACTORY_HEADER_TIMEOUT": "1",
        "CREDITFACTORY_BODY_TIMEOUT": "1",
        "CREDITFACTORY_MAX_CONNECTIONS": "4",
        "CREDITFACTORY_MAX_BODY_BYTES": "1000",
        "CREDITFACTORY_MAX_HEADER_BYTES": "4096",
        "CREDITFACTORY_KEEP_ALIVE_TIMEOUT": "1",
    }
    with start_server(env=env, engine_process=False) as s:
        host, port = s.url.removeprefix("http://").split(":")
        yield host, int(port), s


@pytest.fixture
def connect(server: tuple[str, int, object]) -> Iterator[Callable[[], socket.socket]]:
    """Opens connections to the server (all closed after the test)."""
    opened: list[socket.socket] = []

    def open_() -> socket.socket:
        opened.append(socket.create_connection((server[0], server[1]), timeout=10))
        return opened[-1]

    yield open_
    for sock in opened:
        sock.close()


def read_all(sock: socket.socket) -> bytes:
    """What the server sends until it closes the connection."""
    out = b""
    while chunk := sock.recv(65536):
        out += chunk
    return out


def post_head(length: int) -> bytes:
    return (
        f"POST /v1/applications HTTP/1.1\r\nHost: x\r\nX-API-Key: {ADMIN}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


def drip(sock: socket.socket, data: bytes) -> float | None:
    """Send ``data`` a byte every 0.2 s: the seconds until the server closed, or None."""
    t0 = time.monotonic()
    for byte in data:
        try:
            sock.sendall(bytes([byte]))
        except OSError:
            return time.monotonic() - t0
        sock.settimeout(0.2)
        try:
            if sock.recv(65536) == b"":
                return time.monotonic() - t0
        except TimeoutError:
            pass
    return None


SLOW = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"y" * 100


def test_a_client_sending_its_headers_slowly_is_dropped(
    connect: Callable[[], socket.socket],
) -> None:
    closed = drip(connect(), SLOW)
    assert closed is not None, "the slow client was never dropped"
    assert 0.8 < closed < 3.0


def test_a_kept_alive_client_sending_its_next_headers_slowly_is_dropped(
    connect: Callable[[], socket.socket],
) -> None:
    sock = connect()
    sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
    closed = drip(sock, SLOW)  # each byte would re-arm uvicorn's keep-alive timer
    assert closed is not None, "the slow client was never dropped"
    assert closed < 3.0


def test_a_body_dripping_after_an_early_answer_is_cut_off(
    connect: Callable[[], socket.socket],
) -> None:
    sock = connect()
    sock.sendall(post_head(200).replace(ADMIN.encode(), b"cf-not-a-key-8Yt5Rw2Qe7Lp3Zx9"))
    assert sock.recv(65536).startswith(b"HTTP/1.1 401 ")  # answered before the body is read
    closed = drip(sock, b" " * 200)
    assert closed is not None, "the dripping body was never cut off"
    assert closed < 3.0


def test_an_idle_connection_without_a_request_is_dropped(
    connect: Callable[[], socket.socket],
) -> None:
    sock = connect()
    t0 = time.monotonic()
    assert read_all(sock) == b""
    assert time.monotonic() - t0 < 3.0


def test_an_idle_kept_alive_connection_is_closed(
    connect: Callable[[], socket.socket],
) -> None:
    sock = connect()
    sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    t0 = time.monotonic()
    assert read_all(sock).startswith(b"HTTP/1.1 200 ")
    assert time.monotonic() - t0 < 3.0


def test_headers_over_the_limit_are_refused(connect: Callable[[], socket.socket]) -> None:
    sock = connect()
    sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"y" * 8000)  # unfinished
    assert read_all(sock).startswith(b"HTTP/1.1 400 ")


def test_a_client_stalling_mid_body_gets_408(
    connect: Callable[[], socket.socket],
) -> None:
    sock = connect()
    sock.sendall(post_head(100) + b'{"application_id": ')
    t0 = time.monotonic()
    answer = read_all(sock)
    assert time.monotonic() - t0 < 3.0
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 ")
    assert json.loads(body) == {
        "detail": "request body not received within 1 s (CREDITFACTORY_BODY_TIMEOUT)"
    }


def test_a_body_over_the_limit_is_refused_before_it_is_sent(
    connect: Callable[[], socket.socket],
) -> None:
    sock = connect()
    sock.sendall(post_head(50_000_000))
    head, _, body = read_all(sock).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413 ")
    assert b"1,000 bytes" in body


def test_a_chunked_body_over_the_limit_is_refused_while_it_streams(
    connect: Callable[[], socket.socket],
) -> None:
    sock = connect()
    head = post_head(0).replace(b"Content-Length: 0", b"Transfer-Encoding: chunked")
    sock.sendall(head)
    sent = 0
    sock.settimeout(0.05)
    answer = b""
    with contextlib.suppress(OSError):
        for _ in range(200):  # 200 chunks of 100 bytes, 20 times the limit
            sock.sendall(b"64\r\n" + b" " * 100 + b"\r\n")
            sent += 100
            try:
                answer = sock.recv(65536)
                break
            except TimeoutError:
                pass
    sock.settimeout(10)
    answer += read_all(sock)
    assert answer.startswith(b"HTTP/1.1 413 "), answer
    assert b"CREDITFACTORY_MAX_BODY_BYTES" in answer
    assert sent < 5000  # refused while streaming, not after reading it all


def test_connections_past_the_cap_get_503(
    connect: Callable[[], socket.socket],
) -> None:
    idle = [connect() for _ in range(4)]
    try:
        time.sleep(0.2)
        sock = connect()
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert read_all(sock).startswith(b"HTTP/1.1 503 ")
    finally:
        for s in idle:
            s.close()
    time.sleep(0.3)
    sock = connect()
    sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert read_all(sock).startswith(b"HTTP/1.1 200 ")


def test_a_client_disconnecting_mid_request_logs_no_traceback(
    server: tuple[str, int, object], connect: Callable[[], socket.socket]
) -> None:
    for _ in range(3):
        sock = connect()
        sock.sendall(post_head(500) + b'{"application_id": ')
        time.sleep(0.2)
    time.sleep(0.5)
    log = server[2].output()  # type: ignore[attr-defined]
    assert "Traceback" not in log
    assert "ClientDisconnect" not in log
