"""The dashboard's pages on a 100,000-application store and a 100,000-application book.

Target (issue 18): every page loads in under a second. The store (SQLite, a file) is filled in
bulk (``INSERT`` of many rows per statement, not 100,000 calls to the API): applications with
their payloads protected as the service stores them, decisions of the active strategy with the
``cc:<arm>`` step of its champion/challenger split in their traces, a review for every refer. The
book is the twin (``creditfactory.data.simulate``, a year of history) with a scorecard fitted
on its first months for the models page.

Each page is requested through the in-process test client (the app in this process): the
**first** request right after the app started (the book pages' analysis runs in a background
thread from the start, so a first request may wait for it), then ``REPEAT`` **warm** requests
(their median). Times are the server's work per request: wall clock, and CPU of this process
(the client's share is small; the machine is shared, so CPU is the steadier figure). The
analysis of each book page (its CPU, once per book) and one simulation of a candidate strategy
against the active one (``POST /ui/strategies/simulate``, at most 100,000 applications) are
reported beside them; ``GET /health`` is the baseline of a request that does nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import re
import statistics
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

N = 100_000
QUICK_N = 12_000
REPEAT = 5
TARGET_S = 1.0
FEATURES = ["inquiries_other_1m", "utilisation", "loan_apps_installed", "third_party_score"]
ADMIN = "bench-web-admin-key-5Tq9LmXw2RzV"
PAGES = {
    "overview": "/ui/",
    "reviews": "/ui/reviews",
    "review": "/ui/reviews/1",
    "strategies": "/ui/strategies",
    "simulate form": "/ui/strategies/simulate",
    "models": "/ui/models",
    "portfolio": "/ui/portfolio",
    "collections": "/ui/collections",
}
BOOK_PAGES = ("models", "portfolio", "collections")


def strategy(version: str, floor: int) -> str:
    """A strategy on the book's application fields with a champion/challenger split."""
    arm = (
        "        - name: {name}\n          share: 0.5\n          flow:\n"
        "            - assign:\n                name: offer_{name}\n                set:\n"
        '                  limit: "min(monthly_income * {m}, 50000)"\n'
        '                  apr: "0.18"\n                  term: "term_requested"\n'
    )
    return (
        f'strategy: web_bench\nversion: "{version}"\nkey: application_id\ninputs:\n'
        "  application_id: str\n  monthly_income: {type: float, min: 0, max: 100000000}\n"
        "  inquiries_3m: {type: int, min: 0, max: 1000}\n"
        "  term_requested: {type: int, min: 1, max: 120}\nflow:\n"
        "  - rules:\n      name: knockouts\n      rules:\n"
        f'        - {{name: low_income, when: "monthly_income < {floor}", action: decline, '
        "reason: KO_INCOME}\n"
        '        - {name: shopping, when: "inquiries_3m >= 6", action: refer, '
        "reason: RF_INQUIRIES}\n"
        "  - split:\n      name: cc\n      key: application_id\n      salt: bench\n"
        "      arms:\n" + arm.format(name="champion", m=3) + arm.format(name="challenger", m=2)
    )


def build_book(root: Path, n: int) -> tuple[Path, Path, float]:
    """The twin and a scorecard fitted on its first four months; the CPU seconds it took."""
    from creditfactory.data import SimulationConfig, simulate
    from creditfactory.monitoring import matured_outcomes
    from creditfactory.scorecard import Scorecard

    started = time.process_time()
    book = simulate(SimulationConfig(n_applications=n, seed=2, months_of_history=12))
    book.write(root / "book")
    apps = book.observable("applications")
    y = matured_outcomes(book.loans, book.performance, window=3, bad_bucket=1)
    y = y.reindex(apps["application_id"]).to_numpy()
    first = apps["applied_at"].min() + np.timedelta64(120, "D")
    dev = (apps["applied_at"] < first).to_numpy() & ~np.isnan(y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sc = Scorecard(selection=None, min_bin_n_bad=10, max_iv_pvalue=0.05)
        sc.fit(apps.loc[dev, FEATURES], y[dev].astype(int))
    sc.save(root / "model")
    return root / "book", root / "model", time.process_time() - started


def fill_store(app: Any, book: Path, n: int, strategy_id: int) -> float:
    """``n`` applications of the book with decisions and reviews, inserted in bulk; seconds."""
    from sqlalchemy import insert

    from creditfactory.data import Portfolio
    from creditfactory.store import Application, DecisionRecord, Review

    started = time.perf_counter()
    apps = Portfolio.read(book).applications.head(n)
    pii = getattr(app.state, "pii", None)
    rng = random.Random(7)
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=400)  # all settled, none in the future
    fields = ["application_id", "id_number", "phone", "age", "monthly_income", "inquiries_3m",
              "bureau_monthly_debt", "term_requested", "channel", "product"]  # fmt: skip
    rows_a, rows_d, rows_r = [], [], []
    for i, rec in enumerate(apps[fields].to_dict("records"), start=1):
        payload = {k: (v.item() if hasattr(v, "item") else v) for k, v in rec.items()}
        text = repr(sorted(payload.items())).encode()
        at = start + dt.timedelta(minutes=5 * i)  # 100,000 over about a year
        decision = rng.choices(("approve", "refer", "decline"), (0.55, 0.1, 0.35))[0]
        arm = "champion" if rng.random() < 0.5 else "challenger"
        trace = ["knockouts"] + ([] if decision == "decline" else [f"cc:{arm}", f"offer_{arm}"])
        income = float(payload["monthly_income"])
        rows_a.append({
            "id": i, "external_id": payload["application_id"],
            "payload": pii.protect(payload) if pii is not None else payload,
            "request_sha256": hashlib.sha256(text).hexdigest(), "idempotency_key": None,
            "api_key_id": None, "received_at": at,
        })  # fmt: skip
        rows_d.append({
            "id": i, "application_id": i, "strategy_id": strategy_id, "strategy": "web_bench",
            "version": "1", "decision": decision,
            "limit": None if decision == "decline" else min(income * 3, 50_000.0),
            "apr": None if decision == "decline" else 0.18,
            "term": None if decision == "decline" else int(payload["term_requested"]),
            "reasons": {"approve": [], "refer": ["RF_INQUIRIES"], "decline": ["KO_INCOME"]}[
                decision],
            "trace": trace, "model_versions": {}, "values": {}, "list_hits": [],
            "decided_at": at,
        })  # fmt: skip
        if decision == "refer":
            rows_r.append({
                "decision_id": i, "queue_reason": "refer", "status": "pending", "outcome": None,
                "reason": None, "reviewer": None, "queued_at": at, "reviewed_at": None,
            })  # fmt: skip
    with app.state.store.session() as s:
        for table, rows in ((Application, rows_a), (DecisionRecord, rows_d), (Review, rows_r)):
            for k in range(0, len(rows), 5_000):
                s.execute(insert(table), rows[k : k + 5_000])
    return time.perf_counter() - started


def timed(client: Any, method: str, path: str, **kw: Any) -> tuple[float, float, int]:
    """Wall and CPU seconds of one request, and the response's size."""
    w, c = time.perf_counter(), time.process_time()
    r = client.request(method, path, **kw)
    wall, cpu = time.perf_counter() - w, time.process_time() - c
    if r.status_code != 200:
        raise RuntimeError(f"{method} {path} answered {r.status_code}: {r.text[:300]}")
    if 'id="empty-state"' in r.text or 'id="simulate-error"' in r.text:
        said = re.search(r'id="(?:empty-state|simulate-error)">([^<]*)<', r.text)
        raise RuntimeError(f"{path} shows no data: {said.group(1) if said else ''}")
    return wall, cpu, len(r.content)


def run(quick: bool = False, n: int | None = None) -> dict[str, Any]:
    from fastapi.testclient import TestClient

    from creditfactory.api import Settings, create_app
    from creditfactory.web import _book_views

    n = n or (QUICK_N if quick else N)
    repeat = 3 if quick else REPEAT
    token = re.compile(r'name="csrf" value="([^"]+)"')
    with tempfile.TemporaryDirectory(prefix="bench-web-") as tmp:
        root = Path(tmp)
        book, model, book_cpu = build_book(root, n)
        settings = Settings(database_url=f"sqlite:///{root / 'web.db'}", admin_key=ADMIN,
                            engine_process=False, ui_book=book, ui_model=model,
                            max_body_bytes=0)  # fmt: skip
        # the store: the strategy through the API, the rows in bulk
        setup = create_app(settings.model_copy(update={"ui_book": None}))
        with TestClient(setup, base_url="http://127.0.0.1") as c:
            r = c.post("/v1/strategies", headers={"X-API-Key": ADMIN},
                       json={"source": strategy("1", 3000), "activate": True})  # fmt: skip
            assert r.status_code == 201, r.text
            fill_seconds = fill_store(setup, book, n, r.json()["id"])
        setup.state.store.dispose()
        # a fresh app on that store and book: first loads, then warm ones
        app = create_app(settings)
        first: dict[str, tuple[float, float, int]] = {}
        warm: dict[str, list[tuple[float, float, int]]] = {}
        with TestClient(app, base_url="http://127.0.0.1") as c:
            login = c.get("/ui/login")
            csrf = token.search(login.text).group(1)  # type: ignore[union-attr]
            page = c.post("/ui/login", data={"key": ADMIN, "csrf": csrf})
            csrf = token.search(page.text).group(1)  # type: ignore[union-attr]
            for name, path in PAGES.items():
                first[name] = timed(c, "GET", path)
            for _ in range(repeat):
                for name, path in PAGES.items():
                    warm.setdefault(name, []).append(timed(c, "GET", path))
            health = [timed(c, "GET", "/health") for _ in range(repeat)]
            form = {"csrf": csrf, "source": strategy("2", 5000)}
            sim = timed(c, "POST", "/ui/strategies/simulate", data=form)
            analyses = {k: v[1].cpu_seconds for k, v in _book_views._views.items()}
        app.state.store.dispose()

    def med(rows: list[tuple[float, float, int]], i: int) -> float:
        return statistics.median(r[i] for r in rows)

    table: list[list[Any]] = [["page", "first wall s", "first CPU s", "warm wall s (median)",
                               "warm CPU s (median)", "KiB", "analysis CPU s (once)"]]  # fmt: skip
    metrics: dict[str, float] = {"applications": n}
    for name in PAGES:
        rows = warm[name]
        key = name.replace(" ", "_")
        table.append([name, round(first[name][0], 3), round(first[name][1], 3),
                      round(med(rows, 0), 3), round(med(rows, 1), 3),
                      round(rows[-1][2] / 1024, 1),
                      round(analyses.get(name, 0.0), 2) if name in BOOK_PAGES else "-",
                      ])  # fmt: skip
        metrics[f"{key}_first_s"] = first[name][0]
        metrics[f"{key}_warm_s"] = med(rows, 0)
        metrics[f"{key}_warm_cpu_s"] = med(rows, 1)
    table.append(["GET /health", "-", "-", round(med(health, 0), 4), round(med(health, 1), 4),
                  round(health[-1][2] / 1024, 1), "-"])  # fmt: skip
    table.append(["simulate (POST)", round(sim[0], 3), round(sim[1], 3), "-", "-",
                  round(sim[2] / 1024, 1), "-"])  # fmt: skip
    warm_max = max(med(warm[p], 0) for p in PAGES)
    metrics.update(
        warm_max_s=warm_max,
        warm_max_cpu_s=max(med(warm[p], 1) for p in PAGES),
        first_max_s=max(first[p][0] for p in PAGES),
        pages_warm_under_1s=sum(med(warm[p], 0) < TARGET_S for p in PAGES),
        pages=len(PAGES),
        health_s=med(health, 0),
        warm_max_over_health=warm_max / max(med(health, 0), 1e-9),
        simulate_s=sim[0],
        store_fill_s=fill_seconds,
        book_build_cpu_s=book_cpu,
    )
    return {
        "name": "web",
        "metrics": metrics,
        "table": table,
        "notes": (
            f"{n:,} applications in the store (SQLite, bulk insert) and in the book; first: the "
            f"first request after the app started (a book page may wait for its analysis, "
            f"which starts with the app); warm: median of {repeat}; in-process test client; "
            f"target {TARGET_S:g} s a page"
        ),
    }
