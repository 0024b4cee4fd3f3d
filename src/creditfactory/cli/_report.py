"""``creditfactory report portfolio``: portfolio analytics as terminal tables and one offline
HTML page."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from creditfactory.cli._common import LangOption, cli_lang, console, fail
from creditfactory.exceptions import CreditFactoryError
from creditfactory.servicing import (
    PortfolioAnalysis,
    analyse_portfolio,
    portfolio_report,
    read_book,
)

app = typer.Typer(
    help="Reports on a book: portfolio analytics (vintages, roll and flow rates, loss).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _frame_table(frame: pd.DataFrame, title: str, index: bool = False) -> Table:
    table = Table(title=title)
    shown = frame.reset_index() if index else frame
    for col in shown.columns:
        table.add_column(str(col), justify="right")
    for row in shown.itertuples(index=False):
        cells = []
        for v in row:
            if isinstance(v, float):
                cells.append("" if v != v else (f"{v:,.0f}" if abs(v) >= 100 else f"{v:.4f}"))
            else:
                cells.append(str(v))
        table.add_row(*cells)
    return table


def _print(analysis: PortfolioAnalysis) -> None:
    console.print(_frame_table(analysis.overview, f"Portfolio as of {analysis.as_of.date()}"))
    console.print(_frame_table(analysis.roll_rates.round(4), "Roll rates 滚动率", index=True))
    net = analysis.net_flow.dropna(subset=["net_flow"]).tail(6)
    console.print(_frame_table(net.astype(float), "Net flow to charge-off 净损失流转率", True))
    for name in ("product", "channel"):
        if name in analysis.segments:
            seg = analysis.segments[name][
                [name, "loans", "exposure", "dpd30_share", "ever90_rate", "loss_rate"]
            ]
            console.print(_frame_table(seg, f"By {name}"))
    console.print(_frame_table(analysis.expected_loss, "Expected loss PD x LGD x EAD 预期损失"))


@app.command("portfolio")
def portfolio(
    book: Annotated[
        Path,
        typer.Option(
            "--book", help="A simulated book directory, or loans + performance CSV/Parquet."
        ),
    ],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="HTML report to write.")] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Last month or date to use (YYYY-MM).")
    ] = None,
    lgd: Annotated[float, typer.Option(help="Loss given default for expected loss.")] = 0.75,
    horizon: Annotated[int, typer.Option(help="Expected-loss horizon, months.")] = 12,
    lang: LangOption = "en",
) -> None:
    """Vintages, roll and flow rates, net flow, delinquency by segment and expected loss."""
    lang = cli_lang(lang)
    if out is not None and out.suffix.lower() not in (".html", ".htm"):
        fail(f"--out: {out.name} must end in .html")
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console
    ) as progress:
        task = progress.add_task("reading the book", total=3)
        try:
            data = read_book(book)
            progress.update(task, advance=1, description="analysing")
            analysis = analyse_portfolio(data, as_of=as_of, lgd=lgd, horizon=horizon)
            progress.update(task, advance=1, description="rendering")
            html = (
                portfolio_report(analysis, source=str(book), lang=lang) if out is not None else ""
            )
            progress.update(task, advance=1)
        except CreditFactoryError as exc:
            fail(str(exc))
    _print(analysis)
    if out is not None:
        try:
            out.write_text(html, encoding="utf-8")
        except OSError as exc:
            fail(f"--out: cannot write {out}: {exc.strerror or exc}")
        console.print(f"[green]wrote[/] {out}")
