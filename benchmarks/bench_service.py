"""The decision service over HTTP, and the batch factory end to end.

HTTP: ``creditfactory serve`` (uvicorn, one worker) on 127.0.0.1 with persistence and the audit
ledger on (SQLite file in WAL mode; PostgreSQL too when reachable), loaded by wrk (one thread, N
keep-alive connections, a Lua script cycling through the simulated applications; ``make bench``
installs it when run as root) or, without wrk, by a small keep-alive HTTP/1.1 generator here
(asyncio sockets, one process) posting the same applications. The service runs in both of its
configurations on each database: with the decision engine in a process of its own beside the HTTP
front (``CREDITFACTORY_ENGINE_PROCESS=true``; the default on 2+ CPUs) and in one process
(``=false``), each set explicitly, so that a row is what its label says whatever the machine.
Baseline, same run, same generator, same payloads: a bare FastAPI endpoint on the same uvicorn,
written the way our endpoint is (``async def`` taking the ``Request``, ``await request.body()``,
``json.loads``, a plain ``Response`` of bytes with status 201: no pydantic validation of the
body or of the answer) that answers a constant. A second reference, clearly labelled and not
the ratio's baseline: the same endpoint written the common slow way (the body parsed through
``Body(...)`` into ``dict[str, Any]``, a dict returned and serialised by FastAPI). Every server
(contender, :data:`CONTENDERS`) gets the same protocol: started anew in each of two rounds, a
1-second load of warm-up, then one measured load; its better round counts (requests/s the
higher, CPU per request the lower). Target (issue 5): service decisions/s at least 0.5x the bare
endpoint's requests/s. All servers run on uvicorn's defaults (one worker, asyncio loop, h11).
Beside requests/s, each server's CPU time per request is measured (its process and the processes
it started, i.e. the HTTP front and its engine process together, all threads): on a shared
machine it is the steadier comparison, and it shows what the second process costs; the key
figure is the service's CPU per decision over the bare endpoint's CPU per request.

The metrics without a suffix (``ratio_sqlite``, ``cpu_ratio_pg``, ``service_sqlite_rps`` ...)
are the default configuration, the engine process; the same names ending in ``_one_process`` are
the service in one process (and ``_c64`` follows for 64 clients).

Batch: ``decide_file`` on simulated applications (read Parquet, decide in chunks, write parts,
assemble the output Parquet), and the cost of resuming after a kill half-way: the resumed run's
time against a full run's.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from benchmarks._common import Contender, Protocol, check_contenders, measure, warm_run
from creditfactory.api import free_port, start_server
from creditfactory.data import SimulationConfig, simulate

STRATEGY = """
strategy: bench
version: "1"
key: application_id
inputs:
  application_id: str
  id_number: str
  phone: {type: str, nullable: true}
  age: {type: int, min: 18, max: 100}
  monthly_income: {type: float, min: 0}
  bureau_monthly_debt: {type: float, min: 0}
  inquiries_3m: {type: int, min: 0}
  delinquencies_24m: {type: int, min: 0}
  utilisation: {type: float, nullable: true}
  term_requested: {type: int, min: 1, max: 60}
params:
  multiple: 3
flow:
  - rules:
      name: knockouts
      rules:
        - {name: low_income, when: "monthly_income < 3000", action: decline, reason: KO_INCOME}
        - {name: debt, when: "bureau_monthly_debt > monthly_income * 0.6", action: decline, reason: KO_DTI}
        - {name: delinquent, when: "delinquencies_24m >= 3", action: decline, reason: KO_DELQ}
        - {name: maxed, when: "coalesce(utilisation, 0) > 1.2", action: refer, reason: RF_UTIL}
        - {name: shopping, when: "inquiries_3m >= 4", action: refer, reason: RF_INQUIRIES}
  - assign:
      name: offer
      set:
        limit: "min(monthly_income * multiple, 50000)"
        apr: "if(inquiries_3m >= 2, 0.21, 0.15)"
        term: "term_requested"
"""  # noqa: E501

# The baseline: the endpoint written as ours is (raw body, json.loads, a plain Response).
BARE = """
import json, sys
from fastapi import FastAPI, Request, Response
import uvicorn
ANSWER = json.dumps({"decision": "approve", "limit": 1000.0, "apr": 0.15, "reasons": []}).encode()
app = FastAPI()
@app.post("/v1/applications")
async def bare(request: Request) -> Response:
    json.loads(await request.body())
    return Response(ANSWER, 201, media_type="application/json")
@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}
if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""
# A second reference only: the common slow way (Body(...) into a dict, a dict answer).
BARE_BODY = """
import sys
from typing import Any
from fastapi import Body, FastAPI
import uvicorn
app = FastAPI()
@app.post("/v1/applications", status_code=201)
async def bare(application: dict[str, Any] = Body(...)) -> dict[str, Any]:
    return {"decision": "approve", "limit": 1000.0, "apr": 0.15, "reasons": []}
@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}
if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""

SERVER = Protocol(warmup=1, repeat=2)  # per round: one 1-s load untimed, one measured load
CONTENDERS = (
    Contender("bare FastAPI", "http", "raw request.body(), json.loads, Response(bytes)", SERVER),
    Contender(
        "bare FastAPI, Body(...) (second reference)",
        "http",
        "Body(...) into dict[str, Any], dict returned and validated by FastAPI",
        SERVER,
    ),
    Contender("service (engine process)", "http", "creditfactory serve --engine-process", SERVER),
    Contender("service (one process)", "http", "creditfactory serve --no-engine-process", SERVER),
)
check_contenders(CONTENDERS)
BY_NAME = {c.name: c for c in CONTENDERS}
# the batch factory has no peer here: the better of two full runs is what a resumed run is
# compared with
FACTORY = Contender(
    "decide_file", "factory", "batch.decide_file(strategy, parquet, out)", Protocol(0, 2)
)
BARE_SOURCES = {"bare FastAPI": BARE, "bare FastAPI, Body(...) (second reference)": BARE_BODY}

ADMIN = "cf-bench-admin-6Rk2Wq9Tz4Xm7Pv3"  # a bootstrap key must be strong
REFERENCE = Path(__file__).resolve().parents[1] / "examples" / "strategies" / "reference.yaml"


def strategy_file(tmp: Path) -> Path:
    """The reference strategy (scorecard, table, pricing) when it loads, else a small one."""
    from creditfactory.decision import Strategy

    try:
        Strategy.load(REFERENCE)
        return REFERENCE
    except Exception:  # not in this checkout, or not loadable: measure the small strategy
        path = tmp / "strategy.yaml"
        path.write_text(STRATEGY, encoding="utf-8")
        return path


class Applications:
    """Distinct simulated applications for the whole run: each request posts the next one.

    The service's fraud step answers an ``application_id`` it has seen from memory, and its
    history (velocity windows, linked groups) grows with every application; cycling a few
    thousand applications would measure repeats, not a stream of new ones. So the pool holds
    more applications than a run sends (all of one simulated book, in arrival order), and each
    database reads its own stream of them in order (:meth:`use`, called by the server started
    last), from its first request to its last, across rounds and client levels; the bare
    endpoints read a stream of their own. A stream that runs past the end starts again at the
    beginning and counts its repeats (:attr:`repeats`, in the notes; 0 when the pool was large
    enough). The request bytes are built once, before any load: the generator's work per
    request is taking the next one.
    """

    def __init__(self, rows: Iterable[dict[str, Any]], key: str):
        self.bodies = [json.dumps(r) for r in rows]
        self.key = key
        self._used: dict[str, int] = {}
        self.stream = "-"
        self._requests: list[bytes] | None = None

    def use(self, stream: str) -> None:
        """The loads from now on post the applications of ``stream`` (a database, or "-")."""
        self.stream = stream

    @property
    def repeats(self) -> dict[str, int]:
        """Requests of each database's stream that posted an application already posted."""
        n = len(self.bodies)
        return {s: max(0, used - n) for s, used in self._used.items() if s != "-"}

    def start(self) -> int:
        """Where the current stream goes on (an index into the pool)."""
        return self._used.get(self.stream, 0) % len(self.bodies)

    def advance(self, sent: int) -> None:
        """``sent`` more requests of the current stream were made."""
        self._used[self.stream] = self._used.get(self.stream, 0) + sent

    def requests(self) -> list[bytes]:
        """Every application as a whole HTTP/1.1 request (built once)."""
        if self._requests is None:
            out = []
            for body in self.bodies:
                raw = body.encode()
                head = (
                    "POST /v1/applications HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    f"Content-Type: application/json\r\nX-API-Key: {self.key}\r\n"
                    f"Content-Length: {len(raw)}\r\n\r\n"
                ).encode()
                out.append(head + raw)
            self._requests = out
        return self._requests


async def _worker(
    port: int,
    reqs: list[bytes],
    cursor: list[int],
    stop_at: float,
    lat: list[float],
    status: dict[int, int],
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < stop_at:
            t0 = time.perf_counter()
            writer.write(reqs[cursor[0] % len(reqs)])  # the next application of the stream
            cursor[0] += 1
            head = await reader.readuntil(b"\r\n\r\n")
            code = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            lat.append(time.perf_counter() - t0)
            status[code] = status.get(code, 0) + 1
    finally:
        writer.close()


def _cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU time of process ``pid`` and the processes it started (a decision
    engine) so far, all their threads; None without one."""
    if pid is None:
        return None
    import psutil

    proc = psutil.Process(pid)
    total = 0.0
    for p in [proc, *proc.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):
            used = p.cpu_times()
            total += used.user + used.system
    return total


def _ms_per_request(before: float | None, after: float | None, requests: int) -> float:
    """A server's CPU milliseconds per request between two readings (NaN without them)."""
    if before is None or after is None or not requests:
        return float("nan")
    return (after - before) / requests * 1000


def load(
    port: int, apps: Applications, seconds: float, connections: int, pid: int | None = None
) -> dict[str, float]:
    """Requests/s and latency percentiles of ``connections`` keep-alive clients posting the
    next applications of ``apps``' stream; with ``pid``, also the server's CPU time per request
    (user + system, all its threads), which the other jobs on a shared machine disturb much
    less than requests/s."""
    lat: list[float] = []
    status: dict[int, int] = {}
    reqs = apps.requests()
    start = apps.start()
    cursor = [start]
    cpu0 = _cpu_seconds(pid)

    async def main() -> float:
        t0 = time.perf_counter()
        stop_at = t0 + seconds
        await asyncio.gather(
            *[_worker(port, reqs, cursor, stop_at, lat, status) for _ in range(connections)]
        )
        return time.perf_counter() - t0

    wall = asyncio.run(main())
    apps.advance(cursor[0] - start)
    cpu_ms = _ms_per_request(cpu0, _cpu_seconds(pid), len(lat))
    a = np.array(lat) * 1000
    ok = sum(v for k, v in status.items() if 200 <= k < 300)
    return {
        "cpu_ms": cpu_ms,
        "rps": ok / wall,
        "p50_ms": float(np.percentile(a, 50)),
        "p99_ms": float(np.percentile(a, 99)),
        "requests": float(len(lat)),
        "errors": float(len(lat) - ok),
    }


_WRK_SCRIPT = """
-- each request posts the next line of the applications file, from the byte offset given
local threads = {}
setup = function(thread)
  table.insert(threads, thread)
end
init = function(args)
  file = assert(io.open("%s", "rb"))
  file:seek("set", tonumber(args[1]))
  sent = 0
end
request = function()
  local body = file:read("*l")
  if body == nil then
    file:seek("set", 0)
    body = file:read("*l")
  end
  sent = sent + 1
  return wrk.format("POST", "/v1/applications",
    {["Content-Type"] = "application/json", ["X-API-Key"] = "%s"}, body)
end
done = function(summary, latency, _)
  local sent = 0
  for _, thread in ipairs(threads) do
    sent = sent + thread:get("sent")
  end
  io.write(string.format("RESULT %%d %%d %%d %%d %%d %%d %%d\\n", summary.requests,
    summary.duration, latency:percentile(50), latency:percentile(99), summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    sent))
end
"""

Loader = Callable[[int, float, int, "int | None"], dict[str, float]]


def loader(apps: Applications, tmp: Path) -> tuple[str, Loader]:
    """The load generator: wrk (C, one thread) when installed, else the asyncio one above; the
    same keep-alive connections, applications (the next of the current stream, see
    :class:`Applications`) and measures either way."""
    wrk = shutil.which("wrk")
    if wrk is None:
        return "asyncio (wrk not installed)", lambda port, s, c, pid=None: load(
            port, apps, s, c, pid
        )
    bodies = tmp / "applications.jsonl"  # one application a line (JSON text has no newline)
    offsets = [0]
    with bodies.open("wb") as f:
        for body in apps.bodies:
            line = body.encode() + b"\n"
            f.write(line)
            offsets.append(offsets[-1] + len(line))
    script = tmp / "post.lua"
    script.write_text(_WRK_SCRIPT % (bodies, apps.key), encoding="utf-8")

    def run(
        port: int, seconds: float, connections: int, pid: int | None = None
    ) -> dict[str, float]:
        start = offsets[apps.start()]
        cpu0 = _cpu_seconds(pid)
        out = subprocess.run(
            [wrk, "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "-s", str(script),
             f"http://127.0.0.1:{port}", "--", str(start)],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        cpu1 = _cpu_seconds(pid)
        found = re.search(r"RESULT (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)", out)
        if found is None:
            raise RuntimeError(f"wrk printed no result: {out[-500:]}")
        n, micros, p50, p99, bad_status, socket_errors, sent = map(int, found.groups())
        apps.advance(sent)
        return {
            "cpu_ms": _ms_per_request(cpu0, cpu1, n), "rps": (n - bad_status) / (micros / 1e6),
            "p50_ms": p50 / 1000, "p99_ms": p99 / 1000, "requests": float(n),
            "errors": float(bad_status + socket_errors),
        }  # fmt: skip

    return "wrk", run


def _wait(port: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def _pg_url() -> str | None:
    url = os.environ.get(
        "CREDITFACTORY_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    try:
        import psycopg

        with psycopg.connect(url.replace("+psycopg", ""), connect_timeout=2) as conn:
            conn.execute("select 1")
    except Exception:  # unreachable: benchmark SQLite only
        return None
    return url


# (server label, CREDITFACTORY_ENGINE_PROCESS, suffix of its metrics): the default configuration
# (the engine process, on 2+ CPUs) keeps the plain metric names
CONFIGS = (
    ("service (engine process)", "true", ""),
    ("service (one process)", "false", "_one_process"),
)
DATABASES = {"SQLite (WAL)": "sqlite", "PostgreSQL": "pg"}


def _check_processes(pid: int, engine: str) -> None:
    """Raise unless the server runs as configured: an engine process beside the front with
    ``engine`` "true", none with "false" (so that a row is what its label says)."""
    import psutil

    children = psutil.Process(pid).children(recursive=True)
    if (engine == "true") != bool(children):
        raise RuntimeError(
            f"CREDITFACTORY_ENGINE_PROCESS={engine}, but the server has {len(children)} child "
            "process(es)"
        )


Starter = Callable[[], "contextlib.AbstractContextManager[tuple[int, int]]"]


@contextlib.contextmanager
def bare_server(source: str) -> Iterator[tuple[int, int]]:
    """A bare endpoint (:data:`BARE` or :data:`BARE_BODY`) on a free port: ``(port, pid)``."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", source, str(port)])
    try:
        _wait(port, proc)
        yield port, proc.pid
    finally:
        proc.terminate()
        proc.wait()


@contextlib.contextmanager
def service_server(url: str, engine: str, strategy: Path) -> Iterator[tuple[int, int]]:
    """``creditfactory serve`` on ``url`` with ``CREDITFACTORY_ENGINE_PROCESS=engine``, checked
    to run as configured: ``(port, pid)``."""
    env = {
        "CREDITFACTORY_DATABASE_URL": url,
        "CREDITFACTORY_ADMIN_KEY": ADMIN,
        "CREDITFACTORY_STRATEGY": str(strategy),
        "CREDITFACTORY_QC_RATE": "0.05",
        "CREDITFACTORY_LIST_SECRET": "bench",
        "CREDITFACTORY_ENGINE_PROCESS": engine,
    }
    with start_server(env=env) as server:
        pid = server.process.pid
        _check_processes(pid, engine)
        yield int(server.url.rsplit(":", 1)[1]), pid


def rounds(
    servers: list[tuple[Contender, str, Starter]],
    load_: Loader,
    seconds: float,
    connections: int,
) -> dict[tuple[str, str], list[dict[str, float]]]:
    """Every server measured as its contender's protocol says, in interleaved rounds (each round
    starts every server anew: warm-up loads of 1 s, then one load of ``seconds``), so that a
    slow spell of the shared machine falls on all of them: ``{(name, database): [runs]}``."""
    runs: dict[tuple[str, str], list[dict[str, float]]] = {(c.name, db): [] for c, db, _ in servers}
    for k in range(max(c.protocol.repeat for c, _, _ in servers)):
        for contender, db, start in servers:
            if k >= contender.protocol.repeat:
                continue
            with start() as (port, pid):
                warm = functools.partial(load_, port, 1.0, connections, None)
                measured = functools.partial(load_, port, seconds, connections, pid)
                runs[contender.name, db].append(warm_run(contender, warm, measured))
    return runs


def best(runs: list[dict[str, float]]) -> dict[str, float]:
    """The run with the most requests/s, with the least CPU per request of all runs."""
    top = max(runs, key=lambda r: r["rps"])
    return {**top, "cpu_ms": min(r["cpu_ms"] for r in runs)}


@contextlib.contextmanager
def streamed(apps: Applications, stream: str, start: Starter) -> Iterator[tuple[int, int]]:
    """``start()``, its loads posting the applications of ``stream`` (see
    :class:`Applications`)."""
    apps.use(stream)
    with start() as server:
        yield server


def http(
    apps: Applications,
    seconds: float,
    connections: int,
    tmp: Path,
    strategy: Path,
) -> dict[str, Any]:
    """The bare endpoints and the service in both configurations on each database, at
    ``connections`` clients: ``{"bare": best run, "bare_runs": [runs], "bare_body": best run of
    the second reference, "services": [(server label, database label, metric suffix, database
    key, best run, errors of all runs)]}``."""
    _, load_ = loader(apps, tmp)
    targets = [("SQLite (WAL)", f"sqlite:///{tmp / 'bench.db'}")]
    pg = _pg_url()
    if pg is not None:
        import psycopg

        schema = f"cf_bench_{os.getpid()}"
        with psycopg.connect(pg.replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            conn.execute(f'CREATE SCHEMA "{schema}"')
        targets.append(("PostgreSQL", f"{pg}?options=-csearch_path%3D{schema}"))
    servers: list[tuple[Contender, str, Starter]] = [
        (
            BY_NAME[name],
            "-",
            functools.partial(streamed, apps, "-", functools.partial(bare_server, source)),
        )
        for name, source in BARE_SOURCES.items()
    ]
    servers += [
        (
            BY_NAME[server], db,
            functools.partial(
                streamed, apps, db, functools.partial(service_server, url, engine, strategy)
            ),
        )
        for db, url in targets
        for server, engine, _ in CONFIGS
    ]  # fmt: skip
    try:
        runs = rounds(servers, load_, seconds, connections)
    finally:
        if pg is not None:
            with psycopg.connect(pg.replace("+psycopg", ""), autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    services = []
    for db, _ in targets:
        for server, _, suffix in CONFIGS:
            rs = runs[server, db]
            errors = sum(r["errors"] for r in rs)
            services.append((server, db, suffix, DATABASES[db], best(rs), errors))
    bare_runs = runs["bare FastAPI", "-"]
    return {
        "bare": best(bare_runs),
        "bare_runs": bare_runs,
        "bare_body": best(runs["bare FastAPI, Body(...) (second reference)", "-"]),
        "services": services,
    }


def batch(n: int, chunk: int, tmp: Path, strategy_path: Path) -> dict[str, float]:
    from creditfactory.batch import decide_file, parts_dir
    from creditfactory.decision import Strategy

    # 100,000 simulated applications repeated with fresh ids: the engine's work per row is the
    # same, and the benchmark stays far from the simulator's memory needs at 1,000,000
    base = pl.from_pandas(
        simulate(SimulationConfig(n_applications=min(n, 100_000), seed=11)).applications
    )
    copies = -(-n // base.height)
    apps = pl.concat(
        [base.with_columns(pl.col("application_id") + f"-{k}") for k in range(copies)]
    ).head(n)
    src = tmp / "apps.parquet"
    apps.write_parquet(src)
    del apps, base
    strategy = Strategy.load(strategy_path)
    strategy.decide_batch(pl.read_parquet(src, n_rows=1000))  # warm-up
    outs = iter(range(FACTORY.protocol.warmup + FACTORY.protocol.repeat))

    def full_run() -> Any:
        return decide_file(strategy, src, tmp / f"full{next(outs)}.parquet", chunk_size=chunk)

    timing = measure(FACTORY, full_run)  # the better of two full runs is the reference
    full, report = timing.seconds, timing.value

    class Kill(Exception):  # noqa: N818 - stands for SIGKILL half-way
        pass

    def kill_half(done: int, chunks: int, *_: int) -> None:
        if done == chunks // 2:
            raise Kill

    out = tmp / "resumed.parquet"
    t0 = time.perf_counter()
    with contextlib.suppress(Kill):
        decide_file(strategy, src, out, chunk_size=chunk, progress=kill_half)
    first_half = time.perf_counter() - t0
    assert parts_dir(out).exists()
    t0 = time.perf_counter()
    resumed = decide_file(strategy, src, out, chunk_size=chunk)
    second = time.perf_counter() - t0
    rows = pl.scan_parquet(out).select(pl.len(), pl.col("row").n_unique()).collect().row(0)
    assert rows == (n, n), rows
    return {
        "rows": float(n),
        "chunks": float(report.chunks),
        "seconds": full,
        "rows_per_s": n / full,
        "killed_after_s": first_half,
        "resume_s": second,
        "resume_overhead": (first_half + second) / full - 1.0,
        "resumed_chunks": float(resumed.chunks_resumed),
    }


#: the most decisions a second the pool of distinct applications is sized for
FASTEST = 2_500


def application_rows(n: int, seed: int = 3) -> Iterator[dict[str, Any]]:
    """``n`` simulated applications (distinct ``application_id``, in arrival order), each whole,
    as a channel would send it (JSON values: time as text, NaN as null); made into dicts 10,000
    at a time, so that a pool of 220,000 never holds them all as Python objects."""
    apps = pl.from_pandas(simulate(SimulationConfig(n_applications=n, seed=seed)).applications)
    floats = [c for c, t in apps.schema.items() if t == pl.Float64]
    apps = apps.with_columns(pl.col("applied_at").cast(pl.String), pl.col(floats).fill_nan(None))
    for part in apps.iter_slices(10_000):
        yield from part.to_dicts()


def run(quick: bool = False) -> dict:
    # 16 keep-alive clients each waiting for its own commit, then 64 (enough to saturate one
    # worker: the service's batches then overlap with request handling)
    seconds, levels = (3.0, (8,)) if quick else (10.0, (16, 64))
    n_batch = 100_000 if quick else 1_000_000
    # enough distinct applications for every load of a database's stream at up to
    # FASTEST decisions/s (warm-up included); a stream that runs out repeats, and says so
    n_apps = len(levels) * len(CONFIGS) * SERVER.repeat * round(SERVER.warmup + seconds) * FASTEST
    apps = Applications(application_rows(n_apps), ADMIN)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        strategy = strategy_file(tmp)
        hs = {c: http(apps, seconds, c, tmp, strategy) for c in levels}
        b = batch(n_batch, 100_000 if not quick else 20_000, tmp, strategy)
    table = [
        ["clients", "server", "database", "req/s", "p50 ms", "p99 ms", "ratio to bare",
         "errors", "CPU ms/req", "CPU ratio"]
    ]  # fmt: skip
    metrics: dict[str, float] = {}
    for c, h in hs.items():
        bare, slow = h["bare"], h["bare_body"]
        bare_cpu = bare["cpu_ms"]
        table.append(
            [str(c), "bare FastAPI (raw body, as ours)", "-", f"{bare['rps']:,.0f}",
             f"{bare['p50_ms']:.1f}", f"{bare['p99_ms']:.1f}", "1.00", f"{bare['errors']:.0f}",
             f"{bare_cpu:.3f}", "1.00"]
        )  # fmt: skip
        table.append(
            [str(c), "2nd reference: bare FastAPI, Body(...)", "-", f"{slow['rps']:,.0f}",
             f"{slow['p50_ms']:.1f}", f"{slow['p99_ms']:.1f}", f"{slow['rps'] / bare['rps']:.2f}",
             f"{slow['errors']:.0f}", f"{slow['cpu_ms']:.3f}", f"{bare_cpu / slow['cpu_ms']:.2f}"]
        )  # fmt: skip
        m = {
            "bare_rps": bare["rps"], "bare_p99_ms": bare["p99_ms"], "bare_cpu_ms": bare_cpu,
            **{f"bare_rps_round{k + 1}": r["rps"] for k, r in enumerate(h["bare_runs"])},
            "bare_body_rps": slow["rps"], "bare_body_cpu_ms": slow["cpu_ms"],
        }  # fmt: skip
        for server, db, suffix, key, s, errors in h["services"]:
            ratio, cpu_ratio = s["rps"] / bare["rps"], bare_cpu / s["cpu_ms"]
            cpu_over_bare = s["cpu_ms"] / bare_cpu  # the key figure: CPU per decision / request
            table.append(
                [str(c), server, db, f"{s['rps']:,.0f}", f"{s['p50_ms']:.1f}",
                 f"{s['p99_ms']:.1f}", f"{ratio:.2f}", f"{errors:.0f}", f"{s['cpu_ms']:.3f}",
                 f"{cpu_ratio:.2f}"]
            )  # fmt: skip
            m |= {
                f"service_{key}_rps{suffix}": s["rps"],
                f"service_{key}_p99_ms{suffix}": s["p99_ms"],
                f"service_{key}_cpu_ms{suffix}": s["cpu_ms"],
                f"ratio_{key}{suffix}": ratio,
                f"cpu_ratio_{key}{suffix}": cpu_ratio,
                f"cpu_over_bare_{key}{suffix}": cpu_over_bare,
            }
        # the first level keeps the plain names; the others get the number of clients
        level = "" if c == levels[0] else f"_c{c}"
        metrics |= {f"{k}{level}": v for k, v in m.items()}
    table += [
        [
            "",
            "batch",
            f"{b['rows']:,.0f} rows",
            f"{b['rows_per_s']:,.0f} rows/s",
            f"{b['seconds']:.1f} s",
            f"resume {b['resume_s']:.1f} s",
            f"overhead {b['resume_overhead']:+.0%}",
            "",
            "",
            "",
        ]
    ]
    strategy_name = "reference.yaml" if strategy == REFERENCE else "a small rules-only one"
    generator = "wrk" if shutil.which("wrk") else "asyncio, in the benchmark (wrk not installed)"
    metrics |= {f"batch_{k}": v for k, v in b.items()}
    repeats = apps.repeats
    metrics |= {f"repeated_{DATABASES[db]}": float(k) for db, k in repeats.items()}
    posted = (
        f"{len(apps.bodies):,} distinct simulated applications, each database posted them in "
        "order, every request the next one (its fraud step sees a stream of new applications, "
        "never one it remembers); requests that repeated an application (pool exhausted): "
        + (", ".join(f"{db} {k:,}" for db, k in repeats.items()) or "none")
        + ". "
    )
    return {
        "name": "service",
        "metrics": metrics,
        "table": table,
        "notes": (
            f"Strategy: {strategy_name}. Applications: {posted}HTTP, load generator {generator}: "
            f"{' and '.join(map(str, levels))} keep-alive connections for {seconds:g} s a run, "
            f"every server (bare endpoints and services alike) started anew in each of "
            f"{SERVER.repeat} interleaved rounds, {SERVER.warmup} load of 1 s as warm-up, then "
            "one measured load; its better round kept; one uvicorn worker, persistence + ledger "
            "on, QC sampling 5%. The service in both configurations, set explicitly: 'engine "
            "process' = the decision engine in a process of its own beside the HTTP front "
            "(CREDITFACTORY_ENGINE_PROCESS=true, the default on 2+ CPUs; the metrics without a "
            "suffix), 'one process' = front and engine in one process (=false; metrics ending "
            "in _one_process). Ratio = service decisions/s over a bare FastAPI endpoint "
            "written as ours is (raw request.body(), json.loads, a plain Response; target >= "
            "0.5); the same endpoint through Body(...) into a dict is shown as a second "
            "reference only. All on uvicorn's defaults (asyncio loop, h11). CPU over bare "
            "(cpu_over_bare_*, the key figure) = the service's CPU time per decision over the "
            "bare endpoint's CPU time per request; CPU ratio = its inverse; the "
            "service's counting the server process and its engine process together (all "
            "threads; the database server's own CPU not counted). Batch: "
            f"{n_batch:,} simulated applications, Parquet in and out, killed at half the chunks "
            "and resumed; overhead = (killed run + resumed run) / full run - 1 (full run: the "
            "better of two)."
        ),
    }


def breakdown(n: int = 4000, batch_size: int = 4, url: str | None = None) -> dict[str, float]:
    """CPU milliseconds per decision of each stage of the factory's work on fresh applications,
    in one process, the reference strategy, batches of ``batch_size`` (what 16 clients give
    the engine process): ``Factory.handle`` runs on ``n`` simulated applications never decided
    before (the first 400 warm it up) while each stage's calls add up their CPU time
    (``time.process_time``, all threads: the SQLite checkpointer's included in the whole; the
    timers add about a microsecond a call). On a SQLite file (WAL) unless ``url`` names
    another database (migrated and bootstrapped here). A profile for docs/service.md, not a
    contest: no peer runs it. Run it from the repository root with
    ``python -m benchmarks.bench_service --breakdown [postgresql+psycopg://...]``."""
    import creditfactory.factory._unit as unit
    from creditfactory.api import start_server
    from creditfactory.decision import Strategy
    from creditfactory.factory import Decide, Factory, FactoryConfig
    from creditfactory.store import _backend_postgres, _backend_sqlite

    clock = time.process_time
    bodies = [json.dumps(r).encode() for r in application_rows(n)]
    spent: dict[str, float] = {}

    def timed(owner: Any, name: str, label: str) -> Callable[[], None]:
        fn = getattr(owner, name)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            t0 = clock()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[label] = spent.get(label, 0.0) + clock() - t0

        setattr(owner, name, wrapper)
        return lambda: setattr(owner, name, fn)

    with tempfile.TemporaryDirectory() as d:
        url = url or f"sqlite:///{Path(d) / 'breakdown.db'}"
        env = {
            "CREDITFACTORY_DATABASE_URL": url, "CREDITFACTORY_ADMIN_KEY": ADMIN,
            "CREDITFACTORY_STRATEGY": str(REFERENCE), "CREDITFACTORY_LIST_SECRET": "bench",
            "CREDITFACTORY_ENGINE_PROCESS": "false",
        }  # fmt: skip
        with start_server(env=env):  # migrates and bootstraps the database, as a service does
            pass
        f = Factory(FactoryConfig(url, list_secret="bench", qc_rate=0.05, qc_seed=1))
        undo = [
            timed(unit, "parse_body", "parse the body (strict JSON)"),
            timed(Strategy, "decide", "strategy.decide (rules, lists, scorecard, fraud step)"),
            timed(unit, "protected_payload", "application text, identifiers sealed (HMAC)"),
            timed(f, "_pending", "the rows: values' texts, fraud link, digest pieces"),
            timed(f.fraud_links, "catch_up", "fraud history: other processes' links"),
            timed(f.writer, "write", "group commit (ids, chain, INSERTs, COMMIT)"),
            timed(_backend_sqlite, "build_rows", "  of which the rows with ids, SHA-256 chain"),
            timed(_backend_postgres, "build_rows", "  of which the rows with ids, SHA-256 chain"),
            timed(unit, "answer", "the answer object"),
        ]
        try:
            warm = 400
            for k in range(0, warm, batch_size):
                f.handle([Decide(i, bodies[i], "bench", 1, None) for i in range(k, k + batch_size)])
            spent.clear()
            t0, m = clock(), 0
            for k in range(warm, n - batch_size + 1, batch_size):
                f.handle([Decide(i, bodies[i], "bench", 1, None) for i in range(k, k + batch_size)])
                m += batch_size
            whole = clock() - t0
        finally:
            for put_back in undo:
                put_back()
            f.close()
    out = {label: s / m * 1000 for label, s in sorted(spent.items(), key=lambda kv: -kv[1])}
    out["Factory.handle, whole (fresh applications)"] = whole / m * 1000
    return out


if __name__ == "__main__":
    if "--breakdown" in sys.argv:
        given = [a for a in sys.argv[1:] if a != "--breakdown"]
        for stage_name, ms in breakdown(url=given[0] if given else None).items():
            print(f"{ms:8.4f} ms  {stage_name}")
