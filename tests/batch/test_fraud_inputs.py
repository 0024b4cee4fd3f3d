"""A strategy with fraud inputs decided from a file in chunks: each chunk sees the whole file's
history before its rows (point in time), so the chunks give what one frame gives, and a resumed
run the same again."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from creditfactory.batch import decide_file
from creditfactory.data import SimulationConfig, simulate
from creditfactory.decision import Strategy

STRATEGY = """
strategy: fraudy
version: "1"
key: application_id
inputs:
  application_id: str
  ring_size: {type: int, provided: "fraud:ring_size"}
  vel_device_apps_7d: {type: int, provided: "fraud:vel_device_apps_7d"}
  fraud_flag: {type: bool, provided: "fraud:fraud_flag"}
flow:
  - rules:
      name: fraud
      rules:
        - {name: flag, when: "fraud_flag", action: decline, reason: FR_FLAG}
        - {name: linked, when: "ring_size >= 2", action: refer, reason: FR_LINKED}
        - {name: busy, when: "vel_device_apps_7d >= 1", action: refer, reason: FR_BUSY}
"""


def test_chunks_see_the_whole_files_history(tmp_path: Path) -> None:
    apps = simulate(SimulationConfig(n_applications=3_000, seed=8)).applications
    # shuffled: chunk order is not time order, and the history still is
    apps = apps.sample(frac=1.0, random_state=1).reset_index(drop=True)
    src = tmp_path / "apps.parquet"
    pl.from_pandas(apps).write_parquet(src)
    strategy = Strategy.from_yaml(STRATEGY)
    whole = strategy.decide_batch(pl.from_pandas(apps))
    out = tmp_path / "out.parquet"
    decide_file(strategy, src, out, chunk_size=400)
    chunked = pl.read_parquet(out).sort("row")
    assert chunked["decision"].to_list() == whole["decision"].to_list()
    assert chunked["reasons"].to_list() == whole["reasons"].to_list()
    # the features matter here: the later members of the book's groups are caught
    assert whole["reasons"].list.contains("FR_LINKED").sum() > 20
    # each chunk alone would see much less history
    alone = pl.concat(
        [strategy.decide_batch(pl.from_pandas(apps.iloc[i : i + 400])) for i in range(0, 3000, 400)]
    )
    assert alone["decision"].to_list() != whole["decision"].to_list()
