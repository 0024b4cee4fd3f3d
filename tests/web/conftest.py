"""A real server for the dashboard: the app on uvicorn on a free port of 127.0.0.1 (in a thread
of the test process), with a strategy, one key per role, decided applications (approvals,
refers, declines), and a simulated book and a scorecard for the book-based pages."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ADMIN = "cf-test-admin-3Jq8ZrVx5TmW2pLk"
KEYS = {"admin": ADMIN, "analyst": "analyst-secret-1", "underwriter": "underwriter-secret-1",
        "read-only": "read-only-secret-1"}  # fmt: skip


TOKEN = re.compile(r'name="csrf" value="([^"]+)"')


def keyed_app(settings: Any) -> Any:
    """``create_app(settings)`` with one key per role of :data:`KEYS` (the admin's comes from
    the settings)."""
    from creditfactory.api import create_app
    from creditfactory.store import add_key

    app = create_app(settings)
    with app.state.store.session() as s:
        for role in ("analyst", "underwriter", "read-only"):
            add_key(s, role, role, KEYS[role], "test")
    return app


def login(c: Any, role: str) -> str:
    """Log in to the dashboard as ``role`` from a fresh browser (no earlier cookies); the
    session's CSRF token (from the next page's logout form)."""
    c.cookies.clear()
    token = TOKEN.search(c.get("/ui/login").text).group(1)  # type: ignore[union-attr]
    r = c.post("/ui/login", data={"key": KEYS[role], "csrf": token})
    assert r.status_code == 200, r.text  # after the redirect to the overview
    assert r.url.path == "/ui/"
    return TOKEN.search(r.text).group(1)  # type: ignore[union-attr]


def split_strategy() -> str:
    """The service test strategy with its offer in a champion/challenger split (the challenger
    lends twice the income, the champion three times)."""
    from tests.conftest import SERVICE_STRATEGY

    source = SERVICE_STRATEGY.format(version="1", multiple=3)
    offer = source[source.index("  - assign:\n      name: offer") :]
    arm = (
        "        - name: {name}\n          share: 0.5\n          flow:\n"
        "            - assign:\n                name: offer_{name}\n                set:\n"
        '                  limit: "min(monthly_income * {m}, 50000)"\n'
        '                  apr: "0.15"\n                  term: "term_requested"\n'
    )
    split = (
        "  - split:\n      name: cc\n      key: application_id\n      salt: web\n"
        "      arms:\n" + arm.format(name="champion", m=3) + arm.format(name="challenger", m=2)
    )
    return source.replace(offer, split)


@dataclass
class Live:
    url: str
    keys: dict[str, str]
    store: object  # creditfactory.store.Store
    book: Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def call(url: str, method: str, key: str, body: object | None = None) -> tuple[int, object]:
    """One JSON request to the real server (stdlib only)."""
    data = None if body is None else json.dumps(body).encode("utf-8")
    req = urllib.request.Request(
        url,
        data=data,
        method=method,
        headers={"X-API-Key": key, "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def application(i: int, kind: str) -> dict[str, object]:
    """An application the test strategy approves, refers (4+ inquiries) or declines (income)."""
    return {
        "application_id": f"W{i:03d}", "id_number": f"1101011990010{i:05d}",
        "phone": f"138{i:08d}", "age": 30 + i % 20,
        "monthly_income": 1000.0 if kind == "decline" else 8000.0 + 100 * i,
        "bureau_monthly_debt": 500.0, "inquiries_3m": 5 if kind == "refer" else i % 2,
        "term_requested": 12,
    }  # fmt: skip


@pytest.fixture(scope="module")
def live(
    tmp_path_factory: pytest.TempPathFactory, monitored_book: tuple[Path, Path]
) -> Iterator[Live]:
    import uvicorn

    from creditfactory.api import Settings

    root = tmp_path_factory.mktemp("web")
    book, model = monitored_book  # tests/conftest.py: read only, built once a session
    settings = Settings(
        database_url=f"sqlite:///{root / 'web.db'}", admin_key=ADMIN, engine_process=False,
        qc_rate=0.0, ui_book=book, ui_model=model, ui_secret="web-test-session-secret",
    )  # fmt: skip
    app = keyed_app(settings)
    store = app.state.store
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the server did not start")
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}"
    status, _ = call(
        f"{url}/v1/strategies", "POST", ADMIN, {"source": split_strategy(), "activate": True}
    )
    assert status == 201
    kinds = ["approve"] * 6 + ["refer"] * 3 + ["decline"] * 3
    for i, kind in enumerate(kinds):
        status, body = call(f"{url}/v1/applications", "POST", KEYS["analyst"], application(i, kind))
        assert status == 201, body
        assert body["decision"] == kind, body  # type: ignore[index]
    try:
        yield Live(url, dict(KEYS), store, book)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        store.dispose()
