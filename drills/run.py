"""Run the drills: ``python drills/run.py [names...] [--quick]``.

Every ``drill_<name>.py`` in this folder exposes ``run(quick: bool = False) -> dict`` (the
shape of :func:`drills._common.result`) and prints what it tries and what it finds. Each runs
in its own Python process, its account shown as it comes; the runner writes
``results/<name>.json`` and ends with one table: requests sent, accepted, lost (must be 0),
duplicated (must be 0), tamper cases caught / tried, fuzz cases / failures, unauthorised
successes (must be 0) and whether the drill passed.

The exit status is 1 when a must-be-0 count is not 0 or a drill failed or crashed, 2 when no
drill matched, 0 otherwise.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:  # so `from drills._common import ...` works
    sys.path.insert(0, str(HERE.parent))

from drills._common import MUST_BE_ZERO  # noqa: E402

_CHILD_FLAG = "--_child"


def _child(module_path: Path, out: Path, quick: bool) -> int:
    spec = importlib.util.spec_from_file_location(f"drills.{module_path.stem}", module_path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {module_path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    outcome = module.run(quick=quick)
    out.write_text(json.dumps(outcome, indent=2, default=str))
    return 0


def discover(names: list[str]) -> list[Path]:
    modules = sorted(HERE.glob("drill_*.py"))
    if not names:
        return modules
    wanted = {n.removesuffix(".py").removeprefix("drill_") for n in names}
    return [m for m in modules if m.stem.removeprefix("drill_") in wanted]


def run_one(module: Path, quick: bool, timeout: float) -> dict[str, Any]:
    """Run one drill in a fresh interpreter, its output passed through as it comes."""
    name = module.stem.removeprefix("drill_")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        command = [
            sys.executable,
            str(Path(__file__).resolve()),
            _CHILD_FLAG,
            str(module),
            "--_out",
            str(out),
        ] + (["--quick"] if quick else [])
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        start = time.perf_counter()
        try:
            proc = subprocess.run(command, timeout=timeout, env=env, check=False)
            code = proc.returncode
        except subprocess.TimeoutExpired:
            code = None
        wall = round(time.perf_counter() - start, 1)
        if code != 0 or not out.exists():
            why = f"timed out after {timeout:g} s" if code is None else f"exit status {code}"
            return {
                "name": name,
                "passed": False,
                "crashed": why,
                "wall_s": wall,
                "findings": [f"the drill itself failed: {why}"],
            }
        outcome = json.loads(out.read_text())
    outcome["wall_s"] = wall
    return outcome


def _cell(value: Any, must_be_zero: bool = False) -> str:
    if value is None:
        return "–"
    text = f"{value:,}" if isinstance(value, int) else str(value)
    if must_be_zero and value:
        return f"[bold red]{text}[/]"
    return text


def _pair(a: Any, b: Any, bad: bool) -> str:
    if a is None and b is None:
        return "–"
    text = f"{a or 0:,} / {b or 0:,}"
    return f"[bold red]{text}[/]" if bad else text


def failed(outcome: dict[str, Any]) -> bool:
    """A drill failed: it did not pass, crashed, or a must-be-0 count is not 0."""
    return (
        not outcome.get("passed")
        or bool(outcome.get("crashed"))
        or any(outcome.get(k) for k in MUST_BE_ZERO)
    )


def table(console: Any, outcomes: list[dict[str, Any]]) -> None:
    from rich.table import Table

    t = Table(title="drills", title_justify="left")
    for header in (
        "drill",
        "sent",
        "accepted",
        "lost",
        "duplicated",
        "tamper caught / tried",
        "fuzz cases / failures",
        "unauthorised",
        "s",
        "result",
    ):
        t.add_column(header, justify="left" if header in ("drill", "result") else "right")
    for o in outcomes:
        tamper_bad = (o.get("tamper_caught") or 0) < (o.get("tamper_tried") or 0)
        t.add_row(
            o["name"],
            _cell(o.get("sent")),
            _cell(o.get("accepted")),
            _cell(o.get("lost"), True),
            _cell(o.get("duplicated"), True),
            _pair(o.get("tamper_caught"), o.get("tamper_tried"), tamper_bad),
            _pair(o.get("fuzz_cases"), o.get("fuzz_failures"), bool(o.get("fuzz_failures"))),
            _cell(o.get("unauthorised"), True),
            f"{o.get('wall_s', 0):.0f}",
            "[bold red]FAIL[/]" if failed(o) else "[green]pass[/]",
        )
    console.print(t)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="drills to run (default: all)")
    parser.add_argument("--quick", action="store_true", help="small counts, for a smoke run")
    parser.add_argument("--results", type=Path, default=HERE / "results", help="output folder")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per drill")
    parser.add_argument(_CHILD_FLAG, type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--_out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args._child is not None:
        return _child(args._child, args._out, args.quick)

    from rich.console import Console

    console = Console(width=None if sys.stdout.isatty() else 150)
    modules = discover(args.names)
    if not modules:
        console.print(f"[red]no drill_*.py modules matching {' '.join(args.names)}[/]")
        return 2
    args.results.mkdir(parents=True, exist_ok=True)
    outcomes = []
    for module in modules:
        console.rule(f"drill {module.stem.removeprefix('drill_')}")
        outcome = run_one(module, args.quick, args.timeout)
        outcome["quick"] = args.quick
        (args.results / f"{outcome['name']}.json").write_text(json.dumps(outcome, indent=2) + "\n")
        for line in outcome.get("findings", []):
            console.print(f"  finding: {line}", style="yellow", markup=False, highlight=False)
        outcomes.append(outcome)
    table(console, outcomes)
    bad = [o["name"] for o in outcomes if failed(o)]
    if bad:
        console.print(
            f"[bold red]{len(bad)} drill(s) failed:[/] {', '.join(bad)}  "
            f"(details: {args.results}/<name>.json)"
        )
        return 1
    console.print(f"[green]all {len(outcomes)} drill(s) passed[/]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
