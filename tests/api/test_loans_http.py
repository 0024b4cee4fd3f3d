"""Payments posted concurrently over real HTTP (``creditfactory serve``, two workers, twelve
client threads) are posted exactly once each: never lost, never twice (SQLite, PostgreSQL)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from creditfactory.api import start_server
from creditfactory.store import LoanPayment, Store, verify

KEY = "cf-test-admin-3Jq8ZrVx5TmW2pLk"


def call(url: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), method="POST",
        headers={"X-API-Key": KEY, "Content-Type": "application/json", **(headers or {})},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return int(answer.status), json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.mark.slow
def test_concurrent_payments_over_http_are_posted_once(
    db_url: str, tmp_path: Path, strategy_yaml: str, good_application: dict[str, Any]
) -> None:
    strategy = tmp_path / "strategy.yaml"
    strategy.write_text(strategy_yaml, encoding="utf-8")
    env = {"CREDITFACTORY_DATABASE_URL": db_url, "CREDITFACTORY_ADMIN_KEY": KEY,
           "CREDITFACTORY_STRATEGY": str(strategy)}  # fmt: skip
    start = date.today() - timedelta(days=90)
    n_keys, copies = 20, 3
    with start_server(env=env, workers=2, engine_process=False, timeout=240) as server:
        code, decided = call(f"{server.url}/v1/applications", good_application)
        assert code == 201, decided
        code, loan = call(f"{server.url}/v1/loans", {"decision_id": decided["decision_id"],
                          "amount": 9000, "disbursed_on": start.isoformat()})  # fmt: skip
        assert code == 201, loan
        url = f"{server.url}/v1/loans/{loan['id']}/payments"

        def post(i: int) -> tuple[int, int, int]:
            k = i % n_keys
            body = {"amount": 100 + k, "paid_on": (start + timedelta(days=k)).isoformat()}
            status, out = call(url, body, {"Idempotency-Key": f"pay-{k}"})
            return k, status, out["payment"]["id"] if status < 300 else -1

        with ThreadPoolExecutor(12) as pool:
            results = list(pool.map(post, range(n_keys * copies)))
    by_key: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for k, status, pid in results:
        by_key[k].append((status, pid))
    for k, got in by_key.items():
        assert sorted(s for s, _ in got) == [200] * (copies - 1) + [201], (k, got)
        assert len({pid for _, pid in got}) == 1, (k, got)  # every answer names the same payment
    store = Store(db_url)
    try:
        with store.session() as s:
            rows = s.execute(select(func.count(), func.sum(LoanPayment.amount))).one()
            report = verify(s)
    finally:
        store.dispose()
    assert tuple(rows) == (n_keys, sum((100 + k) * 100 for k in range(n_keys)))
    assert report.ok, report
