"""Decision engine speed: the reference strategy online (one application at a time) and in
batch, against a hand-written NumPy implementation of the same logic measured in the same run.

Targets (issue 4): online p50 <= 20 us and p99 <= 100 us in process (no GBM in the path); batch
rows/s on 1,000,000 applications within 3x of the NumPy implementation. The NumPy version is
checked to give the same decisions as the engine before its time counts. The zen-engine (GoRules
JDM) comparison runs only when ``benchmarks/.peers-venv`` has zen-engine installed (see
``_zen``); it is never part of ``make test``. Prices come from the lifetime cash-flow model
(``creditfactory.pricing.risk_based_apr``, a NumPy solver): the hand-written version calls it,
and zen-engine, whose expression language has no such solver, gets each row's price as an input
computed by it (so zen's time leaves the pricing out).
"""

from __future__ import annotations

import gc
import itertools
import json
import math
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

from benchmarks._common import best_of, peak_rss_mib
from creditfactory.data import SimulationConfig, simulate
from creditfactory.decision import Strategy
from creditfactory.pricing import LoanEconomics, risk_based_apr

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "examples" / "strategies" / "reference.yaml"
# the hand-written versions price with the strategy's own parameters
P = yaml.safe_load(REFERENCE.read_text(encoding="utf-8"))["params"]
ECONOMICS = LoanEconomics(lgd=P["lgd"], cost_of_funds=P["cost_of_funds"])
SPEC = ROOT / "examples" / "strategies" / "models" / "application_scorecard.json"


def _clean(row: dict[str, Any]) -> dict[str, Any]:
    return {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in row.items()}


def online(strategy: Strategy, rows: list[dict[str, Any]]) -> dict[str, float]:
    for r in rows[:500]:  # warm-up
        strategy.decide(r)
    times = np.empty(len(rows))
    clock = time.perf_counter_ns
    gc.disable()
    try:
        for i, r in enumerate(rows):
            t = clock()
            strategy.decide(r)
            times[i] = clock() - t
    finally:
        gc.enable()
    times /= 1e3
    return {
        "p50_us": float(np.percentile(times, 50)),
        "p99_us": float(np.percentile(times, 99)),
        "mean_us": float(times.mean()),
        "decisions_per_s": 1e6 / float(times.mean()),
    }


# ---------------------------------------------------------------- the same logic in NumPy
def numpy_reference(df: pd.DataFrame, spec: dict[str, Any], blacklist: set[str]) -> pd.DataFrame:
    """examples/strategies/reference.yaml written by hand with NumPy (pandas.factorize for text).

    Decision codes: 0 approve, 1 refer, 2 decline.
    """
    f = {c: df[c].to_numpy() for c in df.columns}
    num = {c: np.asarray(v, dtype=float) for c, v in f.items() if v.dtype.kind in "fiub"}
    income, debt = num["monthly_income"], num["bureau_monthly_debt"]
    with np.errstate(divide="ignore", invalid="ignore"):
        dti = np.where(income != 0, debt / income, np.nan)
    bl = list(blacklist)
    declined = np.isin(f["id_number"], bl) | np.isin(f["phone"], bl) | np.isin(f["device_id"], bl)
    ko = (
        (num["age"] < 18)
        | (num["age"] + num["term_requested"] / 12 > 65)
        | (income < 2000)
        | (num["delinquencies_24m"] >= 3)
        | (num["inquiries_3m"] >= 6)
        | (num["utilisation"] > 1.0)
        | (num["contacts_blacklisted_share"] > 0.2)
        | (num["loan_apps_installed"] >= 10)
        | (num["form_fill_seconds"] < 30)
        | (dti > 0.7)
    )
    declined |= ko
    refer = (f["gps_city_mismatch"] & f["night_application"]) | (
        num["amount_requested"] > 20 * income
    )
    # scorecard
    score = np.zeros(len(df))
    for c in spec["characteristics"]:
        pts = np.asarray(c["points"], dtype=float)
        if c["kind"] == "numerical":
            x = np.asarray(f[c["name"]], dtype=float)
            p = np.where(
                np.isnan(x),
                c["missing_points"],
                pts[np.searchsorted(c["upper_edges"], np.nan_to_num(x), side="right")],
            )
        else:
            codes, uniques = pd.factorize(f[c["name"]])
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
    term = num["term_requested"]
    price = risk_based_apr(pd_, num["amount_requested"], term, P["target_return"], ECONOMICS)
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
    return pd.DataFrame(
        {
            "decision": decision,
            "limit": np.where(declined, np.nan, limit),
            "apr": apr,
            "price": price,
        }
    )


def _book(n: int) -> pd.DataFrame:
    base = simulate(SimulationConfig(n_applications=min(n, 100_000), seed=21)).applications
    reps = -(-n // len(base))
    frames = []
    for k in range(reps):
        part = base.copy()
        part["application_id"] = part["application_id"] + f"-{k}"
        frames.append(part)
    return pd.concat(frames, ignore_index=True).iloc[:n]


def run(quick: bool = False) -> dict:
    n_batch = 100_000 if quick else 1_000_000
    n_online = 5_000 if quick else 20_000
    strategy = Strategy.load(REFERENCE)
    apps = _book(n_batch)
    rows = [_clean(r) for r in apps.iloc[:n_online].to_dict("records")]
    on = online(strategy, rows)

    frame = pl.from_pandas(apps)
    engine = best_of(lambda: strategy.decide_batch(frame), repeat=2 if quick else 3)
    out = strategy.decide_batch(frame)
    spec = json.loads(SPEC.read_text(encoding="utf-8"))
    blacklist = {
        s.strip()
        for s in (REFERENCE.parent / "blacklist.txt").read_text().splitlines()
        if s.strip() and not s.startswith("#")
    }
    baseline = best_of(lambda: numpy_reference(apps, spec, blacklist), repeat=3)
    mine = numpy_reference(apps, spec, blacklist)
    codes = out["decision"].replace_strict({"approve": 0, "refer": 1, "decline": 2}).to_numpy()
    agree = float((codes == mine["decision"].to_numpy()).mean())
    lim_e = out["limit"].fill_null(np.nan).to_numpy()
    lim_n = mine["limit"].to_numpy()
    limits_agree = float(np.allclose(lim_e, lim_n, equal_nan=True, rtol=1e-9))
    rows_per_s = n_batch / engine.seconds
    ratio = engine.seconds / baseline.seconds
    metrics = {
        "online_p50_us": on["p50_us"],
        "online_p99_us": on["p99_us"],
        "online_mean_us": on["mean_us"],
        "online_decisions_per_s": on["decisions_per_s"],
        "batch_rows": n_batch,
        "batch_seconds": engine.seconds,
        "batch_rows_per_s": rows_per_s,
        "numpy_seconds": baseline.seconds,
        "numpy_rows_per_s": n_batch / baseline.seconds,
        "batch_time_over_numpy": ratio,
        "numpy_decisions_agree": agree,
        "numpy_limits_agree": limits_agree,
        "peak_rss_mib": peak_rss_mib(),
    }
    table = [
        ["measure", "value", "target"],
        ["online p50 (us)", f"{on['p50_us']:.1f}", "<= 20"],
        ["online p99 (us)", f"{on['p99_us']:.1f}", "<= 100"],
        ["online decisions/s (1 core)", f"{on['decisions_per_s']:,.0f}", ""],
        [f"batch rows/s ({n_batch:,} rows)", f"{rows_per_s:,.0f}", ""],
        ["NumPy rows/s (same logic)", f"{n_batch / baseline.seconds:,.0f}", ""],
        ["batch time / NumPy time", f"{ratio:.2f}x", "<= 3x"],
        ["decisions equal to NumPy's", f"{agree:.4%}", "100%"],
    ]
    priced = mine["price"].to_numpy()[: len(rows)]
    zen_rows = [{**r, "lifetime_price": float(p)} for r, p in zip(rows, priced, strict=True)]
    zen = _zen(zen_rows, spec, blacklist)
    if "zen_decisions" in zen:
        mine_online = [strategy.decide(r).decision for r in rows]
        same = [a == b for a, b in zip(mine_online, zen.pop("zen_decisions"), strict=True)]
        speedup = on["decisions_per_s"] / zen["zen_decisions_per_s"]
        p50_ratio = zen["zen_p50_us"] / on["p50_us"]
        metrics.update(zen, zen_decisions_agree=float(np.mean(same)), speed_over_zen=speedup)
        metrics["p50_speed_over_zen"] = p50_ratio
        table.append(["zen-engine p50 (us)", f"{zen['zen_p50_us']:.1f}", ""])
        table.append(["zen-engine decisions/s", f"{zen['zen_decisions_per_s']:,.0f}", ""])
        table.append(["engine / zen-engine decisions/s", f"{speedup:.1f}x", ">= 1.5x"])
        table.append(["zen-engine p50 / engine p50", f"{p50_ratio:.1f}x", ""])
        table.append(["decisions equal to zen-engine's", f"{np.mean(same):.4%}", "100%"])
    elif zen:
        metrics.update(zen)
    return {
        "name": "decision",
        "metrics": metrics,
        "table": table,
        "notes": (
            "reference strategy (examples/strategies/reference.yaml): 3 list checks, 12 rules, "
            "a 14-characteristic scorecard, a 9-row score x DTI table, limit and pricing. Online "
            "timed per call with perf_counter_ns (GC off); batch best of N on Polars input "
            "(multi-threaded); the NumPy baseline is single-threaded and includes "
            "pandas.factorize for text columns; the machine is shared, so compare ratios."
        ),
    }


# ---------------------------------------------------------------- zen-engine (GoRules JDM)
PEERS = ROOT / "benchmarks" / ".peers-venv"
_ZEN_RUNNER = """
import json, sys, time, zen
graph, rows_path, out_path = sys.argv[1:4]
rows = json.load(open(rows_path))
decision = zen.ZenEngine().create_decision(open(graph).read())
for r in rows[:500]:
    decision.evaluate(r)
times, decisions = [], []
clock = time.perf_counter_ns
for r in rows:
    t = clock()
    res = decision.evaluate(r)
    times.append(clock() - t)
    decisions.append(res["result"]["decision"])
json.dump({"times_ns": times, "decisions": decisions}, open(out_path, "w"))
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


def _zen(rows: list[dict[str, Any]], spec: dict[str, Any], blacklist: set[str]) -> dict[str, Any]:
    """zen-engine decisions/s on the same applications in benchmarks/.peers-venv; {} if absent."""
    py = _zen_python()
    if py is None:
        return {}
    with tempfile.TemporaryDirectory() as tmp:
        graph, data, out = Path(tmp, "graph.json"), Path(tmp, "rows.json"), Path(tmp, "out.json")
        graph.write_text(json.dumps(zen_graph(spec, blacklist)))
        data.write_text(json.dumps(rows, default=str))  # timestamps are not inputs
        done = subprocess.run(
            [str(py), "-c", _ZEN_RUNNER, str(graph), str(data), str(out)],
            capture_output=True, text=True, timeout=1200,
        )  # fmt: skip
        if done.returncode != 0:
            return {"zen_error": done.stderr[-500:]}
        res = json.loads(out.read_text())
    times = np.asarray(res["times_ns"], dtype=float) / 1e3
    return {
        "zen_p50_us": float(np.percentile(times, 50)),
        "zen_p99_us": float(np.percentile(times, 99)),
        "zen_decisions_per_s": 1e6 / float(times.mean()),
        "zen_decisions": res["decisions"],
    }
