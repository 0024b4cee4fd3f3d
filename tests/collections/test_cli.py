"""``creditfactory collections queues`` and ``league``, and their refusals."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from creditfactory.cli import app

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "strategies" / "collections.yaml"
runner = CliRunner()


@pytest.fixture(scope="module")
def folder(book_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the session's book (``book``, a link to the one written once) and a plan."""
    root = tmp_path_factory.mktemp("cli")
    (root / "book").symlink_to(book_dir, target_is_directory=True)
    out = runner.invoke(
        app,
        ["collections", "plan", "--book", str(root / "book"), "--strategy", str(EXAMPLE),
         "--as-of", "2025-10", "--out", str(root / "plan.parquet")],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    return root


def test_plan_as_of_a_month(folder: Path) -> None:
    plan = pd.read_parquet(folder / "plan.parquet")
    assert (plan["month"] == pd.Timestamp("2025-10-01")).all()


def test_queues(folder: Path) -> None:
    out = runner.invoke(
        app,
        ["collections", "queues", "--plan", str(folder / "plan.parquet"),
         "--team", "calls:agent_call:25", "--team", "field:field_visit:2",
         "--out", str(folder / "q.parquet")],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    assert "催收队列" in out.output
    q = pd.read_parquet(folder / "q.parquet")
    assert (q["team"] == "calls").sum() == min(25, int((q["action"] == "agent_call").sum()))
    bad = runner.invoke(
        app,
        ["collections", "queues", "--plan", str(folder / "plan.parquet"),
         "--team", "calls:agent_call", "--out", str(folder / "q.parquet")],
    )  # fmt: skip
    assert bad.exit_code == 2
    assert "is not NAME:ACTION[+ACTION]:CAPACITY" in bad.output


def test_league(folder: Path) -> None:
    out = runner.invoke(
        app,
        ["collections", "league", "--book", str(folder / "book"), "--before", "2025-10",
         "--out", str(folder / "league.csv")],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    table = pd.read_csv(folder / "league.csv")
    assert set(table["pool"]) == {"agent_call", "field_visit"}
    assert table.groupby("pool")["rank"].min().eq(1).all()


def test_refusals(folder: Path) -> None:
    out = runner.invoke(
        app,
        ["collections", "plan", "--book", str(folder / "book"), "--strategy", str(EXAMPLE),
         "--as-of", "someday", "--out", str(folder / "p.parquet")],
    )  # fmt: skip
    assert out.exit_code == 2
    assert "as_of: 'someday' is not a month" in out.output
    out = runner.invoke(
        app,
        ["collections", "evaluate", "--book", str(folder / "nothing"),
         "--plan", str(folder / "plan.parquet")],
    )  # fmt: skip
    assert out.exit_code == 2
    assert "is not a directory" in out.output
