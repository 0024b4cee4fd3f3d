"""``creditfactory simulate``: generate a portfolio twin and print its summary."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from creditfactory.cli._common import LangOption, cli_lang, console, fail, write_tables
from creditfactory.data import Portfolio, SimulationConfig
from creditfactory.data import simulate as run_simulation
from creditfactory.exceptions import CreditFactoryError


def _config_error(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"]) or "config"
        parts.append(f"{field}: {err['msg']}")
    return "invalid simulation settings — " + "; ".join(parts)


def simulate(
    applications: Annotated[
        int, typer.Option("--applications", "-n", help="Number of applications.")
    ] = 50_000,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same book).")] = 7,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Directory for the Parquet book, or a .xlsx workbook (one sheet a table).",
        ),
    ] = None,
    start_month: Annotated[
        str | None, typer.Option(help="First month of applications, YYYY-MM.")
    ] = None,
    months: Annotated[int | None, typer.Option(help="Months of application history.")] = None,
    bad_rate: Annotated[
        float | None, typer.Option(help="Target through-the-door 12-month bad rate.")
    ] = None,
    fraud_rate: Annotated[float | None, typer.Option(help="Share of fraudulent apps.")] = None,
    shock_month: Annotated[
        str | None, typer.Option(help="Macro shock month YYYY-MM, or 'none'.")
    ] = None,
    lang: LangOption = "en",
) -> None:
    """Simulate a lending book with known ground truth and print its summary."""
    lang = cli_lang(lang)
    settings: dict[str, object] = {"n_applications": applications, "seed": seed}
    for key, value in (
        ("months_of_history", months),
        ("target_bad_rate", bad_rate),
        ("fraud_rate", fraud_rate),
    ):
        if value is not None:
            settings[key] = value
    if start_month is not None:
        settings["start_month"] = _month(start_month, "--start-month")
    if shock_month is not None:
        settings["macro_shock_month"] = (
            None if shock_month.lower() == "none" else _month(shock_month, "--shock-month")
        )
    try:
        config = SimulationConfig(**settings)
    except ValidationError as exc:
        fail(_config_error(exc))
    excel = out is not None and out.suffix.lower() == ".xlsx"
    if out is not None and not excel and out.exists() and not out.is_dir():
        fail(f"--out: {out} exists and is not a directory (a workbook's name ends in .xlsx)")
    portfolio = simulate_with_progress(config)
    if out is not None and excel:
        with console.status(f"writing {out}"):
            write_tables(portfolio.tables(), out, lang=lang)
    elif out is not None:
        try:
            portfolio.write(out)
        except OSError as exc:
            fail(f"--out: cannot write to {out}: {exc.strerror or exc}")
    print_summary(portfolio)
    if out is not None:
        kind = "sheets" if excel else "Parquet tables"
        console.print(
            f"[green]wrote[/] {out}{'' if excel else '/'} ({len(portfolio.tables())} {kind})"
        )


def _month(text: str, option: str) -> dt.date:
    try:
        return dt.datetime.strptime(text, "%Y-%m").date()
    except ValueError:
        fail(f"{option}: {text!r} is not a month like 2024-01")


def simulate_with_progress(config: SimulationConfig) -> Portfolio:
    """Run the simulator under a Rich progress bar."""
    columns = (TextColumn("{task.description:<24}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("simulating", total=1.0)

        def report(step: str, done: float) -> None:
            bar.update(task, completed=done, description=step)

        try:
            return run_simulation(config, progress=report)
        except CreditFactoryError as exc:
            fail(str(exc))


def _pct(x: float) -> str:
    """A share as a percentage; "–" where there is none (e.g. a bad rate with no approvals)."""
    return "–" if x is None or x != x else f"{100 * x:.2f}%"


def print_summary(portfolio: Portfolio) -> None:
    """Print the headline figures, bad rates by cohort and channel, and delinquency by MOB."""
    from creditfactory.data import summarise
    from creditfactory.servicing import delinquency_by_mob, roll_rates

    s = summarise(portfolio)
    o = s.overview
    head = Table(title="Portfolio", show_header=False)
    head.add_column("figure")
    head.add_column("value", justify="right")
    rows = [
        ("applications", f"{o['applications']:,.0f}"),
        ("approval rate (incumbent)", _pct(o["approval_rate"])),
        ("offers taken up (of approved)", _pct(o["take_up_rate"])),
        ("loans booked", f"{o['loans']:,.0f}"),
        ("amount booked (CNY)", f"{o['amount_booked']:,.0f}"),
        ("bad rate, through the door (truth)", _pct(o["bad_rate_all"])),
        ("bad rate, approved (truth)", _pct(o["bad_rate_approved"])),
        ("bad rate, declined (truth)", _pct(o["bad_rate_declined"])),
        ("bad rate, booked loans (truth)", _pct(o["bad_rate_booked"])),
        ("90+ DPD in 12 MOB, seasoned loans (observed)", _pct(o["observed_90dpd_12m"])),
        ("fraud rate, applications", _pct(o["fraud_rate"])),
        ("fraud rate, approved", _pct(o["fraud_rate_approved"])),
        ("fraud rings", f"{o['rings']:,.0f}"),
    ]
    for row in rows:
        head.add_row(*row)
    console.print(head)
    for title, frame, key in (
        ("Bad rate by cohort", s.by_cohort, "cohort"),
        ("Bad rate by channel", s.by_channel, "channel"),
    ):
        table = Table(title=title)
        for col in (key, "applications", "approval", "bad rate", "bad rate (approved)"):
            table.add_column(col, justify="left" if col == key else "right")
        for r in frame.itertuples(index=False):
            table.add_row(
                str(getattr(r, key)),
                f"{r.applications:,}",
                _pct(r.approval_rate),
                _pct(r.bad_rate),
                _pct(r.bad_rate_approved),
            )
        console.print(table)
    console.print(
        "approval: share of applications the incumbent approved; bad rate: share that go bad "
        "(90+ days past due within 12 months, by the simulator's truth), of all applications or "
        "of the approved ones; – : none approved. Cohorts are birth decades (80后: born in the "
        "1980s)."
    )
    dq = delinquency_by_mob(portfolio.performance)
    table = Table(title="Delinquency by month on book")
    for col in ("MOB", "accounts", "30+ DPD", "90+ DPD", "ever 90+"):
        table.add_column(col, justify="right")
    for r in dq.itertuples(index=False):
        table.add_row(
            str(r.mob), f"{r.accounts:,}", _pct(r.dpd30_rate), _pct(r.dpd90_rate), _pct(r.ever_rate)
        )
    console.print(table)
    console.print(
        "MOB: months on book; accounts: loans still on the book that month; 30+ / 90+ DPD: "
        "share 30 or 90 days or more past due that month; ever 90+: share ever 90+ by then."
    )
    rr = roll_rates(portfolio.performance)
    table = Table(title="Roll rates (share of accounts moving from row bucket to column bucket)")
    table.add_column("from")
    for col in rr.columns:
        table.add_column(str(col), justify="right")
    for bucket, row in rr.iterrows():
        table.add_row(str(bucket), *(f"{100 * v:.1f}" for v in row))
    console.print(table)
    console.print(
        "Roll rates in %: M0 current, M1..M6+ months past due, charged_off written off, closed "
        "repaid; each row sums to 100."
    )
