"""A batch run counts the values its models never saw, per model step and input."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from creditfactory.batch import decide_file
from creditfactory.cli import app
from creditfactory.decision import Strategy

SPEC = {
    "format": "creditfactory.scoring_spec",
    "format_version": 1,
    "scaling": {"factor": 28.853900817779268, "offset": 330.0},
    "characteristics": [
        {"name": "housing", "kind": "categorical", "code": "R003", "missing_points": 70.0,
         "special": [], "groups": [["own"], ["mortgage", "family"], ["rent"]],
         "points": [110.0, 95.0, 75.0],
         "input": {"type": "str", "kind": "categorical", "nullable": True, "special": [],
                   "categories": ["family", "mortgage", "own", "rent"]}},
        {"name": "night", "kind": "categorical", "code": "R004", "missing_points": 0.0,
         "special": [], "groups": [["False"], ["True"]], "points": [200.0, 150.0],
         "input": {"type": "bool", "kind": "categorical", "nullable": False, "special": [],
                   "categories": ["False", "True"]}},
    ],
}  # fmt: skip

STRATEGY = """
strategy: unseen
version: "1"
unseen: {policy}
inputs: {{housing: {{type: str, nullable: true}}, night: bool}}
models:
  m: {{name: m, version: "1", path: model.json}}
flow:
  - model: {{name: score, model: m, bind: {{score: s}}, reasons: 0}}
outputs: [s]
"""


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "model.json").write_text(json.dumps(SPEC), encoding="utf-8")
    housing = ["own", "深圳", None, "rent", "cave", "深圳", "family"] * 30
    night = [True, False, True, False, False, True, False] * 30
    pl.DataFrame({"housing": housing, "night": night}).write_parquet(tmp_path / "apps.parquet")
    return tmp_path


@pytest.mark.parametrize("policy", ["missing", "refer", "reject"])
def test_the_report_counts_unseen_values(files: Path, policy: str) -> None:
    path = files / f"{policy}.yaml"
    path.write_text(STRATEGY.format(policy=policy), encoding="utf-8")
    s = Strategy.load(path)
    report = decide_file(s, files / "apps.parquet", files / "out.parquet", chunk_size=50)
    assert report.unseen == {"score: unseen housing": 90}  # 深圳 twice and cave once in 7
    out = pl.read_parquet(files / "out.parquet")
    if policy == "missing":
        # scored as missing (70) plus the bool flag (True 150, False 200), as online
        assert out["s"].to_list()[:7] == [260.0, 270.0, 220.0, 275.0, 270.0, 220.0, 295.0]
    expected = {"missing": "approve", "refer": "refer", "reject": "refer"}[policy]
    assert out["decision"][1] == expected
    assert out["decision"][0] == "approve"


def test_the_cli_shows_the_counts(files: Path) -> None:
    path = files / "refer.yaml"
    path.write_text(STRATEGY.format(policy="refer"), encoding="utf-8")
    res = CliRunner().invoke(
        app,
        ["batch", "decide", "--strategy", str(path), "--input", str(files / "apps.parquet"),
         "--out", str(files / "out.parquet")],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "values a model never saw (policy: refer)" in text
    assert "score: housing" in text
    assert "90" in text
