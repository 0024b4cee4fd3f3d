"""What the drills share: databases, a running service with one key per role, HTTP clients,
an honest load generator, ``audit verify`` and the result every drill returns.

A drill module ``drill_<name>.py`` exposes ``run(quick: bool = False) -> dict`` returning
:func:`result` (the counts the final table shows, ``None`` where a count does not apply),
and prints what it tries and what it finds as it goes.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import os
import secrets
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ADMIN_KEY = secrets.token_urlsafe(32)  # strong, as a bootstrap key must be
LIST_SECRET = secrets.token_urlsafe(32)
ROLES = ("admin", "analyst", "underwriter", "read-only")
PG_URL = os.environ.get(
    "CREDITFACTORY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
# what a response must never show: a traceback or a path of the server
LEAKS = ("Traceback", "/work/", "/tmp/", "site-packages", 'File "', "/usr/lib/python")

STRATEGY = """
strategy: drill
version: "{version}"
key: application_id
inputs:
  application_id: str
  id_number: str
  phone: {{type: str, nullable: true}}
  age: {{type: int, min: 18, max: 100}}
  monthly_income: {{type: float, min: 0}}
  bureau_monthly_debt: {{type: float, min: 0}}
  inquiries_3m: {{type: int, min: 0}}
  term_requested: {{type: int, min: 1, max: 60}}
params:
  multiple: {multiple}
lists:
  blacklist: {{provided: true}}
  greylist: {{provided: true}}
flow:
  - lists:
      name: service_lists
      checks:
        - {{field: id_number, list: blacklist, action: decline, reason: LIST_BLACKLIST_ID_NUMBER}}
        - {{field: phone, list: blacklist, action: decline, reason: LIST_BLACKLIST_PHONE}}
        - {{field: id_number, list: greylist, action: refer, reason: LIST_GREYLIST_ID_NUMBER}}
        - {{field: phone, list: greylist, action: refer, reason: LIST_GREYLIST_PHONE}}
  - rules:
      name: knockouts
      rules:
        - {{name: low_income, when: "monthly_income < 3000", action: decline, reason: KO_INCOME}}
        - {{name: debt, when: "bureau_monthly_debt > monthly_income * 0.6", action: decline, reason: KO_DTI}}
        - {{name: shopping, when: "inquiries_3m >= 4", action: refer, reason: RF_INQUIRIES}}
  - assign:
      name: offer
      set:
        limit: "min(monthly_income * multiple, 50000)"
        apr: "if(inquiries_3m >= 2, 0.21, 0.15)"
        term: "term_requested"
"""  # noqa: E501


def strategy_text(version: str = "1", multiple: int = 3) -> str:
    """The drills' small strategy (the service's blacklist and greylist on phone and ID number,
    knock-outs, a refer rule, a limit and a price)."""
    return STRATEGY.format(version=version, multiple=multiple)


def application(i: int, prefix: str = "D", refer: bool = False) -> dict[str, Any]:
    """Application number ``i``: approved, or referred (queued for review) with ``refer``."""
    return {
        "application_id": f"{prefix}{i}",
        "id_number": f"1101011990{i:08d}",
        "phone": f"138{i:08d}",
        "age": 20 + i % 60,
        "monthly_income": 8000.0 + i % 5000,
        "bureau_monthly_debt": 500.0,
        "inquiries_3m": 5 if refer else i % 3,
        "term_requested": 12,
    }


def say(*parts: object) -> None:
    """Print a line of a drill's account (the runner shows it as it comes)."""
    print(*parts, flush=True)


# ----------------------------------------------------------------------------- the result


def result(
    name: str,
    passed: bool,
    *,
    sent: int | None = None,
    accepted: int | None = None,
    lost: int | None = None,
    duplicated: int | None = None,
    tamper_caught: int | None = None,
    tamper_tried: int | None = None,
    fuzz_cases: int | None = None,
    fuzz_failures: int | None = None,
    unauthorised: int | None = None,
    findings: list[str] | None = None,
    figures: dict[str, Any] | None = None,
    notes: str = "",
) -> dict[str, Any]:
    """What a drill returns: the table's counts (``None``: does not apply), whether it passed,
    its findings (one line each: what failed, with the request that shows it) and figures."""
    return {
        "name": name,
        "passed": bool(passed),
        "sent": sent,
        "accepted": accepted,
        "lost": lost,
        "duplicated": duplicated,
        "tamper_caught": tamper_caught,
        "tamper_tried": tamper_tried,
        "fuzz_cases": fuzz_cases,
        "fuzz_failures": fuzz_failures,
        "unauthorised": unauthorised,
        "findings": findings or [],
        "figures": figures or {},
        "notes": notes,
    }


MUST_BE_ZERO = ("lost", "duplicated", "unauthorised")


# ----------------------------------------------------------------------------- databases

_PG: dict[str, str | None] = {}


def postgres_problem() -> str | None:
    """Why PostgreSQL at :data:`PG_URL` cannot be used, ``None`` when it can."""
    if "problem" not in _PG:
        try:
            import psycopg

            with psycopg.connect(pg_dsn(), connect_timeout=3) as conn:
                conn.execute("select 1")
            _PG["problem"] = None
        except Exception as exc:  # any failure to connect means "not available"
            _PG["problem"] = f"{type(exc).__name__}: {exc}".strip()
    return _PG["problem"]


def pg_dsn(url: str = PG_URL) -> str:
    """A libpq DSN from a SQLAlchemy URL."""
    return url.replace("postgresql+psycopg://", "postgresql://")


def schema_url(schema: str, base: str = PG_URL) -> str:
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"


@contextlib.contextmanager
def pg_schema(prefix: str = "cf_drill") -> Iterator[tuple[str, str]]:
    """A fresh PostgreSQL schema: ``(name, url)``; dropped afterwards."""
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_dsn(), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{name}"')
    try:
        yield name, schema_url(name)
    finally:
        with psycopg.connect(pg_dsn(), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


@contextlib.contextmanager
def workdir(name: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=f"cf-drill-{name}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def database(kind: str, tmp: Path) -> Iterator[str]:
    """A URL to an empty database of ``kind`` (``sqlite``: a file in ``tmp``; ``postgresql``:
    a fresh schema)."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp / f'{uuid.uuid4().hex[:8]}.db'}"
        return
    with pg_schema() as (_, url):
        yield url


def kinds(skip_note: list[str]) -> list[str]:
    """The databases to drill: SQLite, and PostgreSQL when reachable (else a note why not)."""
    problem = postgres_problem()
    if problem is None:
        return ["sqlite", "postgresql"]
    skip_note.append(f"PostgreSQL skipped: {problem}")
    return ["sqlite"]


# ----------------------------------------------------------------------------- the service


@dataclass
class Service:
    """A running ``creditfactory serve`` with the drills' strategy and one key per role."""

    url: str
    db_url: str
    env: dict[str, str]
    keys: dict[str, str] = field(default_factory=dict)  # role -> secret
    server: Any = None

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()


def service_env(db_url: str, tmp: Path, **extra: str) -> dict[str, str]:
    strategy = tmp / "strategy.yaml"
    strategy.write_text(strategy_text(), encoding="utf-8")
    env = {
        "CREDITFACTORY_DATABASE_URL": db_url,
        "CREDITFACTORY_ADMIN_KEY": ADMIN_KEY,
        "CREDITFACTORY_STRATEGY": str(strategy),
        "CREDITFACTORY_LIST_SECRET": LIST_SECRET,
        "CREDITFACTORY_QC_RATE": "0.1",
        "CREDITFACTORY_QC_SEED": "7",
    }
    env.update(extra)
    return env


def start(
    db_url: str,
    tmp: Path,
    port: int | None = None,
    engine_process: bool = True,
    roles: bool = True,
    **extra: str,
) -> Service:
    """Start the real service on ``db_url`` (engine process by default) and, with ``roles``,
    create a key for every role through the API."""
    from creditfactory.api import start_server

    env = service_env(db_url, tmp, **extra)
    server = start_server(port=port, env=env, engine_process=engine_process, timeout=90)
    svc = Service(server.url, db_url, env, {"admin": ADMIN_KEY}, server)
    if roles:
        for role in ROLES[1:]:
            status, body = call(
                svc.url,
                "POST",
                "/v1/keys",
                ADMIN_KEY,
                {"name": f"{role}-{uuid.uuid4().hex[:6]}", "role": role},
            )
            if status != 201:
                svc.stop()
                raise RuntimeError(f"POST /v1/keys for {role} answered {status}: {body[:300]!r}")
            svc.keys[role] = json.loads(body)["key"]
    return svc


def restart(svc: Service, engine_process: bool = True) -> None:
    """Start the service again on the same port (after a kill)."""
    from creditfactory.api import start_server

    with contextlib.suppress(Exception):
        svc.server.stop(timeout=2)
    svc.server = start_server(port=svc.port, env=svc.env, engine_process=engine_process, timeout=90)


def call(
    base: str,
    method: str,
    path: str,
    key: str | None = None,
    body: Any = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30.0,
    raw: bytes | None = None,
) -> tuple[int, bytes]:
    """One blocking HTTP request: ``(status, body)``; raises ``OSError`` when the connection
    fails (the caller decides whether to retry)."""
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        if key is not None:
            hdrs["X-API-Key"] = key
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        conn.request(method, path, body=data, headers=hdrs)
        answer = conn.getresponse()
        return answer.status, answer.read()
    except http.client.HTTPException as exc:
        raise OSError(f"{type(exc).__name__}: {exc}") from exc
    finally:
        conn.close()


def leaks(body: bytes) -> str | None:
    """The first server-internal marker (traceback, server path) in a response body."""
    text = body.decode(errors="replace")
    return next((m for m in LEAKS if m in text), None)


# ----------------------------------------------------------------------------- audit verify


def audit_verify(db_url: str, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """``creditfactory audit verify --database-url URL``, the real command (Typer, in this
    process, with ``env`` set, e.g. the anchor file and key): its exit code and everything it
    printed."""
    from typer.testing import CliRunner

    from creditfactory.cli import app

    outcome = CliRunner().invoke(app, ["audit", "verify", "--database-url", db_url, *args], env=env)
    text = outcome.output
    with contextlib.suppress(ValueError, AttributeError):
        if outcome.stderr and outcome.stderr not in text:
            text += outcome.stderr
    if outcome.exception is not None and not isinstance(outcome.exception, SystemExit):
        text += f"\n(uncaught {type(outcome.exception).__name__}: {outcome.exception})"
        return 99, text
    return int(outcome.exit_code), " ".join(text.split())


# ----------------------------------------------------------------------------- load


@dataclass
class Load:
    """What an honest load saw: statuses, latencies and the acknowledged application ids."""

    statuses: dict[int, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    acked: list[str] = field(default_factory=list)
    failures: int = 0  # connection errors
    seconds: float = 0.0

    @property
    def sent(self) -> int:
        return sum(self.statuses.values()) + self.failures

    @property
    def ok(self) -> int:
        return sum(v for k, v in self.statuses.items() if 200 <= k < 300)

    @property
    def rps(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def p99_ms(self) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    code = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    return code, await reader.readexactly(length)


def raw_request(method: str, path: str, key: str | None, body: bytes, extra: str = "") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    if key is not None:
        head += f"X-API-Key: {key}\r\n"
    return (head + extra + f"Content-Length: {len(body)}\r\n\r\n").encode() + body


async def honest_load(
    port: int,
    key: str,
    seconds: float,
    clients: int,
    prefix: str,
    out: Load,
    timeout: float = 30.0,
) -> None:
    """``clients`` keep-alive connections posting fresh good applications for ``seconds``."""
    stop_at = time.perf_counter() + seconds
    counter = iter(range(10**9))

    async def client(k: int) -> None:
        reader = writer = None
        while time.perf_counter() < stop_at:
            i = next(counter)
            app_id = f"{prefix}{i}"
            payload = json.dumps(application(i, prefix)).encode()
            request = raw_request(
                "POST", "/v1/applications", key, payload, f"Idempotency-Key: {app_id}\r\n"
            )
            t0 = time.perf_counter()
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                assert reader is not None
                writer.write(request)
                code, _body = await asyncio.wait_for(_read_response(reader), timeout)
            except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError):
                out.failures += 1
                if writer is not None:
                    writer.close()
                reader = writer = None
                await asyncio.sleep(0.05)
                continue
            out.latencies.append(time.perf_counter() - t0)
            out.statuses[code] = out.statuses.get(code, 0) + 1
            if code in (200, 201):
                out.acked.append(app_id)
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    t0 = time.perf_counter()
    await asyncio.gather(*[client(k) for k in range(clients)])
    out.seconds = time.perf_counter() - t0


def stored_external_ids(db_url: str) -> dict[str, int]:
    """How many times each external id is stored (applications with a decision)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT a.external_id, count(*) FROM applications a "
                    "JOIN decisions d ON d.application_id = a.id GROUP BY a.external_id"
                )
            ).all()
    finally:
        engine.dispose()
    return {str(r[0]): int(r[1]) for r in rows}


# ----------------------------------------------------------------------------- populating

MODEL_SPEC = {
    "format": "creditfactory.scoring_spec",
    "format_version": 1,
    "scaling": {"factor": 28.85, "offset": 487.1},
    "characteristics": [
        {
            "name": "age",
            "kind": "numerical",
            "code": "R001",
            "missing_points": 10.0,
            "special": [],
            "upper_edges": [25.0],
            "points": [20.0, 40.0],
        },
    ],
}


def populate(svc: Service, phase: int) -> list[str]:
    """Write to every table through the API (``phase`` 1 or 2: different rows each time):
    keys, strategy versions and activations, models, list entries, applications, decisions,
    reviews and, through all of them, the ledger. Returns what was done, one line each;
    raises ``RuntimeError`` when a write is refused."""
    admin, done = svc.keys["admin"], []

    def do(method: str, path: str, body: Any = None, key: str = admin, ok: tuple = (200, 201)):
        status, answer = call(svc.url, method, path, key, body)
        if status not in ok:
            raise RuntimeError(f"{method} {path} answered {status}: {answer[:300]!r}")
        done.append(f"{method} {path} -> {status}")
        return json.loads(answer) if answer else None

    tag = f"p{phase}"
    key = do("POST", "/v1/keys", {"name": f"extra-{tag}", "role": "analyst"})
    if phase == 2:
        do("DELETE", f"/v1/keys/{key['id']}")
    do(
        "POST",
        "/v1/strategies",
        {"source": strategy_text(f"{phase + 1}", 2 + phase), "activate": True},
    )
    if phase == 2:
        do("POST", "/v1/strategies/rollback")
    do("POST", "/v1/models", {"name": "age_score", "version": tag, "spec": MODEL_SPEC})
    base = 1000 * phase
    do(
        "POST",
        "/v1/lists/blacklist/entries",
        {"field": "phone", "values": [f"139{base + k:08d}" for k in range(3)], "note": tag},
    )
    do(
        "POST",
        "/v1/lists/greylist/entries",
        {"field": "id_number", "values": [f"x{base + k}" for k in range(2)]},
    )
    if phase == 2:
        do("POST", "/v1/lists/blacklist/remove", {"field": "phone", "values": [f"139{base:08d}"]})
    for k in range(6):
        do(
            "POST",
            "/v1/applications",
            application(base + k, "T", refer=k % 3 == 2),
            key=svc.keys.get("underwriter", admin),
        )
    if phase == 2:
        pending = do("GET", "/v1/reviews?status=pending")
        do("POST", f"/v1/reviews/{pending[0]['id']}", {"outcome": "decline", "reason": "drill"})
    return done
