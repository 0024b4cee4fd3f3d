"""database outage: PostgreSQL "stopped" mid-run and started again.

The machine's PostgreSQL server is shared and is never stopped: the drill **simulates the
outage with a TCP proxy** (asyncio, in this process) between the service and 127.0.0.1:5432.
Clients post applications with ``Idempotency-Key`` s and retry until answered; mid-run the proxy
closes every connection and refuses new ones for a few seconds, then accepts again. Expected:
during the outage clean 503s (or other retriable answers: no 500, no traceback or server path
in a body); nothing half-written (every acknowledged application stored once with its decision
and ledger entry, ``audit verify`` passing); the service answering again by itself, without a
restart, soon after the database is back.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from typing import Any

from drills._common import (
    ADMIN_KEY,
    application,
    audit_verify,
    call,
    leaks,
    pg_schema,
    postgres_problem,
    result,
    say,
    start,
    workdir,
)


class Proxy:
    """A TCP proxy to ``127.0.0.1:5432`` on a free port of its own, in a thread; ``cut()``
    closes every connection and refuses new ones, ``restore()`` accepts again."""

    def __init__(self, target: tuple[str, int] = ("127.0.0.1", 5432)):
        self.target = target
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.loop = asyncio.new_event_loop()
        self.server: asyncio.AbstractServer | None = None
        self.writers: set[asyncio.StreamWriter] = set()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self._run(self._listen())

    def _run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    async def _listen(self) -> None:
        self.server = await asyncio.start_server(
            self._handle, "127.0.0.1", self.port, reuse_address=True
        )

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self.writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (OSError, asyncio.CancelledError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self.writers -= {writer, up_writer}

    async def _cut(self) -> int:
        assert self.server is not None
        self.server.close()
        n = len(self.writers)
        for w in list(self.writers):
            w.transport.abort()  # a reset, as a database that died would give
        self.writers.clear()
        await self.server.wait_closed()
        return n // 2

    def cut(self) -> int:
        """Close everything (returns how many connections were cut) and refuse new ones."""
        return int(self._run(self._cut()))

    def restore(self) -> None:
        self._run(self._listen())

    async def _close(self) -> None:
        if self.server is not None and self.server.is_serving():
            await self._cut()
        for w in list(self.writers):
            w.transport.abort()

    def close(self) -> None:
        """Stop the proxy, its connections, thread and event loop."""
        self._run(self._close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


def run(quick: bool = False, outage: float | None = None, clients: int = 6) -> dict[str, Any]:
    outage = outage or (2.0 if quick else 5.0)
    before, after = (1.5, 2.0) if quick else (4.0, 8.0)
    problem = postgres_problem()
    if problem is not None:
        say(f"database outage drill skipped: PostgreSQL unreachable ({problem})")
        return result("outage", True, notes=f"skipped: PostgreSQL unreachable ({problem})")
    say(
        f"database outage drill (PostgreSQL; the outage is SIMULATED with a TCP proxy in the "
        f"drill, the real server is never stopped): {clients} clients posting with "
        f"Idempotency-Keys and retrying; {before:g} s of traffic, the proxy cuts every "
        f"connection and refuses new ones for {outage:g} s, then {after:g} s more"
    )
    proxy = Proxy()
    findings: list[str] = []
    statuses: dict[str, dict[int, int]] = {"before": {}, "outage": {}, "after": {}}
    acked: dict[str, str] = {}
    conn_errors = 0
    phase = ["before"]
    samples: list[str] = []
    first_ok_after: list[float] = []
    restored_at = [0.0]
    try:
        with pg_schema("cf_outage") as (_schema, direct_url), workdir("outage") as tmp:
            via = direct_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
            svc = start(via, tmp, roles=False)
            stop = threading.Event()
            lock = threading.Lock()
            counter = iter(range(10**9))
            pending: list[int] = []

            def client() -> None:
                nonlocal conn_errors
                while not stop.is_set() or pending:
                    with lock:
                        i = pending.pop() if pending else None
                    if i is None:
                        if stop.is_set():
                            return
                        i = next(counter)
                    app = application(i, "U")
                    where = phase[0]
                    try:
                        status, body = call(
                            svc.url,
                            "POST",
                            "/v1/applications",
                            ADMIN_KEY,
                            app,
                            {"Idempotency-Key": f"out-{i}"},
                            timeout=30,
                        )
                    except OSError:
                        with lock:
                            conn_errors += 1
                            pending.append(i)
                        time.sleep(0.1)
                        continue
                    where = phase[0]  # when the answer came
                    with lock:
                        bucket = statuses[where]
                        bucket[status] = bucket.get(status, 0) + 1
                        leak = leaks(body)
                        if ((status >= 500 and status != 503) or leak) and len(samples) < 5:
                            samples.append(
                                f"{where}: POST /v1/applications (Idempotency-Key "
                                f"out-{i}) -> {status}: {body[:160]!r}"
                            )
                        if status in (200, 201):
                            acked[app["application_id"]] = str(json.loads(body)["decision_id"])
                            if where == "after" and not first_ok_after:
                                first_ok_after.append(time.monotonic() - restored_at[0])
                        else:
                            pending.append(i)
                    if status not in (200, 201):
                        time.sleep(0.1)

            threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
            for t in threads:
                t.start()
            time.sleep(before)
            phase[0] = "outage"
            cut = proxy.cut()
            say(f"  proxy cut: {cut} database connection(s) closed, new ones refused")
            time.sleep(outage)
            proxy.restore()
            restored_at[0] = time.monotonic()
            phase[0] = "after"
            say("  proxy restored: the database is reachable again")
            time.sleep(after)
            stop.set()
            for t in threads:
                t.join(60)
            health = call(svc.url, "GET", "/health")[0]
            svc.stop()
            stored = _stored(direct_url)
            code, report = audit_verify(direct_url)
    finally:
        proxy.close()
    for where, got in statuses.items():
        say(f"  {where:<7} statuses {dict(sorted(got.items()))}")
    bad: dict[int, int] = {}
    for got in statuses.values():
        for k, v in got.items():
            if k >= 500 and k != 503:
                bad[k] = bad.get(k, 0) + v
    if bad:
        findings.append(f"non-503 5xx answers: {bad}")
    findings += samples
    half = [e for e, (d, ledger) in stored.items() if d is None or not ledger]
    duplicated = sum(1 for e in stored.values() if e[0] is not None and e[0].count(",") > 0)
    lost = sum(1 for ext, dec in acked.items() if ext not in stored or stored[ext][0] != dec)
    unanswered = len(pending)
    if half:
        findings.append(f"{len(half)} application(s) stored without a decision or ledger entry")
    if lost or unanswered:
        findings.append(
            f"{lost} acknowledged application(s) not stored with their decision, "
            f"{unanswered} never answered"
        )
    if code != 0:
        findings.append(f"audit verify exit {code}: {report[:300]}")
    resumed = first_ok_after[0] if first_ok_after else None
    if resumed is None:
        findings.append("the service did not answer a 2xx after the database came back")
    say(
        f"  {len(acked):,} applications acknowledged ({conn_errors} connection errors); "
        f"first success {resumed if resumed is None else round(resumed, 2)} s after the "
        f"database came back; /health {health}; audit verify exit {code}: {report[:90]}"
    )
    return result(
        "outage",
        not findings,
        sent=sum(sum(v.values()) for v in statuses.values()) + conn_errors,
        accepted=len(acked),
        lost=lost + unanswered,
        duplicated=duplicated,
        findings=findings,
        figures={
            "statuses": statuses,
            "resumed_after_s": resumed,
            "outage_s": outage,
            "non_503_5xx": sum(bad.values()),
            "half_written": len(half),
            "audit_exit": code,
        },
        notes="outage simulated with a TCP proxy in front of PostgreSQL",
    )


def _stored(url: str) -> dict[str, tuple[str | None, bool]]:
    """external id -> (decision ids, comma-separated; whether the ledger vouches for it)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT a.external_id, a.id, d.id FROM applications a "
                    "LEFT JOIN decisions d ON d.application_id = a.id ORDER BY a.id"
                )
            ).all()
            subjects = {r[0] for r in conn.execute(text("SELECT subject FROM ledger"))}
            payloads = [r[0] for r in conn.execute(text("SELECT payload FROM ledger"))]
    finally:
        engine.dispose()
    vouched = set(subjects)
    for p in payloads:
        vouched |= set((json.loads(p).get("digests") or {}).keys())
    out: dict[str, tuple[str | None, bool]] = {}
    for ext, app_id, dec in rows:
        prev = out.get(str(ext))
        ids = str(dec) if dec is not None else None
        if prev is not None and prev[0] is not None and ids is not None:
            ids = f"{prev[0]},{ids}"
        out[str(ext)] = (ids, f"application:{app_id}" in vouched)
    return out
