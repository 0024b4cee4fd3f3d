"""A write is committed before its answer starts: a client that gets a 201 for a key, a model, a
strategy or a list entry can use it at once (before, the session committed after the answer was
sent, and a revocation sent straight after a key's creation answered 404 about one time in three).

The app is wrapped in an ASGI layer that, when the answer starts, counts the table's rows over a
connection of its own: only committed rows are visible there.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio.to_thread
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from tests.api.conftest import MODEL_SPEC

from creditfactory.api import Settings, create_app

ADMIN = "cf-commit-admin-Rt5Vn8Kq2Wz7Lp"


class CountsAtAnswer:
    """ASGI middleware: as each answer starts, the rows of ``table`` are counted (off the loop)
    over a connection of its own, which sees only committed rows."""

    def __init__(self, app: Any, other: Engine) -> None:
        self.app, self.other = app, other
        self.table = "api_keys"
        self.seen: list[int] = []

    def count(self) -> int:
        with self.other.connect() as conn:
            return int(conn.execute(text(f"SELECT count(*) FROM {self.table}")).scalar_one())

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def send_counting(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                self.seen.append(await anyio.to_thread.run_sync(self.count))
            await send(message)

        await self.app(scope, receive, send_counting)


@pytest.fixture
def counted(db_url: str) -> Iterator[tuple[TestClient, CountsAtAnswer, dict[str, str]]]:
    settings = Settings(
        database_url=db_url, admin_key=ADMIN, list_secret="list-secret", engine_process=False
    )
    app = create_app(settings)
    other = create_engine(db_url)
    wrapped = CountsAtAnswer(app, other)
    with TestClient(wrapped) as client:
        yield client, wrapped, {"X-API-Key": ADMIN}
    other.dispose()
    app.state.store.dispose()


@pytest.mark.parametrize(
    ("table", "path", "body", "status"),
    [
        ("api_keys", "/v1/keys", {"name": "ops", "role": "analyst"}, 201),
        ("models", "/v1/models", {"name": "a", "version": "1", "spec": MODEL_SPEC}, 201),
        ("list_entries", "/v1/lists/blacklist/entries", {"field": "phone", "values": ["1"]}, 200),
    ],
)
def test_a_success_means_committed(
    counted: tuple[TestClient, CountsAtAnswer, dict[str, str]], table: str, path: str,
    body: dict[str, Any], status: int,
) -> None:  # fmt: skip
    client, wrapped, admin = counted
    wrapped.table = table
    before = wrapped.count()
    r = client.post(path, json=body, headers=admin)
    assert r.status_code == status, r.text
    assert wrapped.seen[-1] > before, f"{path}: answered before its rows were committed"


def test_a_strategy_upload_is_committed_before_its_answer(
    counted: tuple[TestClient, CountsAtAnswer, dict[str, str]], strategy_yaml: str
) -> None:
    client, wrapped, admin = counted
    wrapped.table = "strategy_versions"
    r = client.post("/v1/strategies", json={"source": strategy_yaml}, headers=admin)
    assert r.status_code == 201, r.text
    assert wrapped.seen[-1] == 1


def test_a_key_revoked_straight_after_its_creation(
    counted: tuple[TestClient, CountsAtAnswer, dict[str, str]],
) -> None:
    client, _, admin = counted
    for k in range(10):
        made = client.post("/v1/keys", json={"name": f"k{k}", "role": "read-only"}, headers=admin)
        assert made.status_code == 201, made.text
        gone = client.delete(f"/v1/keys/{made.json()['id']}", headers=admin)
        assert gone.status_code == 200, gone.text
        assert client.get("/v1/keys", headers={"X-API-Key": made.json()["key"]}).status_code == 401
