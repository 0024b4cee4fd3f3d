"""List screening's cost: decisions per second of ``Factory.decide`` (what the engine
process calls with the requests that arrived together) with 0, 1 and 100,000 hashed list
entries, on SQLite (a file) and PostgreSQL (when reachable, a schema of its own).

The strategy's lists step checks both fields every application carries (phone, ID number)
against the blacklist and the greylist (issue 13: lists are a strategy step, looked up through
the factory's provider); each run decides the same
applications in batches of 64 (an engine behind 64 clients), with persistence and the audit
ledger on. Target (issue 10): with 100,000 entries at most a few per cent below no lists.
Every list size is timed alike (:data:`PROTOCOL`, through ``benchmarks._common.measure``): one
pass of warm-up, then the best of three passes, each pass with fresh application ids.
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from benchmarks._common import Contender, Protocol, measure

STRATEGY = """
strategy: lists_bench
version: "1"
key: application_id
inputs:
  application_id: str
  id_number: str
  phone: str
  age: {type: int, min: 18, max: 100}
  monthly_income: {type: float, min: 0, max: 10000000}
  inquiries_3m: {type: int, min: 0, max: 1000}
lists:
  blacklist: {provided: true}
  greylist: {provided: true}
flow:
  - lists:
      name: service_lists
      checks:
        - {field: id_number, list: blacklist, action: decline, reason: LIST_BLACKLIST_ID_NUMBER}
        - {field: phone, list: blacklist, action: decline, reason: LIST_BLACKLIST_PHONE}
        - {field: id_number, list: greylist, action: refer, reason: LIST_GREYLIST_ID_NUMBER}
        - {field: phone, list: greylist, action: refer, reason: LIST_GREYLIST_PHONE}
  - rules:
      name: knockouts
      rules:
        - {name: low_income, when: "monthly_income < 3000", action: decline, reason: KO_INCOME}
        - {name: shopping, when: "inquiries_3m >= 4", action: refer, reason: RF_INQUIRIES}
  - assign:
      name: offer
      set:
        limit: "min(monthly_income * 3, 50000)"
        apr: "0.15"
        term: "12"
"""
SECRET = "bench-list-secret"
PROTOCOL = Protocol(warmup=1, repeat=3)


def contender(entries: int) -> Contender:
    """The contender for a list of ``entries`` hashed entries (all of one group, one protocol)."""
    return Contender(f"{entries:,} entries", "lists", "Factory.decide", PROTOCOL)


PG_URL = os.environ.get(
    "CREDITFACTORY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _pg_schema() -> tuple[str, Any] | None:
    """A URL to a fresh PostgreSQL schema and a function dropping it, or None."""
    try:
        import psycopg

        dsn = PG_URL.replace("postgresql+psycopg://", "postgresql://")
        schema = f"cf_bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(dsn, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
    except Exception:  # no server: SQLite only
        return None

    def drop() -> None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')

    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options=-csearch_path%3D{schema}", drop


def _apps(n: int, tag: str) -> list[dict[str, Any]]:
    return [
        {
            "application_id": f"{tag}-{i}",
            "id_number": f"1101011990{i:08d}",
            "phone": f"138{i:08d}",
            "age": 35,
            "monthly_income": 10000.0,
            "inquiries_3m": i % 5,
        }
        for i in range(n)
    ]


def _rate(url: str, entries: int, n: int, batch: int = 64) -> tuple[float, float]:
    """Decisions per second with ``entries`` list entries, and this process's CPU microseconds
    per decision (best of three passes each; the CPU figure is the steadier on a busy
    machine, and on SQLite it is all the work)."""
    from creditfactory.factory import Decide, Factory, FactoryConfig
    from creditfactory.store import Store, activate, add_list_entries, add_strategy

    store = Store(url)
    store.migrate()
    try:
        with store.session() as s:
            activate(s, add_strategy(s, STRATEGY, "bench").id, "bench")
        step = 20_000
        for start in range(0, entries, step):  # phones nobody applies with
            with store.session() as s:
                values = [f"150{i:08d}" for i in range(start, min(entries, start + step))]
                add_list_entries(s, SECRET, "blacklist", "phone", values, "bench")
        service = Factory(FactoryConfig(url, list_secret=SECRET), store)
        try:
            # fresh ids for every pass (no idempotent replays), made before timing
            passes = iter([_apps(n, f"run{k}") for k in range(PROTOCOL.warmup + PROTOCOL.repeat)])
            cpus: list[float] = []

            def one_pass() -> None:
                apps = next(passes)
                c0 = time.process_time()
                for i in range(0, n, batch):
                    chunk = apps[i : i + batch]
                    service.decide([Decide(i + k, a, "b") for k, a in enumerate(chunk)])
                cpus.append((time.process_time() - c0) / n * 1e6)

            timing = measure(contender(entries), one_pass)
            # the warm-up pass's CPU is not counted
            return n / timing.seconds, min(cpus[PROTOCOL.warmup :])
        finally:
            service.close()
    finally:
        store.dispose()


def run(quick: bool = False) -> dict[str, Any]:
    n = 1_000 if quick else 5_000
    big = 10_000 if quick else 100_000
    sizes = [0, 1, big]
    metrics: dict[str, float] = {}
    table: list[list[Any]] = [
        ["database", *[f"{s:,} entries: dec/s (CPU us/dec)" for s in sizes], "ratio (CPU)"]
    ]
    with tempfile.TemporaryDirectory() as tmp:
        databases: list[tuple[str, Any]] = [
            ("sqlite", lambda k: (f"sqlite:///{Path(tmp) / f'lists{k}.db'}", None))
        ]
        if _pg_schema_available():
            databases.append(("pg", lambda k: _pg_schema()))
        for label, make in databases:
            rates = []
            for k, size in enumerate(sizes):
                url, drop = make(k)
                try:
                    rates.append(_rate(url, size, n))
                finally:
                    if drop is not None:
                        drop()
            ratio = rates[-1][0] / rates[0][0]
            cpu_ratio = rates[0][1] / rates[-1][1]
            for size, (rate, cpu) in zip(sizes, rates, strict=True):
                metrics[f"{label}_{size}_entries_per_s"] = round(rate, 1)
                metrics[f"{label}_{size}_entries_cpu_us"] = round(cpu, 1)
            metrics[f"ratio_{label}"] = round(ratio, 3)
            metrics[f"cpu_ratio_{label}"] = round(cpu_ratio, 3)
            table.append(
                [label, *[f"{r:,.0f} ({c:.0f})" for r, c in rates],
                 f"{ratio:.3f} ({cpu_ratio:.3f})"]
            )  # fmt: skip
    return {
        "name": "lists",
        "metrics": metrics,
        "table": table,
        "notes": (
            f"Factory.decide, {n:,} applications in batches of 64 (best of three "
            f"passes), each with a listed phone and ID number, against 0, 1 and {big:,} hashed "
            "blacklist entries; ratio = decisions/s with the most entries / with none; CPU = "
            "this process's CPU time per decision (the database server's not included), its "
            "ratio = CPU per decision with none / with the most entries"
        ),
    }


def _pg_schema_available() -> bool:
    found = _pg_schema()
    if found is None:
        return False
    found[1]()
    return True


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(run(quick="--quick" in sys.argv), indent=2))
