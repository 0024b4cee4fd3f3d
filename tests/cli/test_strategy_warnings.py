"""``strategy check`` warns of numeric inputs without bounds (valid, but absurd numbers would
reach the formulas) and stays quiet for the reference strategy, whose inputs all have them."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from creditfactory.cli import app

REFERENCE = Path(__file__).resolve().parents[2] / "examples" / "strategies" / "reference.yaml"


def test_check_warns_of_numeric_inputs_without_a_max(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "strategy: s\nversion: '1'\ninputs:\n  income: {type: float, min: 0}\n"
        "  age: {type: int, min: 18, max: 100}\n  score: float\n"
        "flow:\n  - assign: {set: {limit: 'income * 3'}}\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["strategy", "check", str(path)])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "input 'income' has no max: declare a realistic one" in text
    assert "input 'score' has no min or max" in text
    assert "'age'" not in text.split("warning")[-1]


def test_the_reference_strategy_bounds_every_numeric_input() -> None:
    result = CliRunner().invoke(app, ["strategy", "check", str(REFERENCE)])
    assert result.exit_code == 0, result.output
    assert "warning" not in result.output
