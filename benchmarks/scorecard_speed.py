"""Fit and scoring speed of the scorecard alone, in CPU seconds: ``python
benchmarks/scorecard_speed.py [fit|score|both] [--rounds N] [--train-rows N]``.

The two speed figures of ``bench_scorecard`` without its peers in other environments, books
of every size and reject inference, for a shared machine where wall time means little: every
contender is timed in CPU seconds (``time.process_time``, all threads of the process) and in
wall seconds, in interleaved rounds after one untimed warm-up each, on the benchmark's own
split (:func:`bench_scorecard._data`, 200,000 training rows by default):

- fit: our ``Scorecard().fit`` against optbinning's documented default pipeline
  (:func:`bench_scorecard._optbinning_pipeline`), warm-up on the first
  :data:`bench_scorecard.WARMUP_ROWS` rows; test AUC of both;
- score: ``predict_points`` on 1,000,000 rows of the raw frame against the blocked int8 NumPy
  scorer on pre-encoded arrays and on the same raw frame, and ours on text as ``Categorical``;
  every scorer must give our points exactly.

Each ratio is printed per round and from the fastest round of each contender.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import pandas as pd

from benchmarks import bench_scorecard as bench
from creditfactory.scorecard import Scorecard, ScorecardWarning, auc


def interleaved(
    contenders: dict[str, tuple[Callable[[], Any], Callable[[], Any] | None]], rounds: int
) -> tuple[dict[str, list[tuple[float, float]]], dict[str, Any]]:
    """One untimed warm-up each, then ``rounds`` rounds calling every contender in turn.

    Returns {name: [(cpu s, wall s) per round]} and the last value of each.
    """
    for fn, warm in contenders.values():
        (warm or fn)()
    times: dict[str, list[tuple[float, float]]] = {k: [] for k in contenders}
    values: dict[str, Any] = {}
    for _ in range(rounds):
        for name, (fn, _warm) in contenders.items():
            gc.collect()
            cpu, wall = time.process_time(), time.perf_counter()
            values[name] = fn()
            times[name].append((time.process_time() - cpu, time.perf_counter() - wall))
    return times, values


def report(times: dict[str, list[tuple[float, float]]], base: str) -> None:
    """Seconds per round, and each contender's time over ``base``'s (> 1: ``base`` is faster)."""
    for name, ts in times.items():
        cpu = ", ".join(f"{c:.3f}" for c, _ in ts)
        wall = ", ".join(f"{w:.2f}" for _, w in ts)
        print(f"  {name:30s} CPU s {cpu}   wall s {wall}")
    for name, ts in times.items():
        if name == base:
            continue
        per_round = [c / b for (c, _), (b, _) in zip(ts, times[base], strict=True)]
        best = min(c for c, _ in ts) / min(c for c, _ in times[base])
        wall = min(w for _, w in ts) / min(w for _, w in times[base])
        print(
            f"  {name} / {base}: CPU {best:.2f} (per round "
            f"{', '.join(f'{r:.2f}' for r in per_round)}), wall {wall:.2f}"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", nargs="?", default="both", choices=["fit", "score", "both"])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--train-rows", type=int, default=200_000)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", ScorecardWarning)
    train, test = bench._data(args.train_rows)
    X, y = bench._features(train), train["bad"].to_numpy()
    Xt, yt = bench._features(test), test["bad"].to_numpy()
    ours = None
    if args.what in ("fit", "both"):
        Xw, yw = X.head(bench.WARMUP_ROWS), y[: bench.WARMUP_ROWS]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            times, fitted = interleaved(
                {
                    "ours": (lambda: Scorecard().fit(X, y), lambda: Scorecard().fit(Xw, yw)),
                    "optbinning": (
                        lambda: bench._optbinning_pipeline(X).fit(X, y),
                        lambda: bench._optbinning_pipeline(Xw).fit(Xw, yw),
                    ),
                },
                args.rounds,
            )
            p_ob = fitted["optbinning"].predict_proba(Xt)[:, 1]
        ours = fitted["ours"]
        print(f"fit on {len(X):,} rows x {X.shape[1]} columns")
        report(times, "ours")
        p_ours = ours.predict_proba(Xt)[:, 1]
        print(f"  test AUC ours {auc(yt, p_ours):.4f}, optbinning {auc(yt, p_ob):.4f}")
    if args.what in ("score", "both"):
        ours = ours or Scorecard().fit(X, y)
        big = pd.concat([Xt] * int(np.ceil(1e6 / len(Xt))), ignore_index=True).iloc[:1_000_000]
        inputs, plan = bench._numpy_inputs(ours, big), bench._numpy_plan(ours)
        text = [c for c in big.columns if pd.api.types.is_string_dtype(big[c].dtype)]
        cat = big.astype(dict.fromkeys(text, "category"))
        times, scores = interleaved(
            {
                "ours": (lambda: ours.predict_points(big), None),
                "numpy pre-encoded": (lambda: bench._score_int8_gather_blocked(inputs), None),
                "numpy raw frame": (lambda: bench._score_raw_int8_gather_blocked(plan, big), None),
                "ours, text as Categorical": (lambda: ours.predict_points(cat), None),
            },
            args.rounds,
        )
        for name, value in scores.items():
            if not np.array_equal(value, scores["ours"]):
                raise AssertionError(f"{name} does not give our points")
        print(f"score {len(big):,} rows (time over ours' time = ours' speed as a share of it)")
        report(times, "ours")


if __name__ == "__main__":
    main()
