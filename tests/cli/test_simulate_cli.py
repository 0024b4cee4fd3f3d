"""``creditfactory simulate`` and ``creditfactory demo`` from the command line."""

from __future__ import annotations

from typer.testing import CliRunner

from creditfactory.cli import app
from creditfactory.data import Portfolio

runner = CliRunner()


def test_simulate_writes_a_book_and_prints_a_summary(tmp_path) -> None:
    result = runner.invoke(app, ["simulate", "-n", "3000", "--seed", "7", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "approval rate" in result.output
    assert "Bad rate by cohort" in result.output
    assert "Bad rate by channel" in result.output
    assert "Delinquency by month on book" in result.output
    book = Portfolio.read(tmp_path)
    assert len(book.applications) == 3000


def test_bad_arguments_get_a_clear_message_and_non_zero_exit(tmp_path) -> None:
    result = runner.invoke(app, ["simulate", "-n", "0"])
    assert result.exit_code == 2
    assert "n_applications" in result.output
    assert "Traceback" not in result.output
    result = runner.invoke(app, ["simulate", "-n", "100", "--bad-rate", "2"])
    assert result.exit_code == 2
    assert "target_bad_rate" in result.output
    result = runner.invoke(app, ["simulate", "-n", "100", "--start-month", "January"])
    assert result.exit_code == 2
    assert "--start-month" in result.output
    afile = tmp_path / "file.txt"
    afile.write_text("x")
    result = runner.invoke(app, ["simulate", "-n", "100", "--out", str(afile)])
    assert result.exit_code == 2
    assert "not a directory" in result.output
    result = runner.invoke(app, ["simulate", "-n", "many"])
    assert result.exit_code == 2
    assert "Invalid value" in result.output


def test_unreachable_bad_rate_is_a_clear_error() -> None:
    result = runner.invoke(app, ["simulate", "-n", "2000", "--fraud-rate", "0.4"])
    assert result.exit_code == 2
    assert "target_bad_rate" in result.output
    assert "fraud alone" in result.output
    assert "Traceback" not in result.output
