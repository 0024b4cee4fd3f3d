"""Bad rows and damaged files in the batch factory: a row the API would refuse is a referred row
with the same error text; a file damaged mid-way is a clean error naming it and the rows."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from creditfactory.batch import decide_file
from creditfactory.decision import InputError, Strategy
from creditfactory.exceptions import DataError

STRATEGY = """
strategy: edges
version: "1"
key: application_id
inputs:
  application_id: str
  income: {type: float, min: 0, max: 10000000}
  score: {type: float, nullable: true}
  count: {type: int, min: 0}
  debt: {type: int, nullable: true}
flow:
  - assign: {set: {limit: "min(income * 3, 50000)", apr: "0.15", term: "12"}}
"""
BASE = {"application_id": "x", "income": 8000.0, "score": 1.0, "count": 1, "debt": 5}
# (field, value): values the API refuses (non-finite, beyond the declared maximum, beyond Int64),
# each with the same frame dtype as its column's other rows
CASES: list[tuple[str, Any]] = [
    ("income", float("inf")),
    ("income", float("-inf")),
    ("income", 1e308),
    ("score", float("inf")),
    ("score", -1e308),  # finite and without bounds: accepted by both
    ("count", 1e30),  # in a float column: integral, beyond Int64
    ("count", float("inf")),
    ("count", 2.5),
    ("debt", float("nan")),  # NaN is null, as pandas means it: fine where nullable
    ("income", float("nan")),  # ... and "null" where not
]


def _online(strategy: Strategy, row: dict[str, Any]) -> str | None:
    try:
        strategy.decide(row)
    except InputError as exc:
        return str(exc).removeprefix("invalid application: ")
    return None


def test_online_and_batch_agree_on_non_finite_and_huge_values(tmp_path: Path) -> None:
    strategy = Strategy.from_yaml(STRATEGY)
    rows = [{**BASE, "application_id": f"r{i}", f: v} for i, (f, v) in enumerate(CASES)]
    online = [_online(strategy, r) for r in rows]
    assert online[0] == "income: not a finite number"
    assert online[2] == "income: above maximum 1e+07"
    assert online[4] is None
    assert online[8] is None
    assert online[5] == "count: outside the 64-bit integer range"
    schema = {"application_id": pl.String, "income": pl.Float64, "score": pl.Float64,
              "count": pl.Float64, "debt": pl.Float64}  # fmt: skip
    src = tmp_path / "apps.parquet"
    pl.DataFrame(rows, schema=schema).write_parquet(src)
    decide_file(strategy, src, tmp_path / "out.parquet", chunk_size=4)
    out = pl.read_parquet(tmp_path / "out.parquet").sort("row")
    assert out["error"].to_list() == online
    for error, decision, reasons in zip(out["error"], out["decision"], out["reasons"], strict=True):
        if error is not None:  # referred, as every bad row is
            assert (decision, reasons.to_list()) == ("refer", ["INVALID_INPUT"])


def test_int64_extremes_agree_in_an_integer_column() -> None:
    strategy = Strategy.from_yaml(STRATEGY)
    values = [0, 2**63 - 1, -(2**63)]
    rows = [{**BASE, "debt": v} for v in values] + [{**BASE, "debt": 2**63}]
    batch = strategy.decide_batch(pl.DataFrame(rows))  # an Int128 column
    assert batch["error"].to_list() == [_online(strategy, r) for r in rows]
    assert batch["error"].to_list()[-1] == "debt: outside the 64-bit integer range"


@pytest.fixture
def damaged(tmp_path: Path) -> Path:
    rows = [{**BASE, "application_id": f"a{i}", "count": i} for i in range(3000)]
    good = tmp_path / "apps.parquet"
    pl.DataFrame(rows).write_parquet(good, row_group_size=500)
    data = bytearray(good.read_bytes())
    mid = len(data) // 2
    data[mid : mid + 64] = os.urandom(64)  # overwritten in the middle; the footer is intact
    bad = tmp_path / "damaged.parquet"
    bad.write_bytes(bytes(data))
    return bad


def test_a_file_damaged_mid_way_is_a_clean_error_naming_it_and_the_rows(
    damaged: Path, tmp_path: Path
) -> None:
    with pytest.raises(DataError, match=r"damaged\.parquet: chunk \d+ \(rows [\d,]+ to [\d,]+\)"):
        decide_file(Strategy.from_yaml(STRATEGY), damaged, tmp_path / "out.parquet", chunk_size=500)


def test_the_cli_says_so_on_stderr_and_exits_non_zero(damaged: Path, tmp_path: Path) -> None:
    strategy = tmp_path / "strategy.yaml"
    strategy.write_text(STRATEGY, encoding="utf-8")
    truncated = tmp_path / "truncated.parquet"
    truncated.write_bytes(damaged.read_bytes()[: damaged.stat().st_size // 2])
    code = "import sys; from creditfactory.cli import main; sys.argv[0] = 'creditfactory'; main()"
    for src, words in ((damaged, "cannot be read"), (truncated, "not a readable Parquet file")):
        cmd = [sys.executable, "-c", code, "batch", "decide", "--strategy", str(strategy),
               "--input", str(src), "--out", str(tmp_path / "out.parquet"),
               "--chunk-size", "500", "--restart"]  # fmt: skip
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        assert result.returncode != 0
        err = " ".join(result.stderr.split())
        assert src.name in err, result.stderr
        assert words in err, result.stderr
        assert "Traceback" not in result.stderr + result.stdout
