"""Outputs risk teams open in Excel: ``--out x.xlsx`` / ``.csv`` of simulate, scorecard score,
scorecard fit's binning tables and strategy simulate; text targets and GBK files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from creditfactory._html import column_label
from creditfactory.cli import app
from creditfactory.data import TABLES, Portfolio
from creditfactory.scorecard import load

ROOT = Path(__file__).resolve().parents[2]
LOANS = ROOT / "examples" / "loans.csv.gz"
REFERENCE = ROOT / "examples" / "strategies" / "reference.yaml"
runner = CliRunner()


def _ok(args: list[str]) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return result.output


def _fails(args: list[str], *messages: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    for message in messages:
        assert message in text
    assert "Traceback" not in result.output


@pytest.fixture(scope="module")
def book_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("book")
    _ok(["simulate", "-n", "1500", "--seed", "3", "--out", str(out)])
    return out


@pytest.fixture(scope="module")
def training(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """4,000 rows of the shipped training table, with a Chinese text target beside ``bad``."""
    frame = pd.read_csv(LOANS).head(4_000)
    path = tmp_path_factory.mktemp("train") / "loans.csv"
    frame.assign(表现=np.where(frame["bad"] == 1, "坏", "好")).to_csv(path, index=False)
    return path


def test_simulate_writes_one_sheet_a_table(tmp_path: Path) -> None:
    # 400 applications: every table has rows (Excel is slow to write and read; 1,500 cost 5 s)
    out, book = tmp_path / "book.xlsx", tmp_path / "book"
    _ok(["simulate", "-n", "400", "--seed", "3", "--out", str(out)])
    assert openpyxl.load_workbook(out, read_only=True).sheetnames == list(TABLES)
    sheets = pd.read_excel(out, sheet_name=None)
    _ok(["simulate", "-n", "400", "--seed", "3", "--out", str(book)])
    parquet = Portfolio.read(book)  # the same seed written as Parquet
    assert all(len(table) for table in parquet.tables().values())
    for name in ("applications", "loans", "performance"):
        expected = parquet.tables()[name]
        assert sheets[name].shape == expected.shape, name
    apps = sheets["applications"]
    pd.testing.assert_series_equal(
        apps["amount_requested"], parquet.applications["amount_requested"], check_dtype=False
    )
    assert list(apps["application_id"]) == list(parquet.applications["application_id"])


def test_scores_are_the_same_in_parquet_csv_and_excel(
    tmp_path: Path, training: Path, book_dir: Path
) -> None:
    model = tmp_path / "model"
    _ok(["scorecard", "fit", "--data", str(training), "--target", "bad", "--out", str(model),
         "--exclude", "表现", "--test-size", "0"])  # fmt: skip
    outs = {}
    for suffix in ("parquet", "csv", "xlsx"):
        path = tmp_path / f"scores.{suffix}"
        _ok(["scorecard", "score", "--model", str(model), "--data",
             str(book_dir / "applications.parquet"), "--id-column", "application_id",
             "--reasons", "2", "--out", str(path)])  # fmt: skip
        outs[suffix] = path
    parquet = pd.read_parquet(outs["parquet"])
    assert outs["csv"].read_bytes().startswith(b"\xef\xbb\xbf")  # a BOM: Excel reads UTF-8
    for other in (pd.read_csv(outs["csv"]), pd.read_excel(outs["xlsx"])):
        assert list(other.columns) == list(parquet.columns)
        np.testing.assert_allclose(other["score"], parquet["score"], rtol=1e-12)
        assert list(other["reason_1"].fillna("")) == list(parquet["reason_1"].fillna(""))


def test_a_text_target_gives_the_scorecard_of_its_0_1_twin(tmp_path: Path, training: Path) -> None:
    numeric, text = tmp_path / "numeric", tmp_path / "text"
    _ok(["scorecard", "fit", "--data", str(training), "--target", "bad", "--out", str(numeric),
         "--exclude", "表现", "--test-size", "0"])  # fmt: skip
    _ok(["scorecard", "fit", "--data", str(training), "--target", "表现", "--bad-value", "坏",
         "--out", str(text), "--exclude", "bad", "--test-size", "0"])  # fmt: skip
    X = pd.read_csv(training)
    a, b = load(numeric), load(text)
    assert a.selected_features_ == b.selected_features_
    np.testing.assert_array_equal(a.predict_points(X), b.predict_points(X))
    # the binning tables beside the artefact: a summary sheet, then one per characteristic
    book = pd.read_excel(text / "binning.xlsx", sheet_name=None)
    assert next(iter(book)) == "summary"
    summary = book["summary"].set_index("characteristic")
    assert set(summary.index) == set(b.binning_tables_)
    for name, table in b.binning_tables_.items():
        assert summary.loc[name, "iv"] == pytest.approx(table.iv, rel=1e-12)
        assert book[name[:31]]["count"].iloc[:-1].sum() == len(X)  # the bins, then Totals
    long = pd.read_csv(text / "binning.csv")
    assert set(long["characteristic"]) == set(b.binning_tables_)


def test_text_target_errors_name_the_column_and_the_values(tmp_path: Path, training: Path) -> None:
    base = ["scorecard", "fit", "--data", str(training), "--out", str(tmp_path / "o")]
    _fails([*base, "--target", "表现", "--bad-value", "bad"], "'bad' is not a value", "表现")
    _fails([*base, "--target", "表现"], "column '表现' holds text (坏, 好 ...)", "--bad-value")
    _fails(
        [*base, "--target", "channel", "--bad-value", "app"], "column 'channel' has", "exactly two"
    )
    frame = pd.read_csv(training)
    frame.loc[7, "表现"] = None
    holes = tmp_path / "holes.csv"
    frame.to_csv(holes, index=False)
    _fails(["scorecard", "fit", "--data", str(holes), "--out", str(tmp_path / "o"),
            "--target", "表现", "--bad-value", "坏"], "empty on 1 rows", "data row 8")  # fmt: skip


def test_a_gbk_file_is_named_with_a_hint_and_read_with_encoding(
    tmp_path: Path, training: Path
) -> None:
    gbk = tmp_path / "loans_gbk.csv"
    pd.read_csv(training).to_csv(gbk, index=False, encoding="gbk")
    args = ["scorecard", "fit", "--data", str(gbk), "--target", "表现", "--bad-value", "坏",
            "--exclude", "bad", "--test-size", "0", "--out", str(tmp_path / "m")]  # fmt: skip
    _fails(args, "is not utf-8 text", "--encoding gbk")
    _ok([*args, "--encoding", "gbk"])
    _fails([*args, "--encoding", "klingon"], "unknown encoding 'klingon'")


def test_strategy_simulation_report_in_excel_and_csv(tmp_path: Path, book_dir: Path) -> None:
    xlsx, csv = tmp_path / "sim.xlsx", tmp_path / "sim.csv"
    printed = _ok(
        ["strategy", "simulate", str(REFERENCE), "--book", str(book_dir), "--out", str(xlsx)]
    )
    _ok(["strategy", "simulate", str(REFERENCE), "--book", str(book_dir), "--out", str(csv)])
    sheets = pd.read_excel(xlsx, sheet_name=None)
    assert list(sheets) == ["summary", "swap"]
    summary = sheets["summary"]
    pd.testing.assert_frame_equal(pd.read_csv(csv), summary, check_dtype=False)
    total = summary[summary["segment"] == "total"].iloc[0]
    assert f"{total['approved']:,}" in printed  # the file holds what the terminal showed
    assert sheets["swap"]["applications"].sum() == len(Portfolio.read(book_dir).applications)
    _fails(["strategy", "simulate", str(REFERENCE), "--book", str(book_dir), "--out",
            str(tmp_path / "sim.parquet")], "--out", ".csv or .xlsx")  # fmt: skip


def test_a_workbook_refuses_what_excel_cannot_hold(tmp_path: Path, monkeypatch) -> None:
    import creditfactory.cli._common as common

    monkeypatch.setattr(common, "EXCEL_MAX_ROWS", 10)
    frame = pd.DataFrame({"x": range(20)})
    result = runner.invoke(
        typer_app(lambda: common.write_tables({"big": frame}, tmp_path / "x.xlsx"))
    )
    assert result.exit_code == 2
    assert "table 'big' has 20 rows, more than an Excel sheet holds (9)" in result.output
    assert not (tmp_path / "x.xlsx").exists()


def typer_app(body):  # one command running ``body``, to see what the user sees
    import typer

    one = typer.Typer()
    one.command()(body)
    return one


# ------------------------------------------------------------------ --lang zh-CN
def _chinese(header: object) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in str(header))


def test_simulate_in_chinese_labels_every_column(tmp_path: Path, book_dir: Path) -> None:
    out = tmp_path / "book_zh.xlsx"
    _ok(["simulate", "-n", "1500", "--seed", "3", "--out", str(out), "--lang", "zh-CN"])
    sheets = pd.read_excel(out, sheet_name=None)
    parquet = Portfolio.read(book_dir)
    assert list(sheets) == list(TABLES)  # sheet names stay: they name the book's tables
    for name, expected in parquet.tables().items():
        got = sheets[name]
        assert list(got.columns) == [column_label(c, "zh-CN") for c in expected.columns], name
        assert all(_chinese(c) for c in got.columns), [c for c in got.columns if not _chinese(c)]
    pd.testing.assert_series_equal(
        sheets["applications"]["申请金额"],
        parquet.applications["amount_requested"],
        check_dtype=False,
        check_names=False,
    )
    # the Parquet book keeps its column names, whatever the language
    again = tmp_path / "book_zh"
    _ok(["simulate", "-n", "300", "--seed", "3", "--out", str(again), "--lang", "zh-CN"])
    assert "amount_requested" in Portfolio.read(again).applications.columns


def test_strategy_simulation_in_chinese(tmp_path: Path, book_dir: Path) -> None:
    base = ["strategy", "simulate", str(REFERENCE), "--book", str(book_dir)]
    en, zh, zh_csv = tmp_path / "en.xlsx", tmp_path / "zh.xlsx", tmp_path / "zh.csv"
    _ok([*base, "--out", str(en)])
    _ok([*base, "--out", str(zh), "--lang", "zh-CN"])
    result = runner.invoke(app, [*base, "--out", str(zh_csv)], env={"CREDITFACTORY_LANG": "zh"})
    assert result.exit_code == 0, result.output
    english, chinese = pd.read_excel(en, sheet_name=None), pd.read_excel(zh, sheet_name=None)
    for name in ("summary", "swap"):
        assert all(_chinese(c) for c in chinese[name].columns)
        renamed = english[name].rename(columns=lambda c: column_label(c, "zh-CN"))
        pd.testing.assert_frame_equal(chinese[name], renamed)
    assert "坏账率(真实)" in chinese["summary"].columns
    from_csv = pd.read_csv(zh_csv, encoding="utf-8-sig")
    pd.testing.assert_frame_equal(from_csv, chinese["summary"], check_dtype=False)


@pytest.mark.parametrize(
    "args",
    [
        ["simulate", "-n", "100", "--lang", "fr"],
        ["strategy", "simulate", str(REFERENCE), "--book", "b", "--lang", "fr"],
        ["report", "portfolio", "--book", "b", "--lang", "fr"],
        ["monitor", "--book", "b", "--model", "m", "--lang", "fr"],
        ["scorecard", "score", "--model", "m", "--data", "d.csv", "--out", "x.csv", "--lang", "fr"],
    ],
)
def test_lang_fr_is_an_error_naming_the_option_and_the_languages(args: list[str]) -> None:
    _fails(args, "--lang", "'fr' is not supported; use one of en, zh-CN")
