"""``creditfactory demo``: the main job end to end on the embedded defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from creditfactory.cli._common import console
from creditfactory.cli._simulate import print_summary, simulate_with_progress
from creditfactory.data import SimulationConfig


def demo(
    applications: Annotated[int, typer.Option(help="Applications to simulate.")] = 50_000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
    out: Annotated[Path, typer.Option(help="Where the demo writes its files.")] = Path("data/demo"),
) -> None:
    """Simulate a portfolio, store it as Parquet and print its summary."""
    console.rule("[bold]creditfactory demo[/]")
    console.print("1. Simulating a lending book with known ground truth ...")
    portfolio = simulate_with_progress(SimulationConfig(n_applications=applications, seed=seed))
    book = portfolio.write(out / "book")
    print_summary(portfolio)
    console.print(f"[green]Book written to[/] {book}/")
