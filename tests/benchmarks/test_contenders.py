"""Every contender of bench_decision, bench_service, bench_lists and bench_simulate is timed with
the same warm-up and repetitions as the others of its group, and through the call path its
module documents: checked on tiny data by instrumenting the timing helpers of
``benchmarks/_common.py`` (their :data:`MEASURED` log) and, for zen-engine, with a stand-in
``zen`` module that records the calls the runner makes (zen-engine itself lives in
``benchmarks/.peers-venv``; the real one is used too when it is there)."""

from __future__ import annotations

import contextlib
import inspect
import itertools
import json
import math
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pytest
from benchmarks._common import Contender, Protocol, check_contenders

from benchmarks import _common, bench_decision, bench_lists, bench_service, bench_simulate

ROOT = Path(__file__).resolve().parents[2]
PEERS_PYTHON = ROOT / "benchmarks" / ".peers-venv" / "bin" / "python"


@pytest.fixture(autouse=True)
def clean_log() -> Iterator[list[_common.Measured]]:
    _common.MEASURED.clear()
    yield _common.MEASURED
    _common.MEASURED.clear()


def counts(name: str) -> list[tuple[int, int]]:
    """(warm-up calls, timed calls) of each measurement of contender ``name``."""
    return [(m.warmup_calls, m.timed_calls) for m in _common.MEASURED if m.name == name]


# ------------------------------------------------------------------------ the helpers


def test_contenders_of_a_group_must_share_a_protocol() -> None:
    a = Contender("ours", "g", "f()", Protocol(1, 3))
    check_contenders([a, Contender("theirs", "g", "g()", Protocol(1, 3))])
    check_contenders([a, Contender("other group", "h", "g()", Protocol(0, 1))])
    with pytest.raises(ValueError, match="group 'g': 'theirs' is timed with"):
        check_contenders([a, Contender("theirs", "g", "g()", Protocol(1, 1))])
    with pytest.raises(ValueError, match="names repeat"):
        check_contenders([a, a])
    with pytest.raises(ValueError, match="repeat"):
        Protocol(0, 0)


def test_measure_and_per_call_do_what_the_protocol_says() -> None:
    calls: list[Any] = []
    c = Contender("x", "g", "append", Protocol(warmup=2, repeat=3))
    timing = _common.measure(c, lambda: calls.append(None) or len(calls))
    assert len(calls) == 5
    assert timing.value == 5
    assert len(timing.times) == len(timing.cpu_times) == 3
    assert timing.cpu_seconds == min(timing.cpu_times) >= 0
    seen: list[int] = []
    times = _common.per_call_ns(c, seen.append, [10, 11, 12], [7, 8, 9])
    assert seen == [7, 8, 10, 11, 12]  # two warm-up items, then every item once
    assert len(times) == 3
    assert all(t >= 0 for t in times)
    with pytest.raises(ValueError, match="warm-up items"):
        _common.per_call_ns(c, seen.append, [1], [1])
    assert _common.warm_run(c, lambda: seen.append(-1), lambda: "run") == "run"
    assert counts("x") == [(2, 3), (2, 3), (2, 1)]


# ---------------------------------------------------------------------- bench_decision


@pytest.fixture(scope="module")
def decision_data() -> dict[str, Any]:
    strategy = bench_decision.reference_strategy()  # without its anti-fraud step
    apps = bench_decision._book(600)
    rows = [bench_decision._clean(r) for r in apps.to_dict("records")]
    spec = json.loads(bench_decision.SPEC.read_text(encoding="utf-8"))
    return {
        "strategy": strategy,
        "apps": apps,
        "rows": rows,
        "spec": spec,
        "blacklist": bench_decision.load_blacklist(),
    }


def test_decision_contenders_are_grouped_as_documented() -> None:
    groups: dict[str, set[str]] = {}
    for c in bench_decision.CONTENDERS:
        groups.setdefault(c.group, set()).add(c.name)
    assert groups == {
        "online": {
            "creditfactory online",
            "creditfactory online, with its fraud step",
            "zen-engine online (static loader)",
            "zen-engine online (create_decision)",
        },
        "batch": {"creditfactory batch", "numpy batch"},
    }
    check_contenders(bench_decision.CONTENDERS)
    # the zen paths the runner knows are the zen contenders, and the docstring names the path
    assert set(bench_decision.ZEN_PATHS) == {n for n in groups["online"] if "zen" in n}
    doc = " ".join((bench_decision.__doc__ or "").split())
    assert '{"loader": {"type": "static", "content": {KEY: graph}}}).evaluate(KEY, dict)' in doc


def test_batch_engine_and_numpy_get_their_input_before_timing_and_the_same_protocol(
    decision_data: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str] = []
    given: dict[str, Any] = {}
    real_arrays, real_measure = bench_decision.numpy_arrays, bench_decision.measure
    real_reference = bench_decision.numpy_reference

    def arrays(df: pd.DataFrame, spec: dict[str, Any]) -> dict[str, np.ndarray]:
        events.append("numpy_arrays")
        return real_arrays(df, spec)

    def measure(contender: Contender, fn: Any) -> Any:
        events.append(f"measure {contender.name}")
        return real_measure(contender, fn)

    def reference(f: Any, *args: Any) -> Any:
        given["numpy"] = f
        return real_reference(f, *args)

    monkeypatch.setattr(bench_decision, "numpy_arrays", arrays)
    monkeypatch.setattr(bench_decision, "measure", measure)
    monkeypatch.setattr(bench_decision, "numpy_reference", reference)
    d = decision_data
    out = bench_decision.batch(d["strategy"], d["apps"], d["spec"], d["blacklist"])
    assert events == ["numpy_arrays", "measure creditfactory batch", "measure numpy batch"]
    # NumPy is handed arrays of exactly the columns it reads, nothing left to convert
    assert set(given["numpy"]) == set(bench_decision.numpy_columns(d["spec"]))
    assert all(isinstance(v, np.ndarray) for v in given["numpy"].values())
    assert len(given["numpy"]) < d["apps"].shape[1]
    p = bench_decision.BATCH
    assert counts("creditfactory batch") == counts("numpy batch") == [(p.warmup, p.repeat)]
    assert out["decisions_agree"] == 1.0
    assert out["limits_agree"] == 1.0


def test_the_engine_is_timed_on_a_polars_frame(
    decision_data: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    kinds: list[type] = []
    strategy = decision_data["strategy"]
    real = strategy.decide_batch

    def spy(frame: Any) -> Any:
        kinds.append(type(frame))
        return real(frame)

    monkeypatch.setattr(strategy, "decide_batch", spy)
    d = decision_data
    bench_decision.batch(strategy, d["apps"].head(50), d["spec"], d["blacklist"])
    p = bench_decision.BATCH
    assert kinds == [pl.DataFrame] * (p.warmup + p.repeat)


def test_online_protocol(decision_data: dict[str, Any]) -> None:
    rows = decision_data["rows"]
    out = bench_decision.online(decision_data["strategy"], rows)
    assert counts("creditfactory online") == [(bench_decision.ONLINE.warmup, len(rows))]
    assert 0 < out["p50_us"] <= out["p99_us"]


FAKE_ZEN = '''
"""A stand-in for zen-engine that logs every call (the runner's path, checked by the tests)."""
import json, os

_LOG = os.environ["FAKE_ZEN_LOG"]


def _log(*event):
    with open(_LOG, "a") as f:
        f.write(json.dumps(event) + "\\n")


def _answer(context):
    assert isinstance(context, dict), type(context)
    return {"performance": "0", "result": {"decision": "approve"}}


class ZenDecisionContent:
    def __init__(self, content):
        _log("ZenDecisionContent", json.loads(content))
        self.content = content


class ZenDecision:
    def evaluate(self, context, options=None):
        _log("ZenDecision.evaluate", type(context).__name__)
        return _answer(context)


class ZenEngine:
    def __init__(self, options=None):
        _log("ZenEngine", options)

    def evaluate(self, key, context, options=None):
        _log("ZenEngine.evaluate", key, type(context).__name__)
        return _answer(context)

    def create_decision(self, content):
        _log("ZenEngine.create_decision", type(content).__name__)
        return ZenDecision()
'''


def test_zen_runner_calls_the_documented_paths_with_our_protocol(
    decision_data: dict[str, Any], tmp_path: Path
) -> None:
    fake = tmp_path / "fake"
    (fake / "zen").mkdir(parents=True)
    (fake / "zen" / "__init__.py").write_text(textwrap.dedent(FAKE_ZEN))
    log = tmp_path / "zen.log"
    d = decision_data
    rows = d["rows"][:520]
    out = bench_decision.run_zen(
        sys.executable,
        rows,
        d["spec"],
        d["blacklist"],
        env={"PYTHONPATH": str(fake), "FAKE_ZEN_LOG": str(log)},
    )
    assert "error" not in out, out.get("error")
    events = [json.loads(line) for line in log.read_text().splitlines()]
    graph = bench_decision.zen_graph(d["spec"], d["blacklist"])
    static = {"loader": {"type": "static", "content": {bench_decision.ZEN_KEY: graph}}}
    assert ["ZenEngine", static] in events  # the static loader holds the whole graph
    assert ["ZenDecisionContent", graph] in events
    assert ["ZenEngine.create_decision", "ZenDecisionContent"] in events
    warm = bench_decision.ONLINE.warmup
    by_key = [e for e in events if e[0] == "ZenEngine.evaluate"]
    assert {tuple(e[1:]) for e in by_key} == {(bench_decision.ZEN_KEY, "dict")}
    # warm-up, every row timed once, and one untimed pass for the decisions
    assert len(by_key) == warm + 2 * len(rows)
    created = [e for e in events if e[0] == "ZenDecision.evaluate"]
    assert len(created) == warm + len(rows)
    # the runner logs the same protocol as ours gets
    mine = bench_decision.online(d["strategy"], rows)
    assert mine["p50_us"] > 0
    ours = counts("creditfactory online")
    theirs = {name: (w, t) for name, _, w, t in out["measured"]}
    assert theirs == dict.fromkeys(bench_decision.ZEN_PATHS, ours[0])
    assert set(out["paths"]) == {"static_loader", "create_decision"}
    assert out["decisions"] == ["approve"] * len(rows)


def test_zen_graph_is_the_reference_strategy(decision_data: dict[str, Any]) -> None:
    spec, blacklist = decision_data["spec"], decision_data["blacklist"]
    graph = bench_decision.zen_graph(spec, blacklist)
    ids = [n["id"] for n in graph["nodes"]]
    assert ids == ["input", "features", "score", "risk_matrix", "pricing", "decision", "output"]
    chain = [(e["sourceId"], e["targetId"]) for e in graph["edges"]]
    assert chain == list(itertools.pairwise(ids))
    nodes = {n["id"]: n for n in graph["nodes"]}
    keys = [e["key"] for e in nodes["features"]["content"]["expressions"]]
    assert keys[:4] == ["dti", "blacklisted", "ko", "refer_rules"]
    assert keys[4:] == [f"pts_{c['name']}" for c in spec["characteristics"]]
    blacklisted = nodes["features"]["content"]["expressions"][1]["value"]
    assert all(json.dumps(v) in blacklisted for v in blacklist)
    table = nodes["risk_matrix"]["content"]
    assert table["hitPolicy"] == "first"
    assert len(table["rules"]) == 9
    # a numerical characteristic: one branch per bin edge, null -> the missing points
    c = next(c for c in spec["characteristics"] if c["kind"] == "numerical")
    expr = bench_decision._points_expr(c)
    assert expr.startswith(f"{c['name']} == null ? {float(c['missing_points'])!r}")
    assert expr.count(" < ") == len(c["upper_edges"])


def _peers_have_zen() -> bool:
    if not PEERS_PYTHON.exists():
        return False
    import subprocess

    return subprocess.run([str(PEERS_PYTHON), "-c", "import zen"], check=False).returncode == 0


@pytest.mark.skipif(not _peers_have_zen(), reason="zen-engine is not in benchmarks/.peers-venv")
def test_real_zen_engine_decides_as_ours(decision_data: dict[str, Any]) -> None:
    d = decision_data
    rows = d["rows"][:520]
    # the price is an input of the graph, as in the benchmark (zen_inputs); without it zen-engine
    # fails on min([null, 0.24])
    arrays = bench_decision.numpy_arrays(d["apps"], d["spec"])
    price = bench_decision.numpy_reference(arrays, d["spec"], d["blacklist"])["price"]
    zen_rows = bench_decision.zen_inputs(rows, price)
    out = bench_decision.run_zen(PEERS_PYTHON, zen_rows, d["spec"], d["blacklist"])
    assert "error" not in out, out.get("error")
    ours = [d["strategy"].decide(r).decision for r in rows]
    assert out["decisions"] == ours
    warm = bench_decision.ONLINE.warmup
    assert {(w, t) for _, _, w, t in out["measured"]} == {(warm, len(rows))}


# ----------------------------------------------------------------------- bench_service


def _app(source: str) -> Any:
    namespace: dict[str, Any] = {"__name__": "bench_source_under_test"}
    exec(compile(source, "<bench source>", "exec"), namespace)
    return namespace["app"]


def _route(app: Any, path: str) -> Any:
    return next(r for r in app.routes if getattr(r, "path", None) == path)


def test_bare_endpoint_does_the_io_our_endpoint_does() -> None:
    from fastapi import Request, Response
    from fastapi.testclient import TestClient

    from creditfactory.api._applications import create_application

    ours = inspect.signature(create_application, eval_str=True)
    fast = _route(_app(bench_service.BARE), "/v1/applications")
    theirs = inspect.signature(fast.endpoint, eval_str=True)
    # both take the raw request and answer a plain Response: nothing for FastAPI to parse or
    # validate on either side
    assert [p.annotation for p in ours.parameters.values()] == [Request]
    assert [p.annotation for p in theirs.parameters.values()] == [Request]
    assert ours.return_annotation is theirs.return_annotation is Response
    assert fast.dependant.body_params == []
    assert fast.response_model is None
    slow = _route(_app(bench_service.BARE_BODY), "/v1/applications")
    assert [p.name for p in slow.dependant.body_params] == ["application"]
    application = {"application_id": "a-1", "age": 30, "monthly_income": 9000.0}
    with TestClient(_app(bench_service.BARE)) as client:
        answer = client.post("/v1/applications", json=application)
        assert answer.status_code == 201
        assert answer.json()["decision"] == "approve"
        # a JSON array is parsed, not validated: no pydantic on this path
        assert client.post("/v1/applications", json=[1, 2]).status_code == 201
    with TestClient(_app(bench_service.BARE_BODY)) as client:
        assert client.post("/v1/applications", json=application).status_code == 201
        assert client.post("/v1/applications", json=[1, 2]).status_code == 422


def test_every_server_is_measured_with_the_same_protocol_in_interleaved_rounds() -> None:
    check_contenders(bench_service.CONTENDERS)
    assert {c.protocol for c in bench_service.CONTENDERS} == {bench_service.SERVER}
    starts: list[str] = []
    loads: list[tuple[int, float, int, int | None]] = []

    def starter(name: str, port: int) -> Any:
        @contextlib.contextmanager
        def start() -> Iterator[tuple[int, int]]:
            starts.append(name)
            yield port, 1000 + port

        return start

    def load(port: int, seconds: float, connections: int, pid: int | None) -> dict[str, float]:
        loads.append((port, seconds, connections, pid))
        return {"rps": 100.0 + len(loads), "cpu_ms": 1.0 / len(loads), "errors": 0.0}

    servers = [(c, "db", starter(c.name, port)) for port, c in enumerate(bench_service.CONTENDERS)]
    runs = bench_service.rounds(servers, load, 7.0, 16)
    p = bench_service.SERVER
    names = [c.name for c in bench_service.CONTENDERS]
    assert starts == names * p.repeat  # every server anew in each round, interleaved
    for port, c in enumerate(bench_service.CONTENDERS):
        mine = [x for x in loads if x[0] == port]
        assert mine.count((port, 1.0, 16, None)) == p.warmup * p.repeat
        assert mine.count((port, 7.0, 16, 1000 + port)) == p.repeat
        assert len(runs[c.name, "db"]) == p.repeat
        assert counts(c.name) == [(p.warmup, 1)] * p.repeat
    best = bench_service.best(runs[names[0], "db"])
    assert best["rps"] == max(r["rps"] for r in runs[names[0], "db"])
    assert best["cpu_ms"] == min(r["cpu_ms"] for r in runs[names[0], "db"])


# ------------------------------------------------------------ bench_lists, bench_simulate


def test_every_list_size_is_timed_alike(tmp_path: Path) -> None:
    rates = [
        bench_lists._rate(f"sqlite:///{tmp_path / f'l{k}.db'}", k, 64) for k in (0, 1)
    ]  # fmt: skip
    assert all(r > 0 and c > 0 and math.isfinite(c) for r, c in rates)
    p = bench_lists.PROTOCOL
    assert counts("0 entries") == counts("1 entries") == [(p.warmup, p.repeat)]
    check_contenders([bench_lists.contender(k) for k in (0, 1, 100_000)])


def test_simulator_and_its_baseline_share_a_protocol(monkeypatch: pytest.MonkeyPatch) -> None:
    check_contenders(bench_simulate.CONTENDERS)
    assert len({c.protocol for c in bench_simulate.CONTENDERS}) == 1
    from creditfactory.data import SimulationConfig

    small = SimulationConfig(n_applications=300, seed=1)
    monkeypatch.setattr(bench_simulate, "SimulationConfig", lambda **_: small)
    bench_simulate.run(quick=True)
    p = bench_simulate.PROTOCOL
    assert counts("simulate") == counts("random table") == [(p.warmup, p.repeat)]
