"""The real server: ``creditfactory serve`` on uvicorn in a child process, and the demo hook."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from creditfactory.api import service_demo
from creditfactory.data import SimulationConfig, simulate


@pytest.mark.slow
def test_service_demo_runs_the_real_server(tmp_path: Path, strategy_yaml: str) -> None:
    strategy = tmp_path / "strategy.yaml"
    strategy.write_text(strategy_yaml, encoding="utf-8")
    apps = pl.from_pandas(simulate(SimulationConfig(n_applications=200, seed=2)).applications)
    rows = apps.head(5).to_dicts()
    result = service_demo(strategy, rows, tmp_path)
    assert result["url"].startswith("http://127.0.0.1:")
    assert [d["status"] for d in result["decisions"]] == [201] * 5
    assert {d["decision"] for d in result["decisions"]} <= {"approve", "decline", "refer"}
    assert [d["external_id"] for d in result["decisions"]] == apps["application_id"].head(
        5
    ).to_list()
    assert result["retry_status"] == 200
    assert result["retry_same_decision"] is True
    assert result["ledger"]["ok"] is True
    assert result["ledger"]["checked"] == 1 + 2 + 5
    assert result["stopped_cleanly"] is True
    assert (tmp_path / "service.db").exists()
