"""The fraud history in the service: what an online decision's fraud features cost through the
factory, what a restart costs, and what the alternative (answering from store queries) would.

* the factory (SQLite store, list secret and PII key set, the fraud test strategy of
  ``tests/factory/test_fraud_source.py``) decides applications one per batch, in arrival order:
  thread CPU per ``Factory.decide``, with the tail of other processes' fraud links (one
  indexed range query a batch) and without it;
* a restarted factory's first decision reads every stored link: thread CPU per stored
  application;
* the alternative: the eight velocity families as indexed range queries over a links table of
  ``N_LINKS`` rows (one statement per family, the four windows as conditional aggregates), on
  SQLite and, when it answers, the PostgreSQL of the tests (thread CPU of the client and wall).

CPU time, because the machine is shared: wall times are several times an idle machine's.
"""

from __future__ import annotations

import math
import random
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa

from creditfactory.data import SimulationConfig, simulate
from creditfactory.factory import Decide, Factory, FactoryConfig
from creditfactory.store import Store, activate, add_strategy, new_key

ROOT = Path(__file__).resolve().parents[1]
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
N_LINKS = 20_000
FAMILIES = (
    ("device", None), ("device", "id_number"), ("phone", "id_number"), ("id_number", "device"),
    ("ip", None), ("address", None), ("address", "customer"), ("subnet", "customer"),
)  # fmt: skip
WINDOWS = (3_600, 86_400, 7 * 86_400, 30 * 86_400)


def _strategy() -> str:
    text = (ROOT / "tests" / "factory" / "test_fraud_source.py").read_text(encoding="utf-8")
    return text.split('STRATEGY = """')[1].split('"""')[0]


def _json(row: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in row.items():
        if isinstance(v, float) and math.isnan(v):
            v = None
        elif isinstance(v, pd.Timestamp):
            v = v.isoformat()
        out[k] = v
    return out


def _p50(ns: list[int]) -> float:
    return sorted(ns)[len(ns) // 2] / 1e3


def factory_costs(n: int) -> dict[str, float]:
    apps = simulate(SimulationConfig(n_applications=n + 800, seed=4)).applications
    rows = [_json(r) for r in apps.sort_values("applied_at", kind="stable").to_dict("records")]
    url = f"sqlite:///{tempfile.mkdtemp()}/cf.db"
    store = Store(url)
    store.migrate()
    with store.session() as s:
        activate(s, add_strategy(s, _strategy(), "bench").id, "bench")
    config = FactoryConfig(url, list_secret="bench", pii_key=new_key("k1"), cache_seconds=600)
    clock = time.thread_time_ns

    def decide(factory: Factory, part: list[dict[str, Any]]) -> list[int]:
        cpu = []
        for i, r in enumerate(part):
            t = clock()
            out = factory.decide([Decide(i, r, "bench")])
            cpu.append(clock() - t)
            if isinstance(out[0], Exception):
                raise out[0]
        return cpu

    first = Factory(config, store)
    decide(first, rows[:n])
    first.close()
    again = Factory(config, store)
    t = clock()
    decide(again, rows[n : n + 1])
    warm = (clock() - t) / n / 1e3
    tail = decide(again, rows[n + 1 : n + 401])
    again.fraud_links.wanted = False  # the strategy still asks: only the tail is off
    again._active = (time.monotonic(), *again._active[1:])  # type: ignore[misc]
    untailed = decide(again, rows[n + 401 : n + 801])
    again.close()
    store.dispose()
    return {
        "factory_cpu_p50_us": _p50(tail),
        "factory_cpu_p50_us_no_tail": _p50(untailed),
        "restart_cpu_us_per_stored": warm,
    }


def query_costs(url: str, schema: str | None = None) -> dict[str, float]:
    engine = sa.create_engine(url)
    rnd = random.Random(1)
    mark = "%s" if schema else "?"
    cols = ("seq", "t", "customer", "device", "phone", "id_number", "ip", "subnet", "address")
    rows = [
        (i, 1_700_000_000 + i * 60, *(f"{c}{rnd.randrange(N_LINKS)}" for c in cols[2:]))
        for i in range(N_LINKS)
    ]
    with engine.begin() as c:
        if schema:
            c.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
            c.exec_driver_sql(f'SET search_path TO "{schema}"')
        c.exec_driver_sql(
            "CREATE TABLE fl (seq bigint primary key, t bigint, customer text, device text, "
            "phone text, id_number text, ip text, subnet text, address text)"
        )
        c.exec_driver_sql(f"INSERT INTO fl VALUES ({', '.join([mark] * 9)})", rows)
        for col in ("device", "phone", "id_number", "ip", "subnet", "address"):
            c.exec_driver_sql(f"CREATE INDEX ix_{col} ON fl ({col}, t)")
    raw = engine.raw_connection()
    cur = raw.cursor()
    if schema:
        cur.execute(f'SET search_path TO "{schema}"')
    statements = []
    for key, other in FAMILIES:
        wins = ", ".join(
            f"sum(CASE WHEN t > {mark} - {w} THEN 1 ELSE 0 END)"
            if other is None
            else f"count(DISTINCT CASE WHEN t > {mark} - {w} THEN {other} END)"
            for w in WINDOWS
        )
        where = f"{key} = {mark} AND t > {mark} - {WINDOWS[-1]} AND t <= {mark}"
        statements.append((cols.index(key), f"SELECT {wins} FROM fl WHERE {where}"))
    cpu, wall = [], []
    for _ in range(500):
        row = rows[rnd.randrange(N_LINKS)]
        t = row[1] + 1
        c0, w0 = time.thread_time_ns(), time.perf_counter_ns()
        for k, stmt in statements:
            cur.execute(stmt, (t, t, t, t, row[k], t, t))
            cur.fetchall()
        cpu.append(time.thread_time_ns() - c0)
        wall.append(time.perf_counter_ns() - w0)
    raw.rollback()
    raw.close()
    if schema:
        with engine.begin() as c:
            c.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    engine.dispose()
    return {"cpu_p50_us": _p50(cpu), "wall_p50_us": _p50(wall)}


def run(quick: bool = False) -> dict:
    n = 1_000 if quick else 3_000
    f = factory_costs(n)
    lite = query_costs(f"sqlite:///{tempfile.mkdtemp()}/q.db")
    metrics = {**f, "query_sqlite_cpu_p50_us": lite["cpu_p50_us"]}
    table = [
        ["measure", "CPU p50 (us)", "note"],
        ["factory, one application a batch", f"{f['factory_cpu_p50_us']:.0f}", "with the tail"],
        ["the same without the tail", f"{f['factory_cpu_p50_us_no_tail']:.0f}", ""],
        ["restart, per stored application", f"{f['restart_cpu_us_per_stored']:.0f}", f"{n:,}"],
        ["velocity by 8 store queries, SQLite", f"{lite['cpu_p50_us']:.0f}", "per decision"],
    ]
    try:
        pg = query_costs(PG_URL, schema=f"bench_fraud_{uuid.uuid4().hex[:8]}")
    except Exception as exc:
        table.append(["velocity by 8 store queries, PostgreSQL", "-", type(exc).__name__])
    else:
        metrics |= {
            "query_pg_cpu_p50_us": pg["cpu_p50_us"],
            "query_pg_wall_p50_us": pg["wall_p50_us"],
        }
        table.append(
            ["velocity by 8 store queries, PostgreSQL", f"{pg['cpu_p50_us']:.0f}",
             f"wall p50 {pg['wall_p50_us']:.0f} us"]
        )  # fmt: skip
    return {
        "name": "fraud_store",
        "metrics": metrics,
        "table": table,
        "notes": (
            "fraud features in the service: per decision through the factory (thread CPU), a "
            "restart's reading of the stored links, and the store-query alternative's velocity "
            f"counts over {N_LINKS:,} links (see the module's docstring)"
        ),
    }
