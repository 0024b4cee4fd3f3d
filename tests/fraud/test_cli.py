"""``creditfactory fraud scan`` from the command line."""

from __future__ import annotations

import pandas as pd
from typer.testing import CliRunner

from creditfactory.cli import app

runner = CliRunner()


def test_scan_writes_features_and_measures_against_the_truth(book, tmp_path) -> None:
    book.write(tmp_path / "book")
    out = tmp_path / "fraud.parquet"
    result = runner.invoke(
        app, ["fraud", "scan", "--book", str(tmp_path / "book"), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "point in time" in result.output
    assert "ring members flagged" in result.output
    assert "forged IDs caught" in result.output
    got = pd.read_parquet(out)
    assert len(got) == len(book.applications)
    assert got.columns[0] == "application_id"
    retro = tmp_path / "retro.parquet"
    result = runner.invoke(
        app,
        [
            "fraud",
            "scan",
            "--book",
            str(tmp_path / "book"),
            "--out",
            str(retro),
            "--no-point-in-time",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "retro" in result.output
    assert (pd.read_parquet(retro)["ring_size"] >= got["ring_size"]).all()


def test_scan_without_truth_and_bad_arguments(book, tmp_path) -> None:
    book.applications.iloc[:500].to_parquet(tmp_path / "applications.parquet")
    result = runner.invoke(
        app, ["fraud", "scan", "--book", str(tmp_path), "--out", str(tmp_path / "f.parquet")]
    )
    assert result.exit_code == 0, result.output
    assert "Against the truth" not in result.output
    result = runner.invoke(
        app, ["fraud", "scan", "--book", str(tmp_path / "nope"), "--out", str(tmp_path / "f")]
    )
    assert result.exit_code == 2
    assert "applications.parquet" in result.output
    assert "Traceback" not in result.output
    book.applications.iloc[:50].drop(columns="id_number").to_parquet(
        tmp_path / "applications.parquet"
    )
    result = runner.invoke(
        app, ["fraud", "scan", "--book", str(tmp_path), "--out", str(tmp_path / "f.parquet")]
    )
    assert result.exit_code == 2
    assert "id_number" in result.output
