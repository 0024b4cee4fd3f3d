"""Run the benchmarks: ``python benchmarks/run.py [--quick] [--dir DIR] [names...]``.

Every ``bench_<name>.py`` in the benchmark folder exposes ``run(quick: bool = False) -> dict``
returning::

    {"name": str,                       # also the result file name
     "metrics": {str: number},          # speeds as ratios against a baseline of the same run
     "table": [[header...], [row...]],  # optional rows to print, the first a header
     "notes": str}                      # what was measured, on what, against what

Each module runs in its own Python process, so its peak memory is its own; the runner adds the
wall time, the peak resident memory and the machine (CPUs, memory, Python, package versions,
time), writes ``results/<name>.json``, prints a table per benchmark and a summary, and goes on
when one fails. The exit status is 1 when any failed, 2 when nothing matched.

``names`` select modules by ``<name>`` or ``bench_<name>``; none selects all.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import numbers
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:  # so `from benchmarks._common import ...` works
    sys.path.insert(0, str(HERE.parent))

from benchmarks._common import machine_info  # noqa: E402

_CHILD_FLAG = "--_child"


# ------------------------------------------------------------------------- the child side


def _child(module_path: Path, out: Path, quick: bool) -> int:
    """Import one bench module, run it, check its result and write it as JSON to ``out``."""
    import resource

    for entry in (module_path.parent.parent, module_path.parent):
        if str(entry) not in sys.path:
            sys.path.insert(0, str(entry))
    spec = importlib.util.spec_from_file_location(module_path.stem, module_path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {module_path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_path.stem] = module
    spec.loader.exec_module(module)
    runner = getattr(module, "run", None)
    if not callable(runner):
        raise TypeError(f"{module_path.name} has no run(quick: bool = False) function")
    result = runner(quick=quick)
    result = _check_result(result, module_path.name)
    to_mib = 2**20 if sys.platform == "darwin" else 2**10
    self_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / to_mib
    children_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / to_mib
    result["peak_rss_mib"] = round(self_peak, 1)
    if children_peak:
        result["children_peak_rss_mib"] = round(children_peak, 1)
    out.write_text(json.dumps(result, default=_jsonable, indent=2))
    return 0


def _jsonable(value: Any) -> Any:
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item):
        return item()
    tolist = getattr(value, "tolist", None)  # numpy arrays
    if callable(tolist):
        return tolist()
    return str(value)


def _check_result(result: Any, where: str) -> dict[str, Any]:
    if not isinstance(result, dict):
        raise TypeError(f"{where}: run() returned {type(result).__name__}, expected a dict")
    name = result.get("name")
    if not isinstance(name, str) or not name or any(c in name for c in "/\\ "):
        raise ValueError(f"{where}: 'name' must be a non-empty string without / \\ or spaces")
    metrics = result.get("metrics")
    if not isinstance(metrics, dict):
        raise TypeError(f"{where}: 'metrics' must be a dict of name -> number")
    for key, value in metrics.items():
        if not isinstance(key, str):
            raise TypeError(f"{where}: metric name {key!r} is not a string")
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{where}: metric {key!r} is {value!r}, not a number")
    table = result.get("table")
    if table is not None and (
        not isinstance(table, list | tuple) or not all(isinstance(r, list | tuple) for r in table)
    ):
        raise TypeError(f"{where}: 'table' must be a list of rows (lists), the first a header")
    notes = result.get("notes", "")
    if not isinstance(notes, str):
        raise TypeError(f"{where}: 'notes' must be a string")
    unknown = set(result) - {"name", "metrics", "table", "notes"}
    if unknown:
        raise ValueError(f"{where}: unknown keys {sorted(unknown)}")
    return {"name": name, "metrics": metrics, "table": table, "notes": notes}


# ------------------------------------------------------------------------ the parent side


def discover(directory: Path, names: list[str]) -> list[Path]:
    """The bench modules of ``directory``, in name order, limited to ``names`` when given."""
    modules = sorted(directory.glob("bench_*.py"))
    if not names:
        return modules
    wanted = {n.removesuffix(".py").removeprefix("bench_") for n in names}
    return [m for m in modules if m.stem.removeprefix("bench_") in wanted]


def run_one(module: Path, quick: bool, timeout: float) -> dict[str, Any]:
    """Run one module in a fresh interpreter; a dict with ``status`` ok or failed."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        command = [sys.executable, str(Path(__file__).resolve()), _CHILD_FLAG, str(module)]
        command += ["--_out", str(out)] + (["--quick"] if quick else [])
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        start = time.perf_counter()
        # its own process group (POSIX), so that a timeout stops what it started too: the peers'
        # subprocesses of bench_scorecard outlived a timed-out run and kept a core busy
        posix = os.name == "posix"
        proc = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            start_new_session=posix,
        )
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            if posix:
                os.killpg(proc.pid, signal.SIGKILL)
            else:
                proc.kill()
            stdout, stderr = proc.communicate()
            return _failed(
                module,
                f"timed out after {timeout:g} s",
                _text(stdout) + _text(stderr),
                time.perf_counter() - start,
            )
        proc = subprocess.CompletedProcess(command, proc.returncode, stdout, stderr)
        wall = time.perf_counter() - start
        if proc.returncode != 0 or not out.exists():
            reason = _last_line(proc.stderr) or f"exit status {proc.returncode}"
            return _failed(module, reason, proc.stdout + proc.stderr, wall)
        result = json.loads(out.read_text())
    result.update(status="ok", module=module.name, wall_s=round(wall, 3))
    if proc.stdout.strip() or proc.stderr.strip():
        result["log"] = _tail(proc.stdout + proc.stderr)
    return result


def _text(data: str | bytes | None) -> str:
    if data is None:
        return ""
    return data.decode(errors="replace") if isinstance(data, bytes) else data


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def _failed(module: Path, reason: str, log: str, wall: float) -> dict[str, Any]:
    name = module.stem.removeprefix("bench_")
    return {
        "name": name,
        "status": "failed",
        "module": module.name,
        "error": reason,
        "log": _tail(log),
        "wall_s": round(wall, 3),
    }


def _fmt(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return str(value)
    if isinstance(value, numbers.Integral):
        return f"{value:,}"
    value = float(value)
    if math.isnan(value) or math.isinf(value):
        return str(value)
    if value == 0 or 1e-3 <= abs(value) < 1e6:
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.1f}"
    return f"{value:.3e}"


def render(console: Any, result: dict[str, Any]) -> None:
    """Print one benchmark: its metrics, its optional table and its notes."""
    from rich.table import Table

    title = f"{result['name']}  ({result.get('module', '')}, {result.get('wall_s', 0):.1f} s)"
    if result["status"] != "ok":
        console.print(f"[bold red]FAILED[/] {title}: {result.get('error', '')}")
        if result.get("log"):
            console.print(result["log"], style="dim", markup=False, highlight=False)
        return
    metrics = Table(title=title, title_justify="left", show_header=True)
    metrics.add_column("metric")
    metrics.add_column("value", justify="right")
    for key, value in result["metrics"].items():
        metrics.add_row(key, _fmt(value))
    metrics.add_row("peak RSS (MiB)", _fmt(result.get("peak_rss_mib")), style="dim")
    console.print(metrics)
    rows = result.get("table") or []
    if rows:
        table = Table(show_header=True)
        for header in rows[0]:
            table.add_column(str(header), justify="right")
        for row in rows[1:]:
            table.add_row(*(_fmt(cell) for cell in row))
        console.print(table)
    if result.get("notes"):
        console.print(result["notes"], style="italic", markup=False, highlight=False)


def summary(console: Any, results: list[dict[str, Any]], results_dir: Path) -> None:
    from rich.table import Table

    table = Table(title="benchmarks", title_justify="left")
    table.add_column("benchmark")
    table.add_column("status")
    table.add_column("wall s", justify="right")
    table.add_column("peak RSS MiB", justify="right")
    table.add_column("result")
    for r in results:
        ok = r["status"] == "ok"
        where = str(results_dir / f"{r['name']}.json") if ok else r.get("error", "")
        table.add_row(
            r["name"],
            "[green]ok[/]" if ok else "[red]failed[/]",
            f"{r.get('wall_s', 0):.1f}",
            _fmt(r.get("peak_rss_mib", "")),
            where,
        )
    console.print(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--dir", type=Path, default=HERE, help="folder of bench_*.py modules")
    parser.add_argument("--results", type=Path, help="output folder (default: DIR/results)")
    parser.add_argument(
        "--timeout", type=float, default=3600.0, help="seconds per benchmark (default 3600)"
    )
    parser.add_argument(_CHILD_FLAG, type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--_out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args._child is not None:
        return _child(args._child, args._out, args.quick)

    from rich.console import Console

    console = Console()
    directory = args.dir.resolve()
    results_dir = (args.results or directory / "results").resolve()
    modules = discover(directory, args.names)
    if not modules:
        wanted = f" matching {' '.join(args.names)}" if args.names else ""
        console.print(f"[red]no bench_*.py modules{wanted} in {directory}[/]")
        return 2
    machine = machine_info()
    results_dir.mkdir(parents=True, exist_ok=True)
    console.print(
        f"{len(modules)} benchmark(s){' (quick)' if args.quick else ''} on "
        f"{machine['usable_cpus']} CPUs, {machine['memory_gib']} GiB, Python {machine['python']}"
    )
    results = []
    for module in modules:
        with console.status(f"running {module.name} ..."):
            result = run_one(module, args.quick, args.timeout)
        clash = next((r for r in results if r["name"] == result["name"]), None)
        if clash is not None:
            error = f"name {result['name']!r} is already used by {clash['module']}"
            result = _failed(module, error, "", result.get("wall_s", 0.0))
            result["name"] = module.stem
        result.update(quick=args.quick, machine=machine)
        (results_dir / f"{result['name']}.json").write_text(json.dumps(result, indent=2) + "\n")
        render(console, result)
        results.append(result)
    summary(console, results, results_dir)
    failed = [r["name"] for r in results if r["status"] != "ok"]
    if failed:
        console.print(f"[bold red]{len(failed)} failed:[/] {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
