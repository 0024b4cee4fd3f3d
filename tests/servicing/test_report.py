"""The portfolio report and its command, for a simulated book and for real tables."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from tests.test_html import check_pages
from typer.testing import CliRunner

from creditfactory.cli._app import app
from creditfactory.data import Portfolio, SimulationConfig, simulate
from creditfactory.exceptions import DataError, SchemaError
from creditfactory.servicing import (
    LOANS_SCHEMA,
    PERFORMANCE_SCHEMA,
    analyse_portfolio,
    book_from_portfolio,
    portfolio_report,
    read_book,
)


@pytest.fixture(scope="module")
def book_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("book")
    simulate(SimulationConfig(n_applications=4_000, seed=5)).write(out)
    return out


def _real_tables(book_dir: Path, dest: Path) -> None:
    """What a lender exports: the declared columns only, as CSV."""
    book = Portfolio.read(book_dir)
    serv = book_from_portfolio(book)
    loans = serv.loans[[c.name for c in LOANS_SCHEMA.columns if c.name in serv.loans]]
    perf = book.performance[[c.name for c in PERFORMANCE_SCHEMA.columns]]
    dest.mkdir(exist_ok=True)
    loans.to_csv(dest / "loans.csv", index=False)
    perf.to_csv(dest / "performance.csv", index=False)


def test_real_tables_give_the_same_analysis_as_the_simulated_book(
    book_dir: Path, tmp_path: Path
) -> None:
    _real_tables(book_dir, tmp_path / "real")
    real = read_book(tmp_path / "real")
    sim = read_book(book_dir)
    assert real.source.endswith("real")
    assert sim.source == "simulated"
    a, b = analyse_portfolio(real), analyse_portfolio(sim)
    pd.testing.assert_frame_equal(a.roll_rates, b.roll_rates)
    pd.testing.assert_frame_equal(a.expected_loss, b.expected_loss)
    pd.testing.assert_frame_equal(a.segments["channel"], b.segments["channel"])
    pd.testing.assert_frame_equal(a.vintage90, b.vintage90)


def test_real_tables_without_months_observed_derive_it(book_dir: Path, tmp_path: Path) -> None:
    _real_tables(book_dir, tmp_path / "real")
    loans = pd.read_csv(tmp_path / "real" / "loans.csv").drop(columns="months_observed")
    loans.to_csv(tmp_path / "real" / "loans.csv", index=False)
    derived = read_book(tmp_path / "real").loans.set_index("loan_id")["months_observed"]
    truth = Portfolio.read(book_dir).loans.set_index("loan_id")["months_observed"]
    # the simulator counts due dates before the observation date: the same except where a
    # loan disbursed at the end of a month has its first due date two calendar months later
    assert (derived.reindex(truth.index) - truth).abs().le(1).all()
    assert (derived.reindex(truth.index) == truth).mean() > 0.9


def test_a_missing_column_is_named(book_dir: Path, tmp_path: Path) -> None:
    _real_tables(book_dir, tmp_path / "real")
    perf = pd.read_csv(tmp_path / "real" / "performance.csv").drop(columns="dpd")
    perf.to_csv(tmp_path / "real" / "performance.csv", index=False)
    with pytest.raises(SchemaError, match="dpd"):
        read_book(tmp_path / "real")
    (tmp_path / "real" / "loans.csv").unlink()
    with pytest.raises(DataError, match=r"no loans.parquet or loans.csv"):
        read_book(tmp_path / "real")


def test_the_report_is_offline_and_in_the_language_asked(book_dir: Path) -> None:
    analysis = analyse_portfolio(read_book(book_dir))
    en = portfolio_report(analysis)
    zh = portfolio_report(analysis, lang="zh-CN")
    assert en.count("Plotly.newPlot") >= 10
    check_pages(
        en,
        zh,
        chinese=("账龄分析", "滚动率", "预期损失", "按渠道", "<th>逾期阶段</th>", "累计坏账率"),
        english=("Vintage curves", "Roll rates", "By channel", "<th>bucket</th>",
                 "cumulative bad share"),
    )  # fmt: skip
    with pytest.raises(DataError, match="lang: 'fr' is not supported"):
        portfolio_report(analysis, lang="fr")


def test_the_command_writes_the_report_and_prints_tables(book_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = CliRunner().invoke(
        app, ["report", "portfolio", "--book", str(book_dir), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "Roll rates" in result.output
    assert "Expected loss" in result.output
    assert out.stat().st_size > 1_000_000  # plotly.js is in it
    as_of = CliRunner().invoke(
        app, ["report", "portfolio", "--book", str(book_dir), "--as-of", "2025-03"]
    )
    assert as_of.exit_code == 0, as_of.output
    assert "Portfolio as of 2025-03" in as_of.output
    zh = tmp_path / "report_zh.html"
    result = CliRunner().invoke(
        app,
        ["report", "portfolio", "--book", str(book_dir), "--out", str(zh), "--lang", "zh-CN"],
    )
    assert result.exit_code == 0, result.output
    page = zh.read_text(encoding="utf-8")
    assert "<title>资产组合报告</title>" in page
    assert "<h2>滚动率</h2>" in page
    assert "Roll rates" not in page


def test_the_command_names_a_bad_book(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(app, ["report", "portfolio", "--book", str(tmp_path / "empty")])
    assert result.exit_code == 2
    assert "no loans.parquet or loans.csv" in result.output
    bad = CliRunner().invoke(
        app, ["report", "portfolio", "--book", str(tmp_path), "--out", str(tmp_path / "r.pdf")]
    )
    assert bad.exit_code == 2
    assert "must end in .html" in bad.output


def test_the_analysis_as_of_a_date_is_the_analysis_of_the_book_cut_there(book_dir: Path) -> None:
    from creditfactory.servicing import book_from_tables

    book = read_book(book_dir)
    cut = pd.Timestamp("2025-03-31")
    loans = book.loans[book.loans["disbursed_at"] <= cut]
    loans = loans[[c.name for c in LOANS_SCHEMA.columns if c.name != "months_observed"]]
    perf = book.performance[book.performance["month"] <= cut]
    cut_book = book_from_tables(loans, perf[[c.name for c in PERFORMANCE_SCHEMA.columns]])
    a, b = analyse_portfolio(book, as_of="2025-03"), analyse_portfolio(cut_book)
    assert a.as_of == b.as_of
    pd.testing.assert_frame_equal(a.overview, b.overview)
    pd.testing.assert_frame_equal(a.roll_rates, b.roll_rates)
    pd.testing.assert_frame_equal(a.expected_loss, b.expected_loss)
    pd.testing.assert_frame_equal(a.segments["product"], b.segments["product"])
    pd.testing.assert_frame_equal(a.vintage30, b.vintage30)
