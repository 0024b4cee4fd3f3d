"""kill -9: the server's front and its engine process, and the batch factory, at random points.

Server: clients post applications, each with its own ``Idempotency-Key``, and retry until
answered while a killer sends SIGKILL to the front (then starts it again on the same port) or
to the engine child process (the front starts a new one). At the end every acknowledged
application must be stored exactly once with the decision it was answered with, every
application must have been answered, and ``creditfactory audit verify`` must pass.

Batch: ``creditfactory batch decide --database-url`` (a subprocess) is killed at random points
(during start-up, or after a random number of chunks) and started again until it completes;
the output must hold every input row exactly once, equal an uninterrupted run, and the ledger
must record each chunk once and verify.
"""

from __future__ import annotations

import json
import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from drills._common import (
    ADMIN_KEY,
    application,
    audit_verify,
    call,
    database,
    kinds,
    restart,
    result,
    say,
    start,
    strategy_text,
    workdir,
)

CLI = "import sys; from creditfactory.cli import main; sys.argv[0] = 'creditfactory'; main()"


# ----------------------------------------------------------------------------- the server


def _engine_pid(front_pid: int, wait: float = 15.0) -> int | None:
    """The engine child of the front (started again lazily after a kill: waits for it)."""
    import psutil

    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            children = psutil.Process(front_pid).children()
        except psutil.NoSuchProcess:
            return None
        if children:
            return int(children[0].pid)
        time.sleep(0.05)
    return None


def server_kills(kind: str, kills: int, tmp: Path, clients: int = 6, seed: int = 0) -> dict:
    """Kill the front and the engine ``kills`` times in all (alternating at random)."""
    t0 = time.perf_counter()
    rng = random.Random(seed)
    targets = ["front", "engine"] * (kills // 2) + rng.sample(["front", "engine"], kills % 2)
    rng.shuffle(targets)
    with database(kind, tmp) as url:
        svc = start(url, tmp, roles=False)
        pending: queue.Queue[int] = queue.Queue()
        acked: dict[str, str] = {}  # external id -> decision id answered
        statuses: dict[int, int] = {}
        conn_errors = 0
        next_id = iter(range(10**9))
        killing = threading.Event()
        killing.set()
        lock = threading.Lock()
        samples: list[str] = []

        def client() -> None:
            nonlocal conn_errors
            while True:
                try:
                    i = pending.get_nowait()
                except queue.Empty:
                    if not killing.is_set():
                        return
                    i = next(next_id)
                app = application(i, "K")
                try:
                    status, body = call(
                        svc.url,
                        "POST",
                        "/v1/applications",
                        ADMIN_KEY,
                        app,
                        {"Idempotency-Key": f"kill-{i}"},
                        timeout=20,
                    )
                except OSError:
                    with lock:
                        conn_errors += 1
                    pending.put(i)
                    time.sleep(0.05)
                    continue
                with lock:
                    statuses[status] = statuses.get(status, 0) + 1
                if status in (200, 201):
                    with lock:
                        acked[app["application_id"]] = str(json.loads(body)["decision_id"])
                else:
                    if status >= 500 and status != 503 and len(samples) < 3:
                        samples.append(f"{status}: {body[:200]!r}")
                    pending.put(i)
                    time.sleep(0.05)

        threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
        for t in threads:
            t.start()
        done = {"front": 0, "engine": 0}
        try:
            for target in targets:
                time.sleep(rng.uniform(0.1, 0.8))
                front = svc.server.process.pid
                if target == "front":
                    os.kill(front, signal.SIGKILL)
                    svc.server.process.wait()
                    restart(svc)
                else:
                    pid = _engine_pid(front)
                    if pid is None:
                        say(f"  {kind}: no engine process found under the front; skipped")
                        continue
                    os.kill(pid, signal.SIGKILL)
                done[target] += 1
            killing.clear()
            for t in threads:
                t.join(120)
        finally:
            killing.clear()
            svc.stop()
        stored = _stored(url)
        code, report = audit_verify(url)
    sent = sum(statuses.values()) + conn_errors
    duplicated = sum(1 for ids in stored.values() if len(ids) > 1)
    lost_acked = sum(1 for ext, dec in acked.items() if stored.get(ext) != [dec])
    unanswered = len(pending.queue)
    findings = []
    if duplicated:
        findings.append(f"server/{kind}: {duplicated} application(s) stored more than once")
    if lost_acked:
        findings.append(
            f"server/{kind}: {lost_acked} acknowledged application(s) not stored "
            "once with the decision they were answered with"
        )
    if unanswered:
        findings.append(f"server/{kind}: {unanswered} application(s) never answered")
    if code != 0:
        findings.append(f"server/{kind}: audit verify exit {code}: {report[:300]}")
    for s in samples:
        findings.append(f"server/{kind}: POST /v1/applications during a kill answered {s}")
    say(
        f"  {kind}: killed the front {done['front']}x and the engine {done['engine']}x "
        f"in {time.perf_counter() - t0:.0f} s; "
        f"{sent:,} requests ({conn_errors:,} cut off), statuses {dict(sorted(statuses.items()))}; "
        f"{len(acked):,} applications acknowledged, {len(stored):,} stored, {duplicated} twice; "
        f"audit verify exit {code}: {report[:120]}"
    )
    return {
        "sent": sent,
        "accepted": len(acked),
        "lost": lost_acked + unanswered,
        "duplicated": duplicated,
        "findings": findings,
        "kills": done,
        "ok": not findings,
    }


def _stored(url: str) -> dict[str, list[str]]:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    out: dict[str, list[str]] = {}
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT a.external_id, d.id FROM applications a "
                    "LEFT JOIN decisions d ON d.application_id = a.id ORDER BY a.id"
                )
            ).all()
    finally:
        engine.dispose()
    for ext, dec in rows:
        out.setdefault(str(ext), []).append(str(dec))
    return out


# ----------------------------------------------------------------------------- the batch


def batch_kills(
    kind: str, kills: int, tmp: Path, rows: int = 6000, chunk: int = 20, seed: int = 0
) -> dict:
    import polars as pl
    from polars.testing import assert_frame_equal

    from creditfactory.batch import decide_file, parts_dir
    from creditfactory.decision import Strategy

    t0 = time.perf_counter()
    rng = random.Random(seed)
    apps = tmp / f"apps-{kind}.parquet"
    pl.DataFrame([application(i, "B") for i in range(rows)]).write_parquet(apps)
    strategy = tmp / "batch-strategy.yaml"
    strategy.write_text(strategy_text(), encoding="utf-8")
    expected_path = tmp / f"expected-{kind}.parquet"
    decide_file(Strategy.load(strategy), apps, expected_path, chunk_size=chunk)
    out = tmp / f"out-{kind}.parquet"
    findings: list[str] = []
    with database(kind, tmp) as url:
        from creditfactory.store import Store

        store = Store(url)
        store.migrate()
        store.dispose()
        cmd = [
            sys.executable,
            "-c",
            CLI,
            "batch",
            "decide",
            "--strategy",
            str(strategy),
            "--input",
            str(apps),
            "--out",
            str(out),
            "--chunk-size",
            str(chunk),
            "--database-url",
            url,
        ]
        work = parts_dir(out)
        killed = runs = 0
        points: list[str] = []
        while killed < kills and runs < kills * 3:
            runs += 1
            errlog = tmp / f"batch-{kind}.err"  # a file, not a pipe nobody reads meanwhile
            with errlog.open("wb") as err_file:
                proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err_file)
            before = len(list(work.glob("part-*.parquet"))) if work.exists() else 0
            if rng.random() < 0.3:  # somewhere in start-up: imports, manifest, first chunk
                point = f"after {rng.uniform(0.2, 1.5):.2f} s"
                deadline = time.monotonic() + float(point.split()[1])
                while time.monotonic() < deadline and proc.poll() is None:
                    time.sleep(0.005)
            else:  # after a random number of chunks of this run
                target = before + rng.randint(1, 4)
                point = f"at chunk {target}"
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline and proc.poll() is None:
                    if work.exists() and len(list(work.glob("part-*.parquet"))) >= target:
                        break
                    time.sleep(0.002)
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.wait(30)
                killed += 1
                points.append(point)
            else:
                err = errlog.read_text(errors="replace")
                if proc.returncode != 0:
                    findings.append(f"batch/{kind}: a run exited {proc.returncode}: {err[-300:]}")
                    break
                say(f"  {kind}: the run finished before kill {killed + 1} ({point})")
                break
        final = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        if final.returncode != 0:
            findings.append(
                f"batch/{kind}: the resumed run exited {final.returncode}: {final.stderr[-300:]}"
            )
        lost = duplicated = 0
        if out.exists():
            got = pl.read_parquet(out)
            counts = got.group_by("row").len()
            lost = rows - counts.height
            duplicated = int((counts["len"] > 1).sum())
            try:
                assert_frame_equal(got, pl.read_parquet(expected_path))
                same = True
            except AssertionError as exc:
                same = False
                findings.append(
                    f"batch/{kind}: output differs from an uninterrupted run: {str(exc)[:200]}"
                )
        else:
            lost, same = rows, False
        code, report = audit_verify(url)
        if code != 0:
            findings.append(f"batch/{kind}: audit verify exit {code}: {report[:300]}")
        chunks = _recorded_chunks(url)
        n_chunks = -(-rows // chunk)
        if sorted(chunks) != list(range(n_chunks)):
            twice = len(chunks) - len(set(chunks))
            findings.append(
                f"batch/{kind}: ledger records {len(chunks)} chunk entries for "
                f"{n_chunks} chunks ({twice} twice)"
            )
    if lost:
        findings.append(f"batch/{kind}: {lost} input row(s) missing from the output")
    if duplicated:
        findings.append(f"batch/{kind}: {duplicated} input row(s) more than once in the output")
    say(
        f"  {kind}: batch of {rows:,} rows in chunks of {chunk} killed {killed}x in "
        f"{time.perf_counter() - t0:.0f} s "
        f"({', '.join(points[:6])}{' ...' if len(points) > 6 else ''}); resumed run exit "
        f"{final.returncode}; rows missing {lost}, twice {duplicated}, equal to an "
        f"uninterrupted run: {same}; ledger chunk entries {len(chunks)}; audit verify exit {code}"
    )
    if killed < kills:
        findings.append(f"batch/{kind}: only {killed} of {kills} kills landed")
    return {
        "killed": killed,
        "lost": lost,
        "duplicated": duplicated,
        "findings": findings,
        "ok": not findings,
    }


def _recorded_chunks(url: str) -> list[int]:
    import json

    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT payload FROM ledger WHERE kind = 'batch.chunk'")).all()
    finally:
        engine.dispose()
    return sorted(int(json.loads(r[0])["chunk"]) for r in rows)


def run(
    quick: bool = False,
    server: int | None = None,
    batch: int | None = None,
    databases: list[str] | None = None,
    rows: int = 6000,
) -> dict[str, Any]:
    """``server`` / ``batch``: kills per database (default 20 and 20: on each database 20 of
    the server, half front, half engine, and 20 of the batch factory; 2 each with ``quick``);
    ``rows``: the batch input's size (chunks of 20)."""
    notes: list[str] = []
    server = server if server is not None else (2 if quick else 20)
    batch = batch if batch is not None else (2 if quick else 20)
    todo = databases or kinds(notes)
    say(
        f"kill -9 drill on {', '.join(todo)}: {server} server kills (front or engine, at random) "
        f"and {batch} batch-factory kills per database"
    )
    total = {"sent": 0, "accepted": 0, "lost": 0, "duplicated": 0}
    findings: list[str] = []
    figures: dict[str, Any] = {}
    ok = True
    with workdir("kill") as tmp:
        for kind in todo:
            if server:
                s = server_kills(kind, server, tmp, seed=len(kind))
                for k in total:
                    total[k] += s[k]
                findings += s["findings"]
                figures[f"server_{kind}"] = {k: s[k] for k in ("sent", "accepted", "kills")}
                ok &= s["ok"]
            if batch:
                b = batch_kills(kind, batch, tmp, rows=rows, seed=len(kind))
                total["lost"] += b["lost"]
                total["duplicated"] += b["duplicated"]
                findings += b["findings"]
                figures[f"batch_{kind}"] = {"kills": b["killed"]}
                ok &= b["ok"]
    return result("kill", ok, **total, findings=findings, figures=figures, notes="; ".join(notes))
