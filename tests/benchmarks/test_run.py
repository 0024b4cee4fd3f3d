"""benchmarks/run.py against fake bench modules written to a temporary folder."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUN = ROOT / "benchmarks" / "run.py"

GOOD = """
from benchmarks._common import best_of, timer

def run(quick: bool = False) -> dict:
    n = 1_000 if quick else 100_000
    with timer() as t:
        total = sum(range(n))
    base = best_of(lambda: sum(range(n)), repeat=2)
    return {
        "name": "good",
        "metrics": {"n": n, "seconds": t.seconds, "ratio": base.seconds / max(t.seconds, 1e-9)},
        "table": [["size", "total"], [n, total]],
        "notes": "sums a range",
    }
"""
BROKEN = """
def run(quick: bool = False) -> dict:
    raise RuntimeError("the simulator fell over")
"""
NOT_A_NUMBER = """
def run(quick: bool = False) -> dict:
    return {"name": "wrong", "metrics": {"speed": "fast"}, "notes": ""}
"""
BIG = """
def run(quick: bool = False) -> dict:
    block = b"x" * (160 * 2**20)  # written, so resident
    return {"name": "big", "metrics": {"bytes": len(block)}, "notes": ""}
"""
SMALL = """
def run(quick: bool = False) -> dict:
    return {"name": "small", "metrics": {"one": 1}, "notes": ""}
"""
SLOW = """
import time

def run(quick: bool = False) -> dict:
    time.sleep(30)
    return {"name": "slow", "metrics": {}, "notes": ""}
"""


def bench_dir(tmp_path: Path, **modules: str) -> Path:
    folder = tmp_path / "benches"
    folder.mkdir()
    for name, source in modules.items():
        (folder / f"bench_{name}.py").write_text(textwrap.dedent(source))
    (folder / "helper_not_a_bench.py").write_text("raise SystemExit('must not be imported')\n")
    return folder


def run_cli(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(RUN), "--dir", str(folder), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "COLUMNS": "160"},
    )


def load(folder: Path, name: str) -> dict:
    return json.loads((folder / "results" / f"{name}.json").read_text())


def test_runs_all_keeps_going_after_a_failure_and_exits_non_zero(tmp_path: Path) -> None:
    folder = bench_dir(tmp_path, good=GOOD, broken=BROKEN, wrong=NOT_A_NUMBER)
    proc = run_cli(folder, "--quick")
    assert proc.returncode == 1, proc.stderr
    good = load(folder, "good")
    assert good["status"] == "ok"
    assert good["quick"] is True
    assert good["metrics"]["n"] == 1_000
    assert good["table"] == [["size", "total"], [1000, 499500]]
    assert good["notes"] == "sums a range"
    assert good["peak_rss_mib"] > 5
    assert good["wall_s"] > 0
    machine = good["machine"]
    assert machine["cpu_count"] >= 1
    assert machine["memory_gib"] > 0
    assert machine["python"] == ".".join(map(str, sys.version_info[:3]))
    assert "numpy" in machine["packages"]
    assert machine["timestamp"].endswith("+00:00")
    broken = load(folder, "broken")
    assert broken["status"] == "failed"
    assert "RuntimeError: the simulator fell over" in broken["error"]
    wrong = load(folder, "wrong")
    assert wrong["status"] == "failed"
    assert "metric 'speed' is 'fast', not a number" in wrong["error"]
    out = proc.stdout
    assert "499,500" in out  # the optional table is printed
    assert "sums a range" in out
    assert "2 failed: broken, wrong" in " ".join(out.split())


def test_peak_memory_is_measured_per_benchmark(tmp_path: Path) -> None:
    folder = bench_dir(tmp_path, big=BIG, small=SMALL)
    proc = run_cli(folder)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    big, small = load(folder, "big"), load(folder, "small")
    assert big["peak_rss_mib"] > small["peak_rss_mib"] + 120
    assert small["peak_rss_mib"] < 120


def test_selects_by_name_and_reports_no_match(tmp_path: Path) -> None:
    folder = bench_dir(tmp_path, small=SMALL, broken=BROKEN)
    proc = run_cli(folder, "small", "--results", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["small.json"]
    proc = run_cli(folder, "nothing_like_this")
    assert proc.returncode == 2
    assert "no bench_*.py modules matching nothing_like_this" in proc.stdout


def test_a_benchmark_that_hangs_is_stopped(tmp_path: Path) -> None:
    folder = bench_dir(tmp_path, slow=SLOW, small=SMALL)
    proc = run_cli(folder, "--timeout", "2")
    assert proc.returncode == 1
    assert load(folder, "slow")["error"] == "timed out after 2 s"
    assert load(folder, "small")["status"] == "ok"


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc (process groups are POSIX)")
def test_a_timeout_also_stops_the_processes_the_benchmark_started(tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    spawner = f"""
        import subprocess, sys, time

        def run(quick: bool = False) -> dict:
            child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
            open({str(pid_file)!r}, "w").write(str(child.pid))
            time.sleep(60)
            return {{"name": "spawner", "metrics": {{}}, "notes": ""}}
    """
    folder = bench_dir(tmp_path, spawner=spawner)
    proc = run_cli(folder, "--timeout", "3")
    assert proc.returncode == 1
    assert load(folder, "spawner")["error"] == "timed out after 3 s"
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(pid), "the benchmark's own subprocess outlived its timeout"


def _alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie awaiting its reaper counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


# ------------------------------------------------------------------ the pieces in-process


@pytest.fixture(scope="module")
def runner() -> ModuleType:
    spec = importlib.util.spec_from_file_location("benchmarks_run_under_test", RUN)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("result", "message"),
    [
        ([], "returned list, expected a dict"),
        ({"metrics": {}}, "'name' must be"),
        ({"name": "a b", "metrics": {}}, "'name' must be"),
        ({"name": "a", "metrics": [1]}, "'metrics' must be a dict"),
        ({"name": "a", "metrics": {"ok": True}}, "metric 'ok' is True, not a number"),
        ({"name": "a", "metrics": {}, "table": "x"}, "'table' must be a list of rows"),
        ({"name": "a", "metrics": {}, "notes": 3}, "'notes' must be a string"),
        ({"name": "a", "metrics": {}, "extra": 1}, r"unknown keys \['extra'\]"),
    ],
)
def test_result_checks(runner: ModuleType, result: object, message: str) -> None:
    with pytest.raises((TypeError, ValueError), match=message):
        runner._check_result(result, "bench_x.py")


def test_discover(runner: ModuleType, tmp_path: Path) -> None:
    folder = bench_dir(tmp_path, b=SMALL, a=SMALL)
    assert [p.name for p in runner.discover(folder, [])] == ["bench_a.py", "bench_b.py"]
    assert [p.name for p in runner.discover(folder, ["bench_b", "a.py"])] == [
        "bench_a.py",
        "bench_b.py",
    ]


def test_format(runner: ModuleType) -> None:
    assert runner._fmt(1234567) == "1,234,567"
    assert runner._fmt(0.123456) == "0.1235"
    assert runner._fmt(12345.678) == "12,345.7"
    assert runner._fmt(1.5e-7) == "1.500e-07"
    assert runner._fmt("x") == "x"


def test_common_helpers(runner: ModuleType) -> None:
    from benchmarks import _common

    with _common.timer() as t:
        sum(range(10_000))
    assert 0 < t.seconds < 5
    calls = []
    timing = _common.best_of(lambda: calls.append(1) or len(calls), repeat=3, warmup=2)
    assert len(calls) == 5
    assert timing.value == 5
    assert timing.seconds == min(timing.times)
    assert len(timing.times) == 3
    assert timing.seconds <= timing.median
    assert _common.peak_rss_mib() >= _common.current_rss_mib() * 0.9
    with pytest.raises(ValueError, match="repeat"):
        _common.best_of(lambda: None, repeat=0)
