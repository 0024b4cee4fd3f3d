"""Decision engine speed: the reference strategy online (one application at a time) and in
batch, against zen-engine online and a hand-written NumPy implementation of the same logic in
batch, all measured in the same run.

Targets (issue 4): online p50 <= 20 us and p99 <= 100 us in process (no GBM in the path); batch
rows/s on 1,000,000 applications within 3x of the NumPy implementation. The NumPy version and
zen-engine are checked to give the same decisions as the engine before their times count.
Prices come from the lifetime cash-flow model (``creditfactory.pricing.risk_based_apr``, a NumPy
solver): the hand-written version calls it, and zen-engine, whose expression language has no such
solver, gets each row's price as an input computed by it (so zen's time leaves the pricing out).

Every contender is declared in :data:`CONTENDERS` (what is timed, and the warm-up and repetitions,
the same within a group) and timed with the helpers of ``benchmarks/_common.py``:

* online, ``creditfactory``: ``Strategy.decide(dict)`` on a strategy loaded once;
* online, ``creditfactory`` with its fraud step: the full reference strategy, its provided
  ``fraud:`` inputs answered by a keyed-hash :class:`~creditfactory.fraud.FraudSource`, the
  applications in arrival order (each one new to the history); its p50 and median thread CPU
  against the row above's show what the fraud step costs (:func:`online_with_fraud`);
* online, zen-engine (GoRules JDM, the strategy written as a JDM graph by :func:`zen_graph`):
  ``ZenEngine({"loader": {"type": "static", "content": {KEY: graph}}}).evaluate(KEY, dict)``.
  zen-engine's Python documentation recommends a loader (with pre-compiled content) for the best
  performance; the engine then keeps the compiled graph between calls. Measured here (zen-engine
  2.1.3, 2026-12-06), that path took about 60 us a decision, ``create_decision(content)
  .evaluate(dict)`` 100-155 us (p50) and ``create_decision(str)`` about 155 us; passing the
  application as a JSON string instead of a dict changed little (59 against 61 us) and would
  bill the serialisation to nobody, so the dict is passed, as to ours. The runner times both
  documented paths (static loader and ``create_decision``) on the same applications with the
  same protocol, and the faster one is the zen-engine figure. It runs only when
  ``benchmarks/.peers-venv`` has zen-engine (created on demand, never part of ``make test``);
* batch, ``creditfactory``: ``Strategy.decide_batch(frame)`` on a Polars frame built from the
  pandas table before timing;
* batch, NumPy: :func:`numpy_reference` on NumPy arrays of only the columns it reads
  (:data:`NUMPY_COLUMNS`), taken from the same pandas table before timing (text stays object
  arrays, as pandas hands them over; list checks look each value up in a Python set, the
  fastest of the ways tried: see :func:`on_list`). Both start from data already in their own
  form, and neither pays for a conversion inside the timed region.

Online: 500 applications of warm-up, then every application timed once (GC off for both).
Batch: one untimed call, then the best of three.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import yaml

from benchmarks._common import (
    Contender,
    Protocol,
    check_contenders,
    measure,
    peak_rss_mib,
    per_call_ns,
)
from creditfactory.data import SimulationConfig, simulate
from creditfactory.decision import Strategy
from creditfactory.fraud import FraudSource, HashedLists, Lookups, keyed_hasher
from creditfactory.pricing import LoanEconomics, risk_based_apr

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "examples" / "strategies" / "reference.yaml"
# the hand-written versions price with the strategy's own parameters
P = yaml.safe_load(REFERENCE.read_text(encoding="utf-8"))["params"]
ECONOMICS = LoanEconomics(lgd=P["lgd"], cost_of_funds=P["cost_of_funds"])
SPEC = ROOT / "examples" / "strategies" / "models" / "application_scorecard.json"
ZEN_KEY = "reference.json"


def reference_strategy() -> Strategy:
    """The reference strategy without its anti-fraud step (the provided ``fraud:`` inputs and
    the ``fraud`` rules): the credit logic that the NumPy and zen-engine versions reproduce.
    The full strategy, fraud step included, is timed as its own online row
    (:func:`online_with_fraud`)."""
    doc = yaml.safe_load(REFERENCE.read_text(encoding="utf-8"))
    provided = {k for k, v in doc["inputs"].items() if isinstance(v, dict) and "provided" in v}
    doc["inputs"] = {k: v for k, v in doc["inputs"].items() if k not in provided}
    doc["flow"] = [
        step for step in doc["flow"]
        if not ("rules" in step and step["rules"].get("name") == "fraud")
    ]  # fmt: skip
    doc["outputs"] = [o for o in doc.get("outputs", []) if o not in provided]
    return Strategy.from_yaml(yaml.safe_dump(doc, sort_keys=False), base=REFERENCE.parent)


ONLINE = Protocol(warmup=500)
BATCH = Protocol(warmup=1, repeat=3)
CONTENDERS = (
    Contender("creditfactory online", "online", "Strategy.decide(dict)", ONLINE),
    Contender(
        "creditfactory online, with its fraud step",
        "online",
        "Strategy.decide(dict, Lookups with a keyed-hash FraudSource), the full reference "
        "strategy, applications in arrival order (each one new to the history)",
        ONLINE,
    ),
    Contender(
        "zen-engine online (static loader)",
        "online",
        "ZenEngine({'loader': {'type': 'static', 'content': {KEY: graph}}}).evaluate(KEY, dict)",
        ONLINE,
    ),
    Contender(
        "zen-engine online (create_decision)",
        "online",
        "ZenEngine().create_decision(ZenDecisionContent(graph)).evaluate(dict), created once",
        ONLINE,
    ),
    Contender(
        "creditfactory batch",
        "batch",
        "Strategy.decide_batch(polars.DataFrame built before timing)",
        BATCH,
    ),
    Contender(
        "numpy batch",
        "batch",
        "numpy_reference(NumPy arrays of NUMPY_COLUMNS built before timing)",
        BATCH,
    ),
)
check_contenders(CONTENDERS)
BY_NAME = {c.name: c for c in CONTENDERS}
# the zen runner's paths, by contender name
ZEN_PATHS = {
    "zen-engine online (static loader)": "static_loader",
    "zen-engine online (create_decision)": "create_decision",
}


def _clean(row: dict[str, Any]) -> dict[str, Any]:
    return {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in row.items()}


def _summary(times_ns: list[int] | np.ndarray) -> dict[str, float]:
    times = np.asarray(times_ns, dtype=float) / 1e3
    return {
        "p50_us": float(np.percentile(times, 50)),
        "p99_us": float(np.percentile(times, 99)),
        "mean_us": float(times.mean()),
        "decisions_per_s": 1e6 / float(times.mean()),
    }


def _cpu_timed(fn: Any, warmup: int) -> tuple[Any, list[int]]:
    """``fn`` and the list its calls after the first ``warmup`` append their thread CPU
    nanoseconds to (CPU time is what a loaded, shared machine leaves steady)."""
    cpu: list[int] = []
    calls = [0]
    clock = time.thread_time_ns

    def timed(item: Any) -> Any:
        calls[0] += 1
        start = clock()
        out = fn(item)
        if calls[0] > warmup:
            cpu.append(clock() - start)
        return out

    return timed, cpu


def online(strategy: Strategy, rows: list[dict[str, Any]]) -> dict[str, float]:
    """p50, p99 and mean microseconds of ``strategy.decide`` over ``rows`` (the online
    protocol: warm-up on the first rows, then each row timed once), and the median thread CPU
    microseconds of a decision (``cpu_us``)."""
    fn, cpu = _cpu_timed(strategy.decide, ONLINE.warmup)
    times = per_call_ns(BY_NAME["creditfactory online"], fn, rows, rows)
    return _summary(times) | {"cpu_us": float(np.median(cpu)) / 1e3}


def full_reference_strategy() -> Strategy:
    """The reference strategy as shipped, its anti-fraud step included."""
    return Strategy.from_yaml(REFERENCE.read_text(encoding="utf-8"), base=REFERENCE.parent)


def online_with_fraud(rows: list[dict[str, Any]]) -> dict[str, float]:
    """:func:`online` for the full reference strategy, whose fraud inputs a
    :class:`~creditfactory.fraud.FraudSource` (keyed hashes, as the service's) answers: the
    applications in arrival order, the warm-up ones first (they join the history), each timed
    one new to the history (a repeated one would be answered from the source's cache)."""
    strategy = full_reference_strategy()
    source = FraudSource(hasher=keyed_hasher("bench"))
    lookups = Lookups({"list": HashedLists.empty(), "fraud": source})
    ordered = sorted(rows, key=lambda r: r["applied_at"])
    warm, timed = ordered[: ONLINE.warmup], ordered[ONLINE.warmup :]
    contender = BY_NAME["creditfactory online, with its fraud step"]
    fn, cpu = _cpu_timed(lambda r: strategy.decide(r, lookups), ONLINE.warmup)
    times = per_call_ns(contender, fn, timed, warm)
    return _summary(times) | {"cpu_us": float(np.median(cpu)) / 1e3}


# ---------------------------------------------------------------- the same logic in NumPy
# the columns numpy_reference reads: all it is given, converted before timing
NUMPY_COLUMNS = (
    "id_number", "phone", "device_id", "product", "age", "term_requested", "monthly_income",
    "bureau_monthly_debt", "delinquencies_24m", "inquiries_3m", "utilisation",
    "contacts_blacklisted_share", "loan_apps_installed", "form_fill_seconds",
    "gps_city_mismatch", "night_application", "amount_requested",
)  # fmt: skip


def numpy_columns(spec: dict[str, Any]) -> tuple[str, ...]:
    """:data:`NUMPY_COLUMNS` and the scorecard's characteristics, once each, in order."""
    names = list(NUMPY_COLUMNS) + [c["name"] for c in spec["characteristics"]]
    return tuple(dict.fromkeys(names))


def numpy_arrays(df: pd.DataFrame, spec: dict[str, Any]) -> dict[str, np.ndarray]:
    """The columns :func:`numpy_reference` reads, as NumPy arrays (done before timing, as the
    engine's Polars frame is built before timing)."""
    return {c: df[c].to_numpy() for c in numpy_columns(spec)}


def on_list(x: np.ndarray, entries: set[str]) -> np.ndarray:
    """Which values of the object array ``x`` are in ``entries``: one hashed set look-up a
    value. ``np.isin`` on object arrays compares every value with every entry (3.6 s for 200,000
    rows against the 778-entry blacklist, measured 2026-12-06), ``pandas.Series.isin`` hashes
    (about 2x this); this is the fastest of the three, so the baseline uses it."""
    return np.fromiter((v in entries for v in x.tolist()), dtype=bool, count=len(x))


def numpy_reference(
    f: dict[str, np.ndarray], spec: dict[str, Any], blacklist: set[str]
) -> dict[str, np.ndarray]:
    """examples/strategies/reference.yaml written by hand with NumPy (pandas.factorize for text),
    on the arrays of :func:`numpy_arrays`.

    Decision codes: 0 approve, 1 refer, 2 decline.
    """
    income, debt = f["monthly_income"], f["bureau_monthly_debt"]
    with np.errstate(divide="ignore", invalid="ignore"):
        dti = np.where(income != 0, debt / income, np.nan)
    declined = (
        on_list(f["id_number"], blacklist)
        | on_list(f["phone"], blacklist)
        | on_list(f["device_id"], blacklist)
    )
    age, term = f["age"], f["term_requested"]
    ko = (
        (age < 18)
        | (age + term / 12 > 65)
        | (income < 2000)
        | (f["delinquencies_24m"] >= 3)
        | (f["inquiries_3m"] >= 6)
        | (f["utilisation"] > 1.0)
        | (f["contacts_blacklisted_share"] > 0.2)
        | (f["loan_apps_installed"] >= 10)
        | (f["form_fill_seconds"] < 30)
        | (dti > 0.7)
    )
    declined |= ko
    refer = (f["gps_city_mismatch"] & f["night_application"]) | (
        f["amount_requested"] > 20 * income
    )
    # scorecard
    score = np.zeros(len(income))
    for c in spec["characteristics"]:
        pts = np.asarray(c["points"], dtype=float)
        x = f[c["name"]]
        if c["kind"] == "numerical" and x.dtype.kind == "f":
            p = np.where(
                np.isnan(x),
                c["missing_points"],
                pts[np.searchsorted(c["upper_edges"], np.nan_to_num(x), side="right")],
            )
        elif c["kind"] == "numerical":  # integers cannot be missing
            p = pts[np.searchsorted(c["upper_edges"], x, side="right")]
        else:
            codes, uniques = pd.factorize(x)
            lookup = {v: i for i, g in enumerate(c["groups"]) for v in g}
            upts = np.array(
                [pts[lookup[u]] if u in lookup else c["missing_points"] for u in uniques]
                + [c["missing_points"]]
            )
            p = upts[codes]  # code -1 (missing) takes the last entry
        score += p
    s = spec["scaling"]
    pd_ = 1.0 / (1.0 + np.exp((score - s["offset"]) / s["factor"]))
    # decision table: score band x DTI band
    sb = np.searchsorted([540, 560, 580, 600, 620], score, side="right")
    db15, db35 = dti >= 0.15, dti >= 0.35
    table_dec = np.select(
        [sb == 0, (sb == 1) & ~db15, sb == 1, (sb == 2) & ~db35, sb == 2],
        [2, 1, 2, 0, 1],
        default=0,
    )
    multiple = np.select(
        [
            sb == 0,
            (sb == 1) & ~db15,
            sb == 1,
            (sb == 2) & ~db35,
            sb == 2,
            (sb == 3) & ~db35,
            sb == 3,
            sb == 4,
        ],
        [0.0, 1.0, 0.0, 2.0, 1.0, 3.0, 2.0, 4.0],
        default=5.0,
    )
    declined |= table_dec == 2
    refer |= table_dec == 1
    # pricing and limits
    price = risk_based_apr(pd_, f["amount_requested"], term, P["target_return"], ECONOMICS)
    apr = np.minimum(price, P["max_apr"])
    product = f["product"]
    cap = np.where(
        product == "micro_business", 500000.0, np.where(product == "cash_loan", 200000.0, 50000.0)
    )
    room = np.maximum(P["dti_cap"] * income - debt, 0.0)
    i = apr / 12.0
    afford = room * (1.0 - (1.0 + i) ** (-term)) / i
    raw = np.maximum(np.minimum(np.minimum(multiple * income, afford), cap), 0.0)
    limit = np.floor(raw / 100.0) * 100.0
    declined |= (price > P["max_apr"]) | (limit < P["min_limit"])
    decision = np.where(declined, 2, np.where(refer, 1, 0))
    return {
        "decision": decision,
        "limit": np.where(declined, np.nan, limit),
        "apr": apr,
        "price": price,
    }


def _book(n: int) -> pd.DataFrame:
    base = simulate(SimulationConfig(n_applications=min(n, 100_000), seed=21)).applications
    reps = -(-n // len(base))
    frames = []
    for k in range(reps):
        part = base.copy()
        part["application_id"] = part["application_id"] + f"-{k}"
        frames.append(part)
    return pd.concat(frames, ignore_index=True).iloc[:n]


def load_blacklist() -> set[str]:
    text = (REFERENCE.parent / "blacklist.txt").read_text(encoding="utf-8")
    return {s.strip() for s in text.splitlines() if s.strip() and not s.startswith("#")}


def batch(
    strategy: Strategy, apps: pd.DataFrame, spec: dict[str, Any], blacklist: set[str]
) -> dict[str, Any]:
    """The engine and the NumPy reference on the same applications, each given its input in its
    own form before timing, the same protocol for both; their results and agreement."""
    frame = pl.from_pandas(apps)
    arrays = numpy_arrays(apps, spec)
    engine = measure(BY_NAME["creditfactory batch"], lambda: strategy.decide_batch(frame))
    base = measure(BY_NAME["numpy batch"], lambda: numpy_reference(arrays, spec, blacklist))
    out, mine = engine.value, base.value
    codes = out["decision"].replace_strict({"approve": 0, "refer": 1, "decline": 2}).to_numpy()
    lim_e = out["limit"].fill_null(np.nan).to_numpy()
    return {
        "engine": engine,
        "numpy": base,
        "decisions_agree": float((codes == mine["decision"]).mean()),
        "limits_agree": float(np.allclose(lim_e, mine["limit"], equal_nan=True, rtol=1e-9)),
        "price": mine["price"],
    }


def run(quick: bool = False) -> dict:
    n_batch = 100_000 if quick else 1_000_000
    n_online = 5_000 if quick else 20_000
    strategy = reference_strategy()
    apps = _book(n_batch)
    rows = [_clean(r) for r in apps.iloc[:n_online].to_dict("records")]
    on = online(strategy, rows)
    fr = online_with_fraud(rows)
    spec = json.loads(SPEC.read_text(encoding="utf-8"))
    blacklist = load_blacklist()
    b = batch(strategy, apps, spec, blacklist)
    engine, baseline = b["engine"], b["numpy"]
    rows_per_s = n_batch / engine.seconds
    ratio = engine.seconds / baseline.seconds
    metrics = {
        "online_p50_us": on["p50_us"],
        "online_p99_us": on["p99_us"],
        "online_mean_us": on["mean_us"],
        "online_decisions_per_s": on["decisions_per_s"],
        "online_cpu_us": on["cpu_us"],
        "online_fraud_p50_us": fr["p50_us"],
        "online_fraud_p99_us": fr["p99_us"],
        "online_fraud_cpu_us": fr["cpu_us"],
        "online_fraud_over_plain_p50": fr["p50_us"] / on["p50_us"],
        "online_fraud_over_plain_cpu": fr["cpu_us"] / on["cpu_us"],
        "batch_rows": n_batch,
        "batch_seconds": engine.seconds,
        "batch_rows_per_s": rows_per_s,
        "numpy_seconds": baseline.seconds,
        "numpy_rows_per_s": n_batch / baseline.seconds,
        "batch_time_over_numpy": ratio,
        "batch_time_over_numpy_median": engine.median / baseline.median,
        "batch_cpu_seconds": engine.cpu_seconds,
        "numpy_cpu_seconds": baseline.cpu_seconds,
        # all the engine's threads against NumPy's one: the work, whatever else runs
        "batch_cpu_over_numpy": engine.cpu_seconds / baseline.cpu_seconds,
        "numpy_decisions_agree": b["decisions_agree"],
        "numpy_limits_agree": b["limits_agree"],
        "peak_rss_mib": peak_rss_mib(),
    }
    table = [
        ["measure", "value", "target"],
        ["online p50 (us)", f"{on['p50_us']:.1f}", "<= 20"],
        ["online p99 (us)", f"{on['p99_us']:.1f}", "<= 100"],
        ["online decisions/s (1 core)", f"{on['decisions_per_s']:,.0f}", ""],
        ["online CPU per decision, median (us)", f"{on['cpu_us']:.1f}", ""],
        ["online p50 (us), with the fraud step", f"{fr['p50_us']:.1f}", ""],
        ["online p99 (us), with the fraud step", f"{fr['p99_us']:.1f}", ""],
        ["online CPU per decision, median (us), with the fraud step", f"{fr['cpu_us']:.1f}", ""],
        [
            "with / without the fraud step, p50 (CPU)",
            f"{fr['p50_us'] / on['p50_us']:.1f}x ({fr['cpu_us'] / on['cpu_us']:.1f}x)",
            "",
        ],
        [f"batch rows/s ({n_batch:,} rows)", f"{rows_per_s:,.0f}", ""],
        ["NumPy rows/s (same logic)", f"{n_batch / baseline.seconds:,.0f}", ""],
        ["batch time / NumPy time", f"{ratio:.2f}x", "<= 3x"],
        [
            "batch CPU / NumPy CPU (all threads)",
            f"{engine.cpu_seconds / baseline.cpu_seconds:.2f}x",
            "",
        ],
        ["decisions equal to NumPy's", f"{b['decisions_agree']:.4%}", "100%"],
    ]
    zen = _zen(zen_inputs(rows, b["price"]), spec, blacklist)
    if "decisions" in zen:
        mine_online = [strategy.decide(r).decision for r in rows]
        same = float(np.mean([a == b for a, b in zip(mine_online, zen["decisions"], strict=True)]))
        paths = zen["paths"]
        best = min(paths, key=lambda k: paths[k]["p50_us"])
        z = paths[best]
        speedup = on["decisions_per_s"] / z["decisions_per_s"]
        p50_ratio = z["p50_us"] / on["p50_us"]
        metrics |= {
            "zen_p50_us": z["p50_us"],
            "zen_p99_us": z["p99_us"],
            "zen_decisions_per_s": z["decisions_per_s"],
            "zen_best_is_static_loader": float(best == "static_loader"),
            "zen_decisions_agree": same,
            "speed_over_zen": speedup,
            "p50_speed_over_zen": p50_ratio,
        }
        for path, stats in paths.items():
            metrics[f"zen_{path}_p50_us"] = stats["p50_us"]
        table += [
            *[[f"zen-engine p50 (us), {k}", f"{v['p50_us']:.1f}", ""] for k, v in paths.items()],
            [f"zen-engine decisions/s ({best}, the faster)", f"{z['decisions_per_s']:,.0f}", ""],
            ["engine / zen-engine decisions/s", f"{speedup:.1f}x", ">= 1.5x"],
            ["zen-engine p50 / engine p50", f"{p50_ratio:.1f}x", ""],
            ["decisions equal to zen-engine's", f"{same:.4%}", "100%"],
        ]
    elif "error" in zen:
        metrics["zen_failed"] = 1.0
        table.append(["zen-engine", "failed: " + zen["error"][-200:], ""])
    return {
        "name": "decision",
        "metrics": metrics,
        "table": table,
        "notes": (
            "reference strategy (examples/strategies/reference.yaml): 3 blacklist checks (and "
            "the provided lists', empty without a provider, looked up by the engine only), "
            "12 rules, "
            "a 14-characteristic scorecard, a 9-row score x DTI table, limit and pricing. Online "
            f"({n_online:,} applications): {ONLINE.warmup} calls of warm-up, then every call "
            "timed with perf_counter_ns, GC off, for ours and zen-engine alike (zen-engine "
            "through its static loader and through create_decision, the faster counts). Batch: "
            f"{BATCH.warmup} untimed call, best of {BATCH.repeat}, for the engine (Polars input, "
            "multi-threaded) and the NumPy reference (single-threaded, NumPy arrays of the "
            f"{len(numpy_columns(spec))} columns it reads; pandas.factorize for text, a hashed "
            "set for list checks) alike, "
            "both inputs built before timing. The machine is shared, so compare ratios; the "
            "CPU ratio (the engine's threads together against NumPy's one) is the steadier "
            "when other jobs run."
        ),
    }


# ---------------------------------------------------------------- zen-engine (GoRules JDM)
PEERS = ROOT / "benchmarks" / ".peers-venv"
# Run by the peers' interpreter: ``python -c RUNNER graph.json rows.json plan.json out.json``.
# plan.json: {"root": repository root, "key": ZEN_KEY, "contenders": [{"name", "group", "path",
# "warmup", "repeat", "how"}]}; "how" is a key of the paths below. It times with the helpers of
# benchmarks/_common.py (standard library only), as ours are timed.
ZEN_RUNNER = """
import functools, json, sys
graph_path, rows_path, plan_path, out_path = sys.argv[1:5]
plan = json.load(open(plan_path))
sys.path.insert(0, plan["root"])
from benchmarks._common import MEASURED, Contender, Protocol, per_call_ns
import zen
graph_text = open(graph_path).read()
rows = json.load(open(rows_path))
key = plan["key"]
engine = zen.ZenEngine({"loader": {"type": "static", "content": {key: json.loads(graph_text)}}})
created = zen.ZenEngine().create_decision(zen.ZenDecisionContent(graph_text))
paths = {"static_loader": functools.partial(engine.evaluate, key),
         "create_decision": created.evaluate}
times = {}
for c in plan["contenders"]:
    contender = Contender(c["name"], c["group"], c["path"], Protocol(c["warmup"], c["repeat"]))
    times[c["how"]] = per_call_ns(contender, paths[c["how"]], rows, rows)
first = next(iter(times))
decisions = [paths[first](r)["result"]["decision"] for r in rows]
measured = [[m.name, m.group, m.warmup_calls, m.timed_calls] for m in MEASURED]
json.dump({"times_ns": times, "decisions": decisions, "measured": measured}, open(out_path, "w"))
"""


def _zen_python() -> Path | None:
    """benchmarks/.peers-venv with zen-engine, created on demand; None when unavailable."""
    py = PEERS / "bin" / "python"
    try:
        if not py.exists():
            subprocess.run([sys.executable, "-m", "venv", str(PEERS)], check=True, timeout=300)
        if subprocess.run([str(py), "-c", "import zen"], capture_output=True).returncode != 0:
            subprocess.run(
                [str(py), "-m", "pip", "install", "-q", "zen-engine"],
                check=True, capture_output=True, timeout=600,
            )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return py


def _points_expr(c: dict[str, Any]) -> str:
    """One scorecard characteristic as a ZEN expression (nested conditionals)."""
    x, miss = c["name"], repr(float(c["missing_points"]))
    pts = [repr(float(p)) for p in c["points"]]
    if c["kind"] == "numerical":
        expr = pts[-1]
        for edge, p in reversed(list(zip(c["upper_edges"], pts, strict=False))):
            expr = f"({x} < {edge!r} ? {p} : {expr})"
    else:
        expr = miss
        for group, p in reversed(list(zip(c["groups"], pts, strict=True))):
            items = ", ".join(json.dumps(v) for v in group)
            expr = f"({x} in [{items}] ? {p} : {expr})"
    for sp in c.get("special", []):
        expr = f"({x} == {json.dumps(sp['value'])} ? {float(sp['points'])!r} : {expr})"
    return f"{x} == null ? {miss} : {expr}"


def zen_graph(spec: dict[str, Any], blacklist: set[str]) -> dict[str, Any]:
    """examples/strategies/reference.yaml as a GoRules JDM graph (expression and table nodes)."""

    def node(i: str, kind: str, content: dict[str, Any] | None = None) -> dict[str, Any]:
        n = {"id": i, "type": kind, "name": i, "position": {"x": 0, "y": 0}}
        if content is not None:
            n["content"] = content
        return n

    def expressions(pairs: list[tuple[str, str]]) -> dict[str, Any]:
        return {
            "passThrough": True,
            "expressions": [{"id": f"{k}", "key": a, "value": b} for k, (a, b) in enumerate(pairs)],
        }

    bl = "[" + ", ".join(json.dumps(v) for v in sorted(blacklist)) + "]"
    ko = " or ".join([
        "age < 18", "age + term_requested / 12 > 65", "monthly_income < 2000",
        "delinquencies_24m >= 3", "inquiries_3m >= 6", "(utilisation ?? 0) > 1.0",
        "contacts_blacklisted_share > 0.2", "loan_apps_installed >= 10",
        "form_fill_seconds < 30", "($.dti ?? 0) > 0.7",
    ])  # fmt: skip
    chars = spec["characteristics"]
    features = [
        ("dti", "monthly_income != 0 ? bureau_monthly_debt / monthly_income : null"),
        ("blacklisted", f"id_number in {bl} or phone in {bl} or device_id in {bl}"),
        ("ko", ko),
        ("refer_rules", "(gps_city_mismatch and night_application) or "
                        "amount_requested > 20 * monthly_income"),
    ] + [(f"pts_{c['name']}", _points_expr(c)) for c in chars]  # fmt: skip
    sc = spec["scaling"]
    score = [
        ("score", " + ".join(f"pts_{c['name']}" for c in chars)),
        ("pd", f"1 / (1 + {math.e!r} ^ (($.score - {sc['offset']!r}) / {sc['factor']!r}))"),
    ]
    bands = [("< 540", "any", "decline", 0, "")]
    bands += [("[540..560)", "< 0.15", "refer", 1, "E"), ("[540..560)", "", "decline", 0, "")]
    bands += [("[560..580)", "< 0.35", "approve", 2, "D"), ("[560..580)", "", "refer", 1, "D")]
    bands += [("[580..600)", "< 0.35", "approve", 3, "C"), ("[580..600)", "", "approve", 2, "C")]
    bands += [("[600..620)", "", "approve", 4, "B"), (">= 620", "", "approve", 5, "A")]
    rules = [
        {"_id": f"r{k}", "i1": a, "i2": "" if b == "any" else b, "o1": json.dumps(d),
         "o2": str(m), "o3": json.dumps(t)}
        for k, (a, b, d, m, t) in enumerate(bands)
    ]  # fmt: skip
    table = {
        "hitPolicy": "first",
        "passThrough": True,
        "inputs": [{"id": "i1", "field": "score", "name": "score"},
                   {"id": "i2", "field": "dti", "name": "dti"}],
        "outputs": [{"id": "o1", "field": "table_decision", "name": "decision"},
                    {"id": "o2", "field": "multiple", "name": "multiple"},
                    {"id": "o3", "field": "tier", "name": "tier"}],
        "rules": rules,
    }  # fmt: skip
    pricing = [
        ("price", "lifetime_price"),  # an input: the lifetime model's price (see the docstring)
        ("apr", f"min([$.price, {P['max_apr']}])"),
        ("cap", "product == 'micro_business' ? 500000 : (product == 'cash_loan' ? 200000 : 50000)"),
        ("room", f"max([{P['dti_cap']} * monthly_income - bureau_monthly_debt, 0])"),
        ("i", "$.apr / 12"),
        ("afford", "$.room * (1 - (1 + $.i) ^ (-term_requested)) / $.i"),
        ("limit", "floor(max([min([multiple * monthly_income, $.afford, $.cap]), 0]) / 100) * 100"),
    ]
    final = [
        ("decision", "blacklisted or ko ? 'decline' : "
                     f"((table_decision == 'decline' or price > {P['max_apr']} "
                     f"or limit < {P['min_limit']}) ? 'decline' : "
                     "((refer_rules or table_decision == 'refer') ? 'refer' : 'approve'))"),
    ]  # fmt: skip
    nodes = [
        node("input", "inputNode"),
        node("features", "expressionNode", expressions(features)),
        node("score", "expressionNode", expressions(score)),
        node("risk_matrix", "decisionTableNode", table),
        node("pricing", "expressionNode", expressions(pricing)),
        node("decision", "expressionNode", expressions(final)),
        node("output", "outputNode"),
    ]
    order = [n["id"] for n in nodes]
    edges = [
        {"id": f"e{k}", "sourceId": a, "targetId": b, "type": "edge"}
        for k, (a, b) in enumerate(itertools.pairwise(order))
    ]
    return {"nodes": nodes, "edges": edges}


def zen_plan() -> dict[str, Any]:
    """What the zen runner times: the zen contenders of :data:`CONTENDERS`, each with its path."""
    return {
        "root": str(ROOT),
        "key": ZEN_KEY,
        "contenders": [
            {"name": c.name, "group": c.group, "path": c.path, "warmup": c.protocol.warmup,
             "repeat": c.protocol.repeat, "how": ZEN_PATHS[c.name]}
            for c in CONTENDERS
            if c.name in ZEN_PATHS
        ],
    }  # fmt: skip


def zen_inputs(rows: list[dict[str, Any]], price: Any) -> list[dict[str, Any]]:
    """The applications as zen-engine gets them: each with its lifetime price (the NumPy
    reference's, the same model as the engine's) as the input ``lifetime_price``."""
    priced = np.asarray(price, dtype=float)[: len(rows)]
    return [{**r, "lifetime_price": float(p)} for r, p in zip(rows, priced, strict=True)]


def run_zen(
    python: Path | str,
    rows: list[dict[str, Any]],
    spec: dict[str, Any],
    blacklist: set[str],
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Run :data:`ZEN_RUNNER` with ``python`` on ``rows``: ``{"paths": {path: p50/p99/mean/
    decisions_per_s}, "decisions": [...], "measured": [...]}``, or ``{"error": ...}``."""
    with tempfile.TemporaryDirectory() as tmp:
        graph, data = Path(tmp, "graph.json"), Path(tmp, "rows.json")
        plan, out = Path(tmp, "plan.json"), Path(tmp, "out.json")
        graph.write_text(json.dumps(zen_graph(spec, blacklist)))
        data.write_text(json.dumps(rows, default=str))  # timestamps are not inputs
        plan.write_text(json.dumps(zen_plan()))
        done = subprocess.run(
            [str(python), "-c", ZEN_RUNNER, str(graph), str(data), str(plan), str(out)],
            capture_output=True, text=True, timeout=1200, env={**os.environ, **(env or {})},
        )  # fmt: skip
        if done.returncode != 0:
            return {"error": done.stderr[-2000:]}
        res = json.loads(out.read_text())
    return {
        "paths": {how: _summary(t) for how, t in res["times_ns"].items()},
        "decisions": res["decisions"],
        "measured": res["measured"],
    }


def _zen(rows: list[dict[str, Any]], spec: dict[str, Any], blacklist: set[str]) -> dict[str, Any]:
    """zen-engine on the same applications in benchmarks/.peers-venv; {} if absent."""
    py = _zen_python()
    if py is None:
        return {}
    return run_zen(py, rows, spec, blacklist)
