"""An app on a fresh database (SQLite and PostgreSQL) with one key per role."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from creditfactory.api import Settings, create_app
from creditfactory.store import add_key, new_key

ADMIN = "cf-test-admin-3Jq8ZrVx5TmW2pLk"  # a bootstrap key must be strong

# a one-characteristic scoring spec that POST /v1/models accepts
MODEL_SPEC = {
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


@dataclass
class Api:
    client: TestClient
    keys: dict[str, dict[str, str]]  # role -> headers

    def as_(self, role: str) -> dict[str, str]:
        return self.keys[role]


@pytest.fixture
def api(db_url: str) -> Iterator[Api]:
    # decided in this process; tests/api/test_engine.py runs the engine process
    settings = Settings(
        database_url=db_url, admin_key=ADMIN, list_secret="list-secret", qc_rate=0.0, qc_seed=3,
        engine_process=False, pii_key=new_key("test"),
    )  # fmt: skip
    app = create_app(settings)
    store = app.state.store
    keys = {"admin": {"X-API-Key": ADMIN}}
    with store.session() as s:
        for role in ("analyst", "underwriter", "read-only"):
            add_key(s, role, role, f"{role}-secret", "test")
            keys[role] = {"X-API-Key": f"{role}-secret"}
    with TestClient(app) as client:
        yield Api(client, keys)
    store.dispose()


@pytest.fixture
def live(api: Api, strategy_yaml: str) -> Api:
    """The app with the test strategy uploaded and active."""
    r = api.client.post(
        "/v1/strategies", json={"source": strategy_yaml, "activate": True}, headers=api.as_("admin")
    )
    assert r.status_code == 201, r.text
    return api
