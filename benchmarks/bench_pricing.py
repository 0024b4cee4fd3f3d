"""Pricing speed: one online price of the lifetime model (``risk_based_apr`` on floats) and
the batch price per row (NumPy arrays), against the one-period closed form measured in the same
run on the same loans (``expected_loss`` and ``annuity_payment``: what a price cost before the
lifetime model), and checked to agree online and in batch.

Loans like the twin's: PDs 0.005-0.4 (log-uniform), amounts 1,000-100,000, terms 3/6/12/24/36,
the reference strategy's target, LGD and cost of funds. The engine's online budget is p50 <= 20
us for a whole decision (``bench_decision``), so a price should cost a few microseconds; the
first price of a term is timed apart (it builds the tables of that term).
"""

from __future__ import annotations

import time

import numpy as np

from benchmarks._common import best_of, peak_rss_mib
from creditfactory.pricing import (
    LoanEconomics,
    annuity_payment,
    expected_loss,
    risk_based_apr,
)

ECONOMICS = LoanEconomics(lgd=0.75, cost_of_funds=0.04)
TARGET = 0.05


def _loans(n: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    pd = np.exp(rng.uniform(np.log(0.005), np.log(0.4), n))
    amount = np.round(rng.uniform(1_000.0, 100_000.0, n), -2)
    term = rng.choice([3.0, 6.0, 12.0, 24.0, 36.0], n)
    return pd, amount, term


def _per_call_us(fn, rows: list[tuple[float, float, float]], repeat: int) -> float:
    def loop() -> None:
        for p, a, t in rows:
            fn(p, a, t)

    return best_of(loop, repeat=repeat, warmup=1).seconds / len(rows) * 1e6


def one_period(pd: float, amount: float, term: float) -> float:
    """The closed-form price the lifetime model replaced: funding + target + the year's loss,
    with the instalment computed as a strategy would (two float formulas)."""
    annuity_payment(amount, 0.18, term)
    return ECONOMICS.cost_of_funds + TARGET + expected_loss(pd, ECONOMICS.lgd, 1.0)


def run(quick: bool = False) -> dict:
    n_online = 2_000 if quick else 20_000
    n_batch = 100_000 if quick else 1_000_000
    pd, amount, term = _loans(n_online)
    rows = list(zip(pd.tolist(), amount.tolist(), term.tolist(), strict=True))
    # the first price of each term builds its tables (timed: what a new term costs once)
    start = time.perf_counter()
    for t in (3.0, 6.0, 12.0, 24.0, 36.0):
        risk_based_apr(0.05, 10_000.0, t, TARGET, ECONOMICS)
    first_ms = (time.perf_counter() - start) / 5 * 1e3

    def price(p: float, a: float, t: float) -> float:
        return risk_based_apr(p, a, t, TARGET, ECONOMICS)

    repeat = 3 if quick else 5
    online_us = _per_call_us(price, rows, repeat)
    baseline_us = _per_call_us(one_period, rows, repeat)
    online = np.array([price(*r) for r in rows])
    batch_small = risk_based_apr(pd, amount, term, TARGET, ECONOMICS)
    agree = float(np.max(np.abs(online - batch_small) / online))

    bpd, bamount, bterm = _loans(n_batch, seed=8)
    start = time.perf_counter()
    risk_based_apr(bpd, bamount, bterm, TARGET, ECONOMICS)
    batch_s = time.perf_counter() - start
    metrics = {
        "online_price_us": online_us,
        "one_period_us": baseline_us,
        "online_over_one_period": online_us / baseline_us,
        "batch_rows": n_batch,
        "batch_seconds": batch_s,
        "batch_us_per_row": batch_s / n_batch * 1e6,
        "online_over_batch_per_row": online_us / (batch_s / n_batch * 1e6),
        "online_batch_max_rel_diff": agree,
        "first_price_of_a_term_ms": first_ms,
        "peak_rss_mib": peak_rss_mib(),
    }
    table = [
        ["measure", "value"],
        ["one online price (us)", f"{online_us:.2f}"],
        ["one-period closed form (us)", f"{baseline_us:.2f}"],
        ["online price / closed form", f"{online_us / baseline_us:.1f}x"],
        [f"batch ({n_batch:,} loans, s)", f"{batch_s:.2f}"],
        ["online vs batch, max relative difference", f"{agree:.1e}"],
        ["first price of a term: its tables (ms)", f"{first_ms:.0f}"],
    ]
    return {
        "name": "pricing",
        "metrics": metrics,
        "table": table,
        "notes": f"risk_based_apr on {n_online:,} loans one at a time (floats) and on "
        f"{n_batch:,} as arrays; baseline: the one-period closed form on the same loans",
    }
