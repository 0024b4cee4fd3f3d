"""Simulator throughput: 1,000,000 applications with 24 months of performance.

Target (issue 2): at most 60 s and 4 GiB peak memory on the 2-core reference machine. Because
machines are noisy, the time is also stated as a ratio to a baseline measured in the same run:
building a pandas table of the same number of rows and columns from plain NumPy random draws
(the floor cost of producing the applications table at all). Both are timed alike
(:data:`CONTENDERS`: no warm-up, one call each; one simulation, so that the peak memory is one
simulation's, as the target means).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from benchmarks._common import Contender, Protocol, check_contenders, measure, peak_rss_mib
from creditfactory.data import SimulationConfig, simulate

PROTOCOL = Protocol(warmup=0, repeat=1)  # one simulation: its peak memory is the target
CONTENDERS = (
    Contender("simulate", "simulate", "creditfactory.data.simulate(config)", PROTOCOL),
    Contender(
        "random table", "simulate", "pandas.DataFrame of NumPy normal draws, same shape", PROTOCOL
    ),
)
check_contenders(CONTENDERS)


def _baseline(n: int, columns: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({f"c{i}": rng.normal(size=n) for i in range(columns)})


def run(quick: bool = False) -> dict:
    n = 100_000 if quick else 1_000_000
    config = SimulationConfig(n_applications=n, seed=7, months_of_history=24, max_months_on_book=24)
    ours = measure(CONTENDERS[0], lambda: simulate(config))
    seconds, book = ours.seconds, ours.value
    rows = {name: len(table) for name, table in book.tables().items()}
    base = measure(CONTENDERS[1], lambda: _baseline(n, book.applications.shape[1]))
    peak = peak_rss_mib()
    table = [["measure", "value"]]
    table += [["applications", f"{n:,}"], ["seconds", f"{seconds:.1f}"]]
    table += [["applications / s", f"{n / seconds:,.0f}"], ["peak RSS (MiB)", f"{peak:,.0f}"]]
    table += [["baseline seconds (random table)", f"{base.seconds:.2f}"]]
    table += [["time / baseline", f"{seconds / base.seconds:.1f}x"]]
    table += [[f"rows: {k}", f"{v:,}"] for k, v in rows.items()]
    meets = seconds <= 60 and peak <= 4096
    return {
        "name": "simulate",
        "metrics": {
            "applications": n,
            "seconds": seconds,
            "applications_per_second": n / seconds,
            "peak_rss_mib": peak,
            "baseline_seconds": base.seconds,
            "time_over_baseline": seconds / base.seconds,
            "performance_rows": rows["performance"],
            "meets_target": float(meets) if not quick else float("nan"),
        },
        "table": table,
        "notes": (
            "target: <= 60 s and <= 4096 MiB for 1,000,000 applications (full run only); the "
            f"simulator and the baseline timed alike: {PROTOCOL.warmup} warm-up call(s), "
            f"{PROTOCOL.repeat} timed call(s), the best kept; peak memory is the process's"
        ),
    }
