"""A write is committed before its answer starts: a client that gets a 201 for a key, a model, a
strategy or a list entry can use it at once (before, the session committed after the answer was
sent, and a revocation sent straight after a key's creation answered 404 about one time in three).

The app is wrapped in an ASGI layer that, when the answer starts, counts the table's rows over a
connection of its own: only committed rows are visible there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import anyio.to_thread
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from creditfactory.api import Settings, create_app

ADMIN = "cf-commit-admin-Rt5Vn8Kq2Wz7Lp"
SPEC = {
    "format": "creditfactory.scoring_spec",
    "format_version": 1,
    "scaling": {"factor": 28.85, "offset": 487.1},
    "characteristics": [
        {
            "name": "age", "kind": "numerical", "code": "R001", "missing_points": 10.0,
            "special": [], "upper_edges": [25.0], "points": [20.0, 40.0],
        }
    ],
}  # fmt: skip


class CountsAtAnswer:
    """ASGI middleware: ``count()`` is called (off the loop) as each answer starts."""

    def __init__(self, app: Any, count: Callable[[], int]) -> None:
        self.app, self.count, self.seen = app, count, []  # type: ignore[var-annotated]

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
    table: list[str] = ["api_keys"]

    def count() -> int:
        with other.connect() as conn:
            return int(conn.execute(text(f"SELECT count(*) FROM {table[0]}")).scalar_one())

    wrapped = CountsAtAnswer(app, count)
    wrapped.table = table  # type: ignore[attr-defined]
    with TestClient(wrapped) as client:
        yield client, wrapped, {"X-API-Key": ADMIN}
    other.dispose()
    app.state.store.dispose()


@pytest.mark.parametrize(
    ("table", "path", "body", "status"),
    [
        ("api_keys", "/v1/keys", {"name": "ops", "role": "analyst"}, 201),
        ("models", "/v1/models", {"name": "a", "version": "1", "spec": SPEC}, 201),
        ("list_entries", "/v1/lists/blacklist/entries", {"field": "phone", "values": ["1"]}, 200),
    ],
)
def test_a_success_means_committed(
    counted: tuple[TestClient, CountsAtAnswer, dict[str, str]], table: str, path: str,
    body: dict[str, Any], status: int,
) -> None:  # fmt: skip
    client, wrapped, admin = counted
    wrapped.table[0] = table  # type: ignore[attr-defined]
    before = wrapped.count()
    r = client.post(path, json=body, headers=admin)
    assert r.status_code == status, r.text
    assert wrapped.seen[-1] > before, f"{path}: answered before its rows were committed"


def test_a_strategy_upload_is_committed_before_its_answer(
    counted: tuple[TestClient, CountsAtAnswer, dict[str, str]], strategy_yaml: str
) -> None:
    client, wrapped, admin = counted
    wrapped.table[0] = "strategy_versions"  # type: ignore[attr-defined]
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
