"""Personal data through the real service: masked for every role but admin, and no clear
identifier in the database files, a PostgreSQL dump or the server's log of a run."""

from __future__ import annotations

import http.client
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import polars as pl
import pytest

from creditfactory.api import start_server
from creditfactory.data import SimulationConfig, simulate
from creditfactory.store import mask, new_key

REFERENCE = Path(__file__).resolve().parents[2] / "examples" / "strategies" / "reference.yaml"
ADMIN = "pii-admin-key-0123456789"
IDENTIFIERS = ("id_number", "phone", "emergency_contact_phone", "ip_address", "device_id",
               "address_id")  # fmt: skip
N = 300


class Client:
    """Keep-alive JSON over HTTP to the server."""

    def __init__(self, url: str):
        parts = urlsplit(url)
        self.conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)

    def call(
        self, method: str, path: str, key: str, body: Any = None, **headers: str
    ) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        hdrs = {"X-API-Key": key, "Content-Type": "application/json", **headers}
        self.conn.request(method, path, data, hdrs)
        answer = self.conn.getresponse()
        raw = answer.read()
        return answer.status, json.loads(raw) if raw else None


@pytest.fixture(scope="module")
def applications() -> list[dict[str, Any]]:
    frame = pl.from_pandas(simulate(SimulationConfig(n_applications=N, seed=11)).applications)
    return frame.drop("applied_at").to_dicts()


def _sqlite_bytes(url: str) -> bytes:
    path = Path(url.removeprefix("sqlite:///"))
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))  # -wal, -shm


def _postgres_dump(url: str) -> bytes:
    """``pg_dump`` of the test's schema (data and definitions); ``COPY ... TO STDOUT`` of every
    table where ``pg_dump`` is missing."""
    import psycopg

    schema = parse_qs(urlsplit(url).query)["options"][0].split("=", 1)[1]
    dsn = url.split("?")[0].replace("postgresql+psycopg://", "postgresql://")
    if shutil.which("pg_dump"):
        done = subprocess.run(
            ["pg_dump", "--dbname", dsn, "--schema", schema], capture_output=True, check=False
        )
        if done.returncode == 0:
            return done.stdout
    out = bytearray()
    with psycopg.connect(dsn) as conn:
        tables = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,)
        ).fetchall()
        for (table,) in tables:
            with conn.cursor().copy(f'COPY "{schema}"."{table}" TO STDOUT') as copy:
                for chunk in copy:
                    out += bytes(chunk)
    return bytes(out)


@pytest.fixture
def run(db_url: str, applications: list[dict[str, Any]]) -> dict[str, Any]:
    """The server on ``db_url`` (engine process, the reference strategy), the applications
    posted, read back with every role; then the database's bytes and the server's log."""
    if not REFERENCE.exists():
        pytest.skip("examples/strategies/reference.yaml is not in this checkout")
    env = {
        "CREDITFACTORY_DATABASE_URL": db_url, "CREDITFACTORY_ADMIN_KEY": ADMIN,
        "CREDITFACTORY_STRATEGY": str(REFERENCE), "CREDITFACTORY_LIST_SECRET": "list-secret",
        "CREDITFACTORY_PII_KEY": new_key("t1"), "CREDITFACTORY_QC_RATE": "0.2",
    }  # fmt: skip
    server = start_server(env=env)
    c = Client(server.url)
    try:
        keys = {"admin": ADMIN}
        for role in ("analyst", "underwriter", "read-only"):
            status, body = c.call("POST", "/v1/keys", ADMIN, {"name": role, "role": role})
            assert status == 201, body
            keys[role] = body["key"]
        ids: list[int] = []
        for i, app in enumerate(applications):
            retry = {"Idempotency-Key": f"k{i}"} if i % 10 == 0 else {}
            status, body = c.call("POST", "/v1/applications", keys["analyst"], app, **retry)
            assert status == 201, body
            ids.append(body["application_id"])
            if retry:  # the replay answers the decision, never the application
                again = c.call("POST", "/v1/applications", keys["analyst"], app, **retry)
                assert again[0] == 200
                assert not {v for v in again[1].values() if isinstance(v, str)} & {
                    str(app[f]) for f in IDENTIFIERS
                }
        # a bad application (age missing, a string income): a 422 naming fields, no values
        bad = {**applications[0], "monthly_income": "lots"}
        del bad["age"]
        status, body = c.call("POST", "/v1/applications", keys["analyst"], bad)
        assert status == 422
        error_422 = json.dumps(body)
        seen: dict[str, list[dict[str, Any]]] = {role: [] for role in keys}
        for role, key in keys.items():
            for app_id in ids[:40]:
                status, body = c.call("GET", f"/v1/applications/internal/{app_id}", key)
                assert status == 200, body
                seen[role].append(body)
                dec = c.call("GET", f"/v1/decisions/{body['decision']['id']}", key)
                assert dec[0] == 200
        data = _sqlite_bytes(db_url) if db_url.startswith("sqlite") else b""
    finally:
        c.conn.close()
        server.process.terminate()
        server.process.wait(30)
        log = server.output()
        server.stop()
    if not data:
        data = _postgres_dump(db_url)
    elif db_url.startswith("sqlite"):
        data += _sqlite_bytes(db_url)  # and after the stop (checkpointed)
    return {"seen": seen, "data": data, "log": log, "error": error_422}


def found(values: set[str], data: bytes) -> list[str]:
    """The values occurring anywhere in ``data`` (each lies within a run of the characters
    identifiers are made of: the runs' substrings are looked up, rather than searching the
    whole data once per value)."""
    wanted = {v.encode() for v in values}
    assert all(re.fullmatch(rb"[0-9A-Za-z.]+", v) for v in wanted)
    lengths = {len(v) for v in wanted}
    runs = set(re.findall(rb"[0-9A-Za-z.]{%d,}" % min(lengths), data))
    hits = {r[i : i + n] for r in runs for n in lengths for i in range(len(r) - n + 1)}
    return sorted(v.decode() for v in hits & wanted)


@pytest.mark.slow
def test_no_clear_identifier_is_stored_logged_or_shown(
    run: dict[str, Any], applications: list[dict[str, Any]]
) -> None:
    data, log = run["data"], run["log"]
    clear = {str(app[f]) for app in applications for f in IDENTIFIERS if app[f] is not None}
    assert len(clear) > 5 * len(applications) // 2  # hundreds of ID numbers, phones, IPs ...
    assert found(clear, data) == []
    assert found(clear, log.encode()) == []
    assert found(clear, run["error"].encode()) == []  # the 422 names fields, not values
    # the scan can find: what is not an identifier is there in clear
    ids = {app["application_id"] for app in applications}
    assert found(ids, data) == sorted(ids)
    assert b"pii:v1:t1:" in data
    # admin reads the clear values, every other role the masks
    for role, bodies in run["seen"].items():
        for body, app in zip(bodies, applications, strict=False):
            payload = body["payload"]
            assert payload["application_id"] == app["application_id"]
            for f in IDENTIFIERS:
                want = app[f] if role == "admin" else mask(app[f])
                assert payload[f] == want, (role, f)
            assert payload["monthly_income"] == app["monthly_income"]


ECHO_STRATEGY = """
strategy: echo
version: "1"
key: application_id
inputs:
  application_id: str
  id_number: str
  phone: str
  age: int
flow:
  - rules:
      name: r
      rules:
        - {name: check, when: "age < 30", action: refer, reason: RF_YOUNG}
  - assign:
      name: offer
      set: {limit: "1000", apr: "0.2", term: "12"}
outputs: [phone]
"""


def test_every_answer_masks_for_every_role_but_admin(api: Any) -> None:
    """Application, decision values (an output echoing an input), the review's answer; an
    envelope altered in the database is a 409 naming the field for admin, a mask for others."""
    from sqlalchemy import text

    admin = api.as_("admin")
    r = api.client.post("/v1/strategies", json={"source": ECHO_STRATEGY, "activate": True},
                        headers=admin)  # fmt: skip
    assert r.status_code == 201, r.text
    app = {"application_id": "A1", "id_number": "110101199001011234", "phone": "13812345678",
           "age": 25}  # fmt: skip
    posted = api.client.post("/v1/applications", json=app, headers=api.as_("analyst")).json()
    assert "13812345678" not in json.dumps(posted)  # the answer is the decision only
    masked = {"id_number": "110***********1234", "phone": "138****5678"}
    for role in ("admin", "analyst", "underwriter", "read-only"):
        want = app if role == "admin" else {**app, **masked}
        url = f"/v1/applications/internal/{posted['application_id']}"
        a = api.client.get(url, headers=api.as_(role))
        assert a.json()["payload"] == want
        assert a.json()["decision"]["values"] == {"phone": want["phone"]}
        d = api.client.get(f"/v1/decisions/{posted['decision_id']}", headers=api.as_(role))
        assert d.json()["values"] == {"phone": want["phone"]}
    review = posted["review"]["id"]
    done = api.client.post(f"/v1/reviews/{review}", json={"outcome": "approve", "reason": "fine"},
                           headers=api.as_("underwriter"))  # fmt: skip
    assert done.status_code == 200, done.text
    assert done.json()["values"] == {"phone": "138****5678"}
    store = api.client.app.state.store  # type: ignore[attr-defined]
    with store.engine.begin() as conn:
        stored = conn.execute(text("SELECT payload FROM applications")).scalar_one()
        stored = json.loads(stored) if isinstance(stored, str) else stored
        assert stored["phone"].startswith("pii:v1:test:")
        stored["phone"] = (
            stored["phone"][:-8] + ("A" * 6 if stored["phone"][-8] != "A" else "B" * 6) + "=="
        )
        conn.execute(text("UPDATE applications SET payload = :p"), {"p": json.dumps(stored)})
    a = api.client.get(f"/v1/applications/internal/{posted['application_id']}", headers=admin)
    assert a.status_code == 409
    assert a.json()["detail"].startswith(
        f"application {posted['application_id']}: payload.phone: the protected value does not"
    )
    ro = api.client.get(
        f"/v1/applications/internal/{posted['application_id']}", headers=api.as_("read-only")
    )
    assert ro.json()["payload"]["phone"] == "****"
