"""``creditfactory demo`` runs the main job end to end (small sizes here; ``make demo`` runs the
defaults)."""

from __future__ import annotations

from typer.testing import CliRunner

from creditfactory.cli import app
from creditfactory.data import Portfolio

runner = CliRunner()


def test_demo_end_to_end(tmp_path) -> None:
    result = runner.invoke(app, ["demo", "--applications", "8000", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Application scorecard" in out
    assert "AUC, through the door" in out
    assert "swap sets: reference vs incumbent" in out
    assert "reference approves" in out
    assert "profit" in out
    assert "Selection and pricing" in out  # both approvals at both prices
    assert "selection effect (both at the incumbent's prices)" in out
    assert "pricing effect" in out
    assert "Profit is the lifetime cash flow" in out  # what the figure includes
    assert "A fraud ring caught" in out  # the anti-fraud step, against the twin's truth
    assert "FR_RING" in out
    assert "of the twin's" in out
    assert "path" in out
    assert "blacklist" in out
    assert "the stored decision answered again" in out
    assert "the chain is intact" in out
    assert "service stopped cleanly" in out
    # what a user reads: no raw Python values, no nan%, every column explained
    assert "{'" not in out
    assert "nan" not in out.replace("nance", "")
    assert "…" not in out  # nothing cut off
    assert "declined because" in out
    assert "approval rate: of all applications" in out  # the simulation legend
    assert "MOB: months on book" in out
    assert len(Portfolio.read(tmp_path / "book").applications) == 8000
    assert (tmp_path / "scorecard").is_dir()


def test_demo_refuses_a_missing_strategy(tmp_path) -> None:
    result = runner.invoke(app, ["demo", "--strategy", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    assert "does not exist" in result.output
