"""Fraud features in the service: the factory's fraud source decides a strategy's provided fraud
inputs as the batch does over the same history, a restarted factory picks the history up from
the store's fraud links (keyed hashes, never clear identifiers), and several factories — engine
processes — on one store each see every application the others decided."""

from __future__ import annotations

import math
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pandas as pd
import polars as pl
import pytest

from creditfactory.data import SimulationConfig, simulate
from creditfactory.decision import Strategy
from creditfactory.factory import Decide, Factory, FactoryConfig, Outcome
from creditfactory.store import (
    Application,
    FraudLink,
    Store,
    activate,
    add_strategy,
    new_key,
)

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


def _factory(store: Store, list_secret: str | None = "list-secret") -> Factory:
    config = FactoryConfig(
        str(store.engine.url), list_secret=list_secret, pii_key=PII_KEY, cache_seconds=60
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
    # the history matters: without it (no list secret: no links stored or read), the second
    # half would see no links to the first
    fresh = _factory(store, list_secret=None)
    cold = _decide(fresh, [{**r, "application_id": r["application_id"] + "x"} for r in rows[half:]])
    fresh.close()
    linked = ["FR_LINKED" in d.reasons for d in online[half:]]
    assert sum("FR_LINKED" in d.reasons for d in cold) < sum(linked)


IDS = ("11010519491231002X", "440106196211290339", "130602199812089510")


def _app(i: int, device: str, **more: Any) -> dict[str, Any]:
    return {
        "application_id": f"X{i}", "applied_at": f"2024-03-01T10:{i:02d}:00",
        "customer_id": f"C{i}", "id_number": IDS[i % 3], "device_id": device, **more,
    }  # fmt: skip


def test_two_factories_on_one_store_see_each_others_applications(store: Store) -> None:
    """Two engine processes (two factories: each its own history in memory) on one store: an
    application decided by one counts for the other's next decision."""
    one, two = _factory(store), _factory(store)
    try:
        assert _decide(one, [_app(1, "D1")])[0].decision == "approve"
        second = _decide(two, [_app(2, "D1")])[0]  # the same device, decided elsewhere
        assert second.reasons == ["FR_LINKED"]  # ring_size 2
        third = _decide(one, [_app(3, "D1")])[0]  # and back: the first sees the second's
        assert third.decision == "decline"
        assert third.reasons == ["FR_RING", "FR_FLAG", "FR_LINKED"]  # a burst of three
        # each application is in each history once (its own is not read back twice)
        assert one.fraud_links.catch_up() == 0
        assert two.fraud_links.catch_up() == 1
        assert one.fraud.seen == two.fraud.seen == 3
    finally:
        one.close()
        two.close()
    with store.session() as s:  # only keyed hashes are stored
        links = s.query(FraudLink).order_by(FraudLink.seq).all()
        assert len(links) == 3
        assert len({link.device for link in links}) == 1
        assert all(link.device != "D1" and len(link.device or "") == 32 for link in links)


def test_factories_taking_turns_decide_as_the_batch(store: Store) -> None:
    """Online == batch across processes: a simulated history decided by two factories in turn
    (batches of random size) gives the batch's decisions over the whole history."""
    apps = simulate(SimulationConfig(n_applications=600, seed=8)).applications
    apps = apps.sort_values("applied_at", kind="stable").reset_index(drop=True)
    rows = [_json(r) for r in apps.to_dict("records")]
    factories = [_factory(store), _factory(store)]
    online: list[Any] = []
    start, turn = 0, 0
    sizes = [1, 7, 3, 20, 2, 50]
    while start < len(rows):
        size = sizes[turn % len(sizes)]
        online += _decide(factories[turn % 2], rows[start : start + size])
        start += size
        turn += 1
    for f in factories:
        f.close()
    batch = Strategy.from_yaml(STRATEGY).decide_batch(pl.from_pandas(apps))
    assert [d.reasons for d in online] == batch["reasons"].to_list()
    assert sum("FR_LINKED" in d.reasons or "FR_RING" in d.reasons for d in online) > 10


def test_an_application_decided_in_another_process_counts(store: Store, tmp_path: Any) -> None:
    """A real second process (its own interpreter) decides on the same store."""
    script = tmp_path / "other.py"
    script.write_text(
        "import sys\n"
        "from creditfactory.factory import Decide, Factory, FactoryConfig\n"
        "from creditfactory.store import Store\n"
        "store = Store(sys.argv[1])\n"
        "f = Factory(FactoryConfig(sys.argv[1], list_secret='list-secret', cache_seconds=60),"
        " store)\n"
        "app = {'application_id': 'P1', 'applied_at': '2024-03-01T10:00:00',"
        " 'customer_id': 'C1', 'id_number': '11010519491231002X', 'device_id': 'D9'}\n"
        "out = f.decide([Decide(0, app, 'c')])[0]\n"
        "assert out.decision.decision == 'approve', out\n"
        "f.close(); store.dispose()\n",
        encoding="utf-8",
    )
    url = store.engine.url.render_as_string(hide_password=False)
    subprocess.run([sys.executable, str(script), url], check=True, timeout=120)
    here = _factory(store)
    try:
        mine = _decide(here, [{**_app(2, "D9"), "customer_id": "C2"}])[0]
    finally:
        here.close()
    assert mine.reasons == ["FR_LINKED"]
