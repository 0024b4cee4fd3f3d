"""The service's side of the ledger: keys listed by a public id, the head anchored on a
schedule, and GET /v1/audit/verify reading the anchor file."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from creditfactory.api import Settings, create_app
from creditfactory.exceptions import ConfigError
from creditfactory.store import add_key

from .conftest import Api

ADMIN = "admin-secret-for-anchor-tests"


def test_keys_are_shown_by_a_public_id_never_by_any_part_of_the_secret(api: Api) -> None:
    r = api.client.post(
        "/v1/keys", json={"name": "ops", "role": "analyst"}, headers=api.as_("admin")
    )
    assert r.status_code == 201
    created = r.json()
    secret, key_id = created["key"], created["key_id"]
    assert "prefix" not in created
    assert key_id.startswith("k_")
    assert key_id[2:] not in secret
    listed = api.client.get("/v1/keys", headers=api.as_("admin"))
    assert key_id in listed.text
    body = secret.removeprefix("cf_")
    pieces = {body[i : i + 6] for i in range(len(body) - 5)}
    assert not any(p in listed.text for p in pieces)  # not 6 characters of it in a row
    assert not any(p in "".join(k["key_id"] for k in listed.json()) for p in pieces)


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_the_service_anchors_the_head_and_verify_reads_the_anchors(
    db_url: str, tmp_path: Path
) -> None:
    anchors = tmp_path / "anchors.jsonl"
    settings = Settings(
        database_url=db_url, admin_key=ADMIN, engine_process=False, anchor_file=anchors,
        anchor_key="anchor-key", anchor_every_seconds=0.2, anchor_every_entries=1000,
    )  # fmt: skip
    app = create_app(settings)
    admin = {"X-API-Key": ADMIN}
    with TestClient(app) as client:
        deadline = time.monotonic() + 10
        while not _lines(anchors) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [line["seq"] for line in _lines(anchors)] == [1]  # the bootstrap key, at start
        for name in ("a", "b"):
            client.post("/v1/keys", json={"name": name, "role": "analyst"}, headers=admin)
        while _lines(anchors)[-1]["seq"] != 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _lines(anchors)[-1]["seq"] == 3  # within anchor_every_seconds
        client.post("/v1/keys", json={"name": "c", "role": "analyst"}, headers=admin)
    assert _lines(anchors)[-1]["seq"] == 4  # the head as the service left it
    app = create_app(settings)
    store = app.state.store
    with TestClient(app) as client:
        ok = client.get("/v1/audit/verify", headers=admin).json()
        assert ok["ok"], ok
        with store.engine.begin() as conn:  # key c and its entry gone, the head moved back
            conn.execute(text("DELETE FROM api_keys WHERE name = 'c'"))
            conn.execute(text("DELETE FROM ledger WHERE seq = 4"))
            conn.execute(
                text(
                    "UPDATE ledger_head SET seq = 3, "
                    "hash = (SELECT hash FROM ledger WHERE seq = 3), "
                    "updated_at = (SELECT created_at FROM ledger WHERE seq = 3)"
                )
            )
        cut = client.get("/v1/audit/verify", headers=admin).json()
    assert not cut["ok"]
    assert cut["first_problem"]["problem"] == "tail-cut"
    store.dispose()


def test_an_anchor_file_needs_a_key(tmp_path: Path) -> None:
    settings = Settings(database_url="sqlite://", anchor_file=tmp_path / "a.jsonl")
    with pytest.raises(ConfigError, match="anchor_key"):
        create_app(settings)


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE api_keys SET role = 'admin' WHERE name = 'ops'",
        "INSERT INTO api_keys (id, name, role, key_hash, key_id, created_at) VALUES "
        f"(9, 'mallory', 'admin', '{'1' * 64}', 'k_m', '2026-01-01 00:00:00')",
        "INSERT INTO strategy_activations (strategy_id, action, actor, at) "
        "SELECT id, 'activate', 'mallory', '2026-01-01 00:00:00' FROM strategy_versions",
    ],
    ids=["role", "key", "activation"],
)
def test_the_service_refuses_to_start_on_keys_or_activations_the_ledger_does_not_vouch_for(
    db_url: str, tmp_path: Path, strategy_yaml: str, sql: str, caplog: pytest.LogCaptureFixture
) -> None:
    strategy = tmp_path / "s.yaml"
    strategy.write_text(strategy_yaml)
    settings = Settings(database_url=db_url, admin_key=ADMIN, strategy=strategy)
    app = create_app(settings)
    store = app.state.store
    with store.session() as s:
        add_key(s, "ops", "analyst", "ops-secret-0123456789abcdef", "admin")
    with store.engine.begin() as conn:
        conn.execute(text(sql))
    with pytest.raises(ConfigError, match="ledger_check_on_start: record-"):
        create_app(settings)
    create_app(settings.model_copy(update={"ledger_check_on_start": "warn"})).state.store.dispose()
    assert "audit: ledger check at start-up: record-" in caplog.text
    store.dispose()
