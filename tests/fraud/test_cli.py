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


def test_read_id_prints_the_fields_and_the_cross_check(tmp_path) -> None:
    import importlib.util
    from pathlib import Path

    import pytest

    font = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
    if importlib.util.find_spec("rapidocr_onnxruntime") is None or not font.is_file():
        pytest.skip("needs the 'ocr' extra and Debian's fonts-wqy-zenhei")
    from tests.fraud.test_ocr import CARD_ID, _card

    card = _card(tmp_path / "card.png")
    result = runner.invoke(
        app, ["fraud", "read-id", "--image", str(card), "--application",
              f'{{"id_number": "{CARD_ID}", "name": "李雷"}}'],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert CARD_ID in result.output
    assert "张伟明" in result.output
    assert "OCR_NAME_MISMATCH" in result.output
    assert "mismatched" in result.output


def test_read_id_bad_arguments(tmp_path) -> None:
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not an image")
    for args, said in (
        (["--image", str(tmp_path / "nope.png")], "--image: no file"),
        (["--image", str(junk)], "--image: not a PNG or JPEG image"),
        (["--image", str(junk), "--application", "{bad"], "--application: not JSON"),
        (["--image", str(junk), "--application", "[1]"], "--application: must be a JSON object"),
        (["--image", str(junk), "--application", "x.json"], "--application: no file"),
    ):
        result = runner.invoke(app, ["fraud", "read-id", *args])
        assert result.exit_code == 2, result.output
        assert said in " ".join(result.output.split()), result.output
        assert "Traceback" not in result.output
