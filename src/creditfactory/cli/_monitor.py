"""``creditfactory monitor``: stability, performance drift, calibration and alerts of a
scorecard over a book, as terminal tables and one offline HTML page."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import numpy as np
import pandas as pd
import typer
import yaml
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from creditfactory.cli._common import LangOption, cli_lang, console, fail
from creditfactory.exceptions import CreditFactoryError

if TYPE_CHECKING:
    from creditfactory.monitoring import AlertThresholds, MonitoringReport

_LEVEL_STYLE = {"act": "bold red", "watch": "yellow"}


def read_decisions(url: str) -> pd.DataFrame:
    """Every stored decision with its month and, once worked, its review outcome.

    Columns ``month`` (YYYY-MM of ``decided_at``), ``decision`` and ``review_outcome`` (empty
    until an underwriter completes the review): what :func:`creditfactory.monitoring.
    decision_rates` takes.
    """
    from sqlalchemy import select
    from sqlalchemy.exc import SQLAlchemyError

    from creditfactory.store import DecisionRecord, Review, Store

    store = Store(url)
    try:
        with store.session() as session:
            rows = session.execute(
                select(DecisionRecord.decided_at, DecisionRecord.decision, Review.outcome)
                .outerjoin(Review, Review.decision_id == DecisionRecord.id)
                .order_by(DecisionRecord.id)
            ).all()
    except SQLAlchemyError as exc:
        fail(f"--store: cannot read decisions from {url}: {type(exc).__name__}")
    finally:
        store.dispose()
    frame = pd.DataFrame(rows, columns=["decided_at", "decision", "review_outcome"])
    stamps = pd.to_datetime(frame["decided_at"], utc=True)
    frame["month"] = stamps.dt.strftime("%Y-%m")
    return frame[["month", "decision", "review_outcome"]]


def _thresholds(path: Path | None) -> AlertThresholds:
    from pydantic import ValidationError

    from creditfactory.monitoring import AlertThresholds

    if path is None:
        return AlertThresholds()
    if not path.is_file():
        fail(f"--thresholds: file {path} does not exist")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        fail(f"--thresholds: {path} is not valid YAML: {exc}")
    if not isinstance(raw, dict):
        fail(f"--thresholds: {path} must hold a mapping of thresholds")
    try:
        return AlertThresholds(**raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "thresholds"
        fail(f"--thresholds: {where}: {err['msg']}")


def _cell(v: Any) -> str:
    if isinstance(v, float | np.floating):
        x = float(v)
        if x != x:
            return ""
        return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.4f}"
    return str(v)


def _table(frame: pd.DataFrame, title: str) -> Table:
    table = Table(title=title)
    for col in frame.columns:
        table.add_column(str(col), justify="right")
    for row in frame.itertuples(index=False):
        table.add_row(*(_cell(v) for v in row))
    return table


def _print(report: MonitoringReport) -> None:
    cols = ["month", "n", "psi", "psi_band", "max_csi", "max_csi_variable", "matured",
            "bad_rate", "predicted", "auc", "ks", "calibration_p_value", "alerts"]  # fmt: skip
    console.print(_table(report.summary[cols], "By month 月度汇总"))
    if report.rates is not None:
        console.print(_table(report.rates, "Decisions 审批比率"))
    if report.alerts.empty:
        console.print("[green]No alert 无警报[/]")
        return
    table = Table(title=f"Alerts 警报 ({len(report.alerts)})")
    for col in ("month", "cohort", "kind", "subject", "metric", "value", "threshold", "level"):
        table.add_column(col, justify="right")
    for a in report.alerts.itertuples(index=False):
        style = _LEVEL_STYLE.get(str(a.level), "")
        table.add_row(
            str(a.month), str(a.cohort), str(a.kind), str(a.subject), str(a.metric),
            _cell(a.value), _cell(a.threshold), str(a.level), style=style,
        )  # fmt: skip
    console.print(table)


def monitor(
    book: Annotated[
        Path, typer.Option("--book", help="A book directory (creditfactory simulate --out).")
    ],
    model: Annotated[
        Path, typer.Option("--model", help="A scorecard artefact folder (scorecard fit --out).")
    ],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="HTML report to write.")] = None,
    window: Annotated[
        int, typer.Option(help="Outcome window in months on book (what the model predicts).")
    ] = 3,
    bad_bucket: Annotated[
        int, typer.Option(help="Missed instalments that make a loan bad (1 = 30+ DPD).")
    ] = 1,
    baseline_months: Annotated[
        int,
        typer.Option(
            help="Stability baseline: the book's first N months; 0 = the model's "
            "development sample."
        ),
    ] = 3,
    thresholds: Annotated[
        Path | None, typer.Option("--thresholds", help="YAML file of alert thresholds.")
    ] = None,
    store: Annotated[
        str | None,
        typer.Option(
            "--store", help="Database URL to read approval, referral and override rates from."
        ),
    ] = None,
    lang: LangOption = "en",
) -> None:
    """PSI/CSI, AUC/KS/Gini and calibration by month with alerts (terminal + offline HTML)."""
    lang = cli_lang(lang)
    from creditfactory.data import Portfolio
    from creditfactory.monitoring import matured_outcomes, monitoring_report
    from creditfactory.monitoring import monitor as run_monitor
    from creditfactory.scorecard import load

    if out is not None and out.suffix.lower() not in (".html", ".htm"):
        fail(f"--out: {out.name} must end in .html")
    if baseline_months < 0:
        fail(f"--baseline-months: must be 0 or more, got {baseline_months}")
    limits = _thresholds(thresholds)
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console
    ) as progress:
        task = progress.add_task("reading the book and the model", total=4)
        try:
            data = Portfolio.read(book)
            sc = load(model)
            apps = data.observable("applications")
            columns = [str(c) for c in sc.feature_names_in_]
            missing = [c for c in columns if c not in apps.columns]
            if missing:
                fail(f"--book: the model needs column '{missing[0]}', not in the applications")
            y = matured_outcomes(data.loans, data.performance, window, bad_bucket)
            decisions = read_decisions(store) if store else None
            progress.update(task, advance=1, description="scoring and monitoring")
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                report = run_monitor(
                    sc,
                    apps[columns],
                    apps["applied_at"].dt.strftime("%Y-%m").to_numpy(),
                    y.reindex(apps["application_id"]).to_numpy(),
                    baseline_months=baseline_months or None,
                    thresholds=limits,
                    decisions=decisions,
                    window=window,
                )
            progress.update(task, advance=1, description="rendering")
            html = (
                monitoring_report(report, model=str(model), source=str(book), lang=lang)
                if out is not None
                else ""
            )
            progress.update(task, advance=2)
        except CreditFactoryError as exc:
            fail(str(exc))
    for w in caught:
        console.print(f"[yellow]warning:[/] {w.message}")
    _print(report)
    if out is not None:
        try:
            out.write_text(html, encoding="utf-8")
        except OSError as exc:
            fail(f"--out: cannot write {out}: {exc.strerror or exc}")
        console.print(f"[green]wrote[/] {out}")
