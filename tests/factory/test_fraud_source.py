"""Fraud features in the service: the factory's fraud source decides a strategy's provided fraud
inputs as the batch does over the same history, and a restarted factory picks the history up
from the store (identifiers stored encrypted, read back through the PII key)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pandas as pd
import polars as pl
import pytest

from creditfactory.data import SimulationConfig, simulate
from creditfactory.decision import Strategy
from creditfactory.factory import Decide, Factory, FactoryConfig, Outcome
from creditfactory.store import Application, Store, activate, add_strategy, new_key

STRATEGY = """
strategy: fraudy
version: "1"
inputs:
  application_id: str
  id_valid: {type: bool, provided: "fraud:id_valid"}
  ring_size: {type: int, provided: "fraud:ring_size"}
  ring_burst: {type: int, provided: "fraud:ring_burst"}
  fraud_flag: {type: bool, provided: "fraud:fraud_flag"}
flow:
  - rules:
      name: fraud
      rules:
        - {name: forged, when: "not id_valid", action: decline, reason: FR_ID_INVALID}
        - {name: ring, when: "fraud_flag and ring_burst >= 3", action: decline, reason: FR_RING}
        - {name: flag, when: "fraud_flag", action: refer, reason: FR_FLAG}
        - {name: linked, when: "ring_size >= 2", action: refer, reason: FR_LINKED}
"""
PII_KEY = new_key("k1")


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = Store(db_url)
    s.migrate()
    with s.session() as session:
        activate(session, add_strategy(session, STRATEGY, "ana").id, "boss")
    yield s
    s.dispose()


def _factory(store: Store) -> Factory:
    config = FactoryConfig(
        str(store.engine.url), list_secret="list-secret", pii_key=PII_KEY, cache_seconds=60
    )
    return Factory(config, store)


def _json(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in row.items():
        if isinstance(v, float) and math.isnan(v):
            v = None
        elif isinstance(v, pd.Timestamp):
            v = v.isoformat()
        out[k] = v
    return out


def _decide(factory: Factory, apps: list[dict[str, Any]]) -> list[Any]:
    outs = factory.decide([Decide(i, a, "c") for i, a in enumerate(apps)])
    for out in outs:
        assert isinstance(out, Outcome), out
    return [o.decision for o in outs]


def test_the_service_decides_fraud_inputs_as_the_batch_and_warms_after_a_restart(
    store: Store,
) -> None:
    apps = simulate(SimulationConfig(n_applications=1_500, seed=21)).applications
    apps = apps.sort_values("applied_at", kind="stable").reset_index(drop=True)
    rows = [_json(r) for r in apps.to_dict("records")]
    half = len(rows) // 2
    first = _factory(store)
    online = _decide(first, rows[:half])
    first.close()
    with store.session() as s:  # identifiers are not stored in clear
        stored = s.query(Application).first()
        assert stored is not None
        assert stored.payload["id_number"].startswith("pii:v1:k1:")
    second = _factory(store)  # a restart: the history comes back from the store
    online += _decide(second, rows[half:])
    assert second.fraud.seen == len(rows)
    second.close()
    batch = Strategy.from_yaml(STRATEGY).decide_batch(pl.from_pandas(apps))
    assert [d.decision for d in online] == batch["decision"].to_list()
    assert [d.reasons for d in online] == batch["reasons"].to_list()
    # the history matters: without it, the second half would see no links to the first
    fresh = _factory(store)
    fresh._fraud_warm = True  # a factory that skipped the warm-up
    cold = _decide(fresh, [{**r, "application_id": r["application_id"] + "x"} for r in rows[half:]])
    fresh.close()
    linked = ["FR_LINKED" in d.reasons for d in online[half:]]
    assert sum("FR_LINKED" in d.reasons for d in cold) < sum(linked)
