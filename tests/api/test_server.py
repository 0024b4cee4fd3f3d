"""The real server: ``creditfactory serve`` on uvicorn in a child process, and the demo hook."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from sqlalchemy import select

from creditfactory.api import service_demo
from creditfactory.api._demo import _jsonable
from creditfactory.data import SimulationConfig, simulate
from creditfactory.decision import Strategy

KEY = "cf-test-admin-3Jq8ZrVx5TmW2pLk"  # a bootstrap key must be strong


@pytest.mark.slow
def test_service_demo_runs_the_real_server(tmp_path: Path, strategy_yaml: str) -> None:
    strategy = tmp_path / "strategy.yaml"
    strategy.write_text(strategy_yaml, encoding="utf-8")
    apps = pl.from_pandas(simulate(SimulationConfig(n_applications=200, seed=2)).applications)
    rows = apps.head(5).to_dicts()
    result = service_demo(strategy, rows, tmp_path)
    assert result["url"].startswith("http://127.0.0.1:")
    expected = "process" if (os.cpu_count() or 1) >= 2 and os.name == "posix" else "in-process"
    assert result["engine"] == expected  # serve's default
    assert [d["status"] for d in result["decisions"]] == [201] * 5
    # the decisions the strategy gives offline, on the same rows
    offline = Strategy.from_yaml(strategy_yaml)
    expected = [offline.decide(_jsonable(r)) for r in rows]
    got = result["decisions"]
    assert [d["decision"] for d in got] == [e.decision for e in expected]
    assert [d["reasons"] for d in got] == [e.reasons for e in expected]
    assert [d["limit"] for d in got] == [e.limit for e in expected]
    assert [d["external_id"] for d in result["decisions"]] == apps["application_id"].head(
        5
    ).to_list()
    assert result["retry_status"] == 200
    assert result["retry_same_decision"] is True
    assert result["ledger"]["ok"] is True
    assert result["ledger"]["checked"] == 1 + 2 + 5
    assert result["stopped_cleanly"] is True
    assert (tmp_path / "service.db").exists()
    # the demo runs hardened: identifiers encrypted, the ledger head anchored outside the database
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("service.db*"))
    assert all(str(r["id_number"]).encode() not in stored for r in rows)
    assert (tmp_path / "anchors.jsonl").read_text(encoding="utf-8").count("\n") >= 1
    again = service_demo(strategy, rows[:2], tmp_path)  # a second run in the same folder
    assert [d["status"] for d in again["decisions"]] == [201, 201]
    assert again["ledger"]["checked"] == 1 + 2 + 2


def test_bootstrap_with_the_reference_strategy(tmp_path: Path) -> None:
    """A strategy file with relative model and list files activates at start-up and decides."""
    from fastapi.testclient import TestClient

    from creditfactory.api import Settings, create_app

    reference = Path(__file__).resolve().parents[2] / "examples" / "strategies" / "reference.yaml"
    if not reference.exists():
        pytest.skip("examples/strategies/reference.yaml is not in this checkout")
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'ref.db'}", admin_key=KEY, strategy=reference
    )
    app = create_app(settings)
    row = simulate(SimulationConfig(n_applications=50, seed=4)).applications.iloc[0].to_dict()
    body = {k: (None if v != v else v) for k, v in row.items() if k != "applied_at"}
    with TestClient(app) as client:
        r = client.post("/v1/applications", json=body, headers={"X-API-Key": KEY})
        assert r.status_code == 201, r.text
        assert r.json()["strategy"] == "reference"
        offline = Strategy.load(reference).decide(body)  # the same file, decided in-process
        assert (r.json()["decision"], r.json()["reasons"]) == (offline.decision, offline.reasons)
    app.state.store.dispose()
    again = create_app(settings)  # a restart finds it active and compiles it again
    with TestClient(again) as client:
        assert (
            client.post("/v1/applications", json=body, headers={"X-API-Key": KEY}).status_code
            == 201
        )
    again.state.store.dispose()


@pytest.mark.slow
def test_several_workers_share_the_store_and_the_ledger(
    db_url: str, tmp_path: Path, strategy_yaml: str, good_application: dict[str, Any]
) -> None:
    """``serve --workers 2``: migrated and bootstrapped once, then both processes decide, and
    every decision is stored once under one unbroken ledger (SQLite and PostgreSQL)."""
    import json
    import urllib.request

    from creditfactory.api import start_server
    from creditfactory.store import Application, Store, verify

    strategy = tmp_path / "strategy.yaml"
    strategy.write_text(strategy_yaml, encoding="utf-8")
    env = {
        "CREDITFACTORY_DATABASE_URL": db_url, "CREDITFACTORY_ADMIN_KEY": KEY,
        "CREDITFACTORY_STRATEGY": str(strategy), "CREDITFACTORY_QC_RATE": "0.2",
    }  # fmt: skip
    n = 60
    with start_server(env=env, workers=2) as server:

        def post(i: int) -> int:
            body = json.dumps({**good_application, "application_id": f"W{i}"}).encode()
            request = urllib.request.Request(
                f"{server.url}/v1/applications", data=body, method="POST",
                headers={"X-API-Key": KEY, "Content-Type": "application/json"},
            )  # fmt: skip
            with urllib.request.urlopen(request, timeout=30) as answer:
                return int(answer.status)

        with ThreadPoolExecutor(12) as pool:
            codes = list(pool.map(post, range(n)))
        assert "2 workers" in server.output()
    assert codes == [201] * n
    store = Store(db_url)
    try:
        with store.session() as s:
            stored = [a.external_id for a in s.execute(select(Application)).scalars()]
            report = verify(s)
    finally:
        store.dispose()
    assert sorted(stored) == sorted(f"W{i}" for i in range(n))
    assert report.ok, report


def test_workers_need_processes_and_a_shared_database() -> None:
    from creditfactory.api import Settings, serve
    from creditfactory.exceptions import ConfigError

    with pytest.raises(ConfigError, match="workers: 0 is not a number of processes"):
        serve(Settings(database_url="sqlite://"), workers=0)
    with pytest.raises(ConfigError, match="in-memory SQLite database cannot be shared"):
        serve(Settings(database_url="sqlite://"), workers=2)


@pytest.mark.slow
@pytest.mark.parametrize("engine_process", [True, False], ids=["engine", "one-process"])
def test_serve_decides_where_it_is_told(
    tmp_path: Path, strategy_yaml: str, good_application: dict[str, Any], engine_process: bool
) -> None:
    """``serve --engine-process`` / ``--no-engine-process``: ``/health`` says where decisions
    are made, the server's child processes agree, and either way the application is decided."""
    import json
    import urllib.request

    import psutil

    from creditfactory.api import start_server

    strategy = tmp_path / "strategy.yaml"
    strategy.write_text(strategy_yaml, encoding="utf-8")
    env = {
        "CREDITFACTORY_DATABASE_URL": f"sqlite:///{tmp_path / 's.db'}",
        "CREDITFACTORY_ADMIN_KEY": KEY, "CREDITFACTORY_STRATEGY": str(strategy),
    }  # fmt: skip
    with start_server(env=env, engine_process=engine_process) as server:
        with urllib.request.urlopen(f"{server.url}/health", timeout=10) as answer:
            health = json.loads(answer.read())
        children = psutil.Process(server.process.pid).children()
        request = urllib.request.Request(
            f"{server.url}/v1/applications", data=json.dumps(good_application).encode(),
            method="POST", headers={"X-API-Key": KEY, "Content-Type": "application/json"},
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=30) as answer:
            status = answer.status
    assert health["engine"] == ("process" if engine_process else "in-process")
    assert len(children) == (1 if engine_process else 0)
    assert status == 201
