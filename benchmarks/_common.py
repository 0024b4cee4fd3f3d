"""Shared helpers for benchmark modules: timing, best-of-N, peak memory, machine facts.

A benchmark module ``benchmarks/bench_<name>.py`` exposes ``run(quick: bool = False) -> dict``
and may use these helpers::

    from benchmarks._common import best_of, peak_rss_mib, timer

    def run(quick: bool = False) -> dict:
        with timer() as t:
            book = simulate(config)
        baseline = best_of(lambda: numpy_only(config), repeat=3)
        return {"name": "simulate", "metrics": {"seconds": t.seconds,
                "speed_vs_numpy": baseline.seconds / t.seconds,
                "peak_rss_mib": peak_rss_mib()}, "notes": "..."}

``benchmarks/run.py`` runs each module in its own process, so ``peak_rss_mib()`` read at the end
of ``run`` is that benchmark's own peak (the runner records it too).

Same treatment for ours and every peer: a benchmark declares its contenders (:class:`Contender`:
a name, the call it times, the :class:`Protocol` of warm-up and repetitions) and times each one
with :func:`measure` (whole calls, the best of ``repeat``) or :func:`per_call_ns` (one call per
input, every call kept), which take the protocol from the contender. Contenders compared with
each other share a ``group`` and must share a protocol (:func:`check_contenders`);
:data:`MEASURED` logs how many untimed and timed calls each contender really got, which the
tests under ``tests/benchmarks/`` read. This module imports only the standard library at import
time, so a peer's runner in another virtual environment can use the same helpers.
"""

from __future__ import annotations

import datetime as dt
import gc
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

PACKAGES = (
    "creditfactory",
    "numpy",
    "pandas",
    "polars",
    "pyarrow",
    "scikit-learn",
    "scipy",
    "optbinning",
    "lightgbm",
    "statsmodels",
    "duckdb",
)


@dataclass
class Timer:
    """Elapsed wall-clock seconds of a ``with timer():`` block (``seconds`` set on exit)."""

    seconds: float = float("nan")
    _start: float = field(default=0.0, repr=False)


@contextmanager
def timer() -> Iterator[Timer]:
    """Time a block with :func:`time.perf_counter`.

    >>> with timer() as t:
    ...     _ = sum(range(1000))
    >>> t.seconds >= 0
    True
    """
    t = Timer(_start=time.perf_counter())
    try:
        yield t
    finally:
        t.seconds = time.perf_counter() - t._start


@dataclass(frozen=True)
class Timing:
    """Result of :func:`best_of`: the best and all times, and the value of the last call."""

    seconds: float
    times: tuple[float, ...]
    value: Any = field(repr=False)
    # CPU seconds of this process (all its threads) per timed call: steadier than wall time
    # when other jobs share the machine, and it counts a multi-threaded library's whole work
    cpu_times: tuple[float, ...] = ()

    @property
    def cpu_seconds(self) -> float:
        """The least CPU time of a timed call (NaN when not measured)."""
        return min(self.cpu_times) if self.cpu_times else float("nan")

    @property
    def median(self) -> float:
        ordered = sorted(self.times)
        mid = len(ordered) // 2
        return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def best_of(fn: Callable[[], Any], repeat: int = 3, warmup: int = 0) -> Timing:
    """Call ``fn`` ``warmup`` times untimed, then ``repeat`` times; keep the fastest.

    The minimum is the least noisy estimate on a shared machine; ``Timing.median`` is there too.
    Garbage is collected before each timed call so one call's leftovers do not bill the next.
    """
    if repeat < 1:
        raise ValueError("repeat must be at least 1")
    for _ in range(warmup):
        fn()
    times, cpu = [], []
    value = None
    for _ in range(repeat):
        value = None  # one call's result is freed before the next (peak memory is one call's)
        gc.collect()
        cpu0, start = time.process_time(), time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - cpu0)
    return Timing(min(times), tuple(times), value, tuple(cpu))


@dataclass(frozen=True)
class Protocol:
    """How a contender is timed: ``warmup`` untimed calls, then ``repeat`` timed ones (the best
    of them counts; :func:`per_call_ns` times every input once, ``repeat`` does not apply)."""

    warmup: int
    repeat: int = 1

    def __post_init__(self) -> None:
        if self.warmup < 0:
            raise ValueError("warmup must be at least 0")
        if self.repeat < 1:
            raise ValueError("repeat must be at least 1")


@dataclass(frozen=True)
class Contender:
    """One thing a benchmark times: ``path`` says which call, in words a reader can check
    against the peer's documentation; contenders of one ``group`` are compared with each other."""

    name: str
    group: str
    path: str
    protocol: Protocol


@dataclass(frozen=True)
class Measured:
    """What :func:`measure` or :func:`per_call_ns` really did for one contender."""

    name: str
    group: str
    warmup_calls: int
    timed_calls: int


MEASURED: list[Measured] = []
"""Every measurement of this process, in order (tests read it; benchmarks may ignore it)."""


def check_contenders(contenders: tuple[Contender, ...] | list[Contender]) -> None:
    """Raise ``ValueError`` unless names are unique and each group's contenders share one
    protocol (the same warm-up and repetitions for ours and theirs)."""
    names = [c.name for c in contenders]
    if len(set(names)) != len(names):
        raise ValueError(f"contender names repeat: {names}")
    by_group: dict[str, Protocol] = {}
    for c in contenders:
        first = by_group.setdefault(c.group, c.protocol)
        if c.protocol != first:
            raise ValueError(
                f"group {c.group!r}: {c.name!r} is timed with {c.protocol}, another with {first}"
            )


def measure(contender: Contender, fn: Callable[[], Any]) -> Timing:
    """``fn`` timed as ``contender``'s protocol says (warm-up calls, then the best of
    ``repeat``), logged in :data:`MEASURED`."""
    calls = [0]

    def counted() -> Any:
        calls[0] += 1
        return fn()

    p = contender.protocol
    timing = best_of(counted, repeat=p.repeat, warmup=p.warmup)
    MEASURED.append(Measured(contender.name, contender.group, p.warmup, calls[0] - p.warmup))
    return timing


def per_call_ns(
    contender: Contender, fn: Callable[[Any], Any], items: list[Any], warmup_items: list[Any]
) -> list[int]:
    """Nanoseconds of ``fn(item)`` for each of ``items``, after ``fn`` ran untimed on the first
    ``contender.protocol.warmup`` of ``warmup_items``; garbage collection off while timing (for
    every contender alike); logged in :data:`MEASURED`."""
    warm = warmup_items[: contender.protocol.warmup]
    if len(warm) < contender.protocol.warmup:
        raise ValueError(f"{contender.name}: {len(warm)} warm-up items, the protocol wants more")
    for item in warm:
        fn(item)
    clock = time.perf_counter_ns
    times = [0] * len(items)
    gc.collect()
    gc.disable()
    try:
        for i, item in enumerate(items):
            t = clock()
            fn(item)
            times[i] = clock() - t
    finally:
        gc.enable()
    MEASURED.append(Measured(contender.name, contender.group, len(warm), len(items)))
    return times


def warm_run(contender: Contender, warm: Callable[[], Any], run: Callable[[], T]) -> T:
    """One timed run of a contender measured in rounds (a server started anew each round):
    ``warm`` called ``contender.protocol.warmup`` times untimed, then ``run`` once; logged in
    :data:`MEASURED`. The caller does ``protocol.repeat`` rounds and keeps the best."""
    for _ in range(contender.protocol.warmup):
        warm()
    value = run()
    MEASURED.append(Measured(contender.name, contender.group, contender.protocol.warmup, 1))
    return value


def _maxrss_mib(who: int) -> float:
    rss = resource.getrusage(who).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return rss / 2**20 if sys.platform == "darwin" else rss / 2**10


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, in MiB."""
    return _maxrss_mib(resource.RUSAGE_SELF)


def children_peak_rss_mib() -> float:
    """Largest peak resident memory of any finished child process, in MiB."""
    return _maxrss_mib(resource.RUSAGE_CHILDREN)


def current_rss_mib() -> float:
    """Resident memory now, in MiB (psutil when installed, else /proc; NaN if unknown)."""
    try:
        import psutil

        return float(psutil.Process().memory_info().rss) / 2**20
    except ImportError:
        pass
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return float("nan")


def _total_memory_gib() -> float | None:
    try:
        import psutil

        return round(psutil.virtual_memory().total / 2**30, 2)
    except ImportError:
        pass
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 2)
    except (ValueError, OSError, AttributeError):
        return None


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).resolve().parent,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def machine_info() -> dict[str, Any]:
    """Facts that make a result comparable: CPUs, memory, Python, package versions, time."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    try:
        usable_cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        usable_cpus = os.cpu_count()
    return {
        "timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "hostname": platform.node(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "usable_cpus": usable_cpus,
        "memory_gib": _total_memory_gib(),
        "python": platform.python_version(),
        "packages": versions,
        "git": _git_commit(),
    }
