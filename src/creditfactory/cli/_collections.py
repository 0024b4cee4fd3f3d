"""``creditfactory collections``: plan a month's collection actions, deal them to teams, rank
collectors, and score a plan against the twin's truth."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from creditfactory.cli._common import console, fail
from creditfactory.exceptions import CreditFactoryError

app = typer.Typer(
    name="collections",
    help="Collections: score-driven plans, queues, collector league tables, truth.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

Book = Annotated[Path, typer.Option("--book", help="Directory of a book (creditfactory simulate).")]


def _book(path: Path) -> Any:
    from creditfactory.data import Portfolio

    if not path.is_dir():
        fail(f"--book: {path} is not a directory")
    try:
        return Portfolio.read(path)
    except (CreditFactoryError, OSError) as exc:
        fail(f"--book: {exc}")


def _read_plan(path: Path) -> Any:
    import pandas as pd

    if not path.is_file():
        fail(f"--plan: {path} does not exist")
    try:
        return pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        fail(f"--plan: {path} is not a Parquet file: {exc}")


def _money(x: float) -> str:
    return f"{x:,.0f}"


@app.command("plan")
def plan(
    book: Book,
    strategy: Annotated[Path, typer.Option("--strategy", help="Collection strategy YAML.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Plan file to write (Parquet).")],
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Month to plan, YYYY-MM (default: the last).")
    ] = None,
) -> None:
    """Score the month's delinquent accounts and give each the strategy's action."""
    from creditfactory.cli._strategy import _load
    from creditfactory.collections import plan_collections

    if not strategy.is_file():
        fail(f"--strategy: {strategy} does not exist")
    compiled = _load(strategy)
    portfolio = _book(book)
    with console.status("fitting the collection scores and planning ..."):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # selection notes of the scorecards
                result = plan_collections(portfolio, compiled, as_of=as_of)
        except CreditFactoryError as exc:
            fail(str(exc))
    out.parent.mkdir(parents=True, exist_ok=True)
    result.to_parquet(out, index=False)
    month = result["month"].iloc[0]
    table = Table(title=f"collection plan {month:%Y-%m} / 催收计划 ({len(result):,} accounts)")
    for name in (
        "arm",
        "action 动作",
        "accounts 户数",
        "amount due 应还",
        "expected net 预期净回收",
    ):
        table.add_column(name, justify="left" if name in ("arm", "action 动作") else "right")
    grouped = result.fillna({"arm": "-"}).groupby(["arm", "action"], sort=True)
    for (arm, action), g in grouped:
        table.add_row(
            str(arm), str(action), f"{len(g):,}", _money(g["amount_due"].sum()),
            _money(g["expected_net"].sum()),
        )  # fmt: skip
    console.print(table)
    console.print(f"[green]wrote[/] {out}")


@app.command("evaluate")
def evaluate(
    book: Book,
    plan_file: Annotated[Path, typer.Option("--plan", help="Plan file (collections plan).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON only.")] = False,
    horizon: Annotated[
        str,
        typer.Option(
            "--horizon",
            help="Horizon of the horizon figures: 'life' (the loan's life: until it is closed "
            "or charged off, and the written-off debt's recoveries) or a number of months (the "
            "plan's month included). The incumbent's policy after the plan's month.",
        ),
    ] = "life",
) -> None:
    """True expected recoveries, costs and cures of a plan and of the incumbent's policy on
    the same accounts (a simulated book only): the plan's month, and a horizon of months."""
    from creditfactory.collections import evaluate_plan

    text = horizon.strip().lower()
    if text != "life" and not (text.isdigit() and int(text) >= 1):
        fail(f"--horizon: {horizon!r} is neither 'life' nor a number of months >= 1")
    months = None if text == "life" else int(text)
    span = "life 全生命周期" if months is None else f"{months} months {months}个月"
    portfolio = _book(book)
    frame = _read_plan(plan_file)
    try:
        result = evaluate_plan(portfolio, frame, horizon_months=months)
    except CreditFactoryError as exc:
        fail(str(exc))
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
        return
    table = Table(title=f"plan vs incumbent, the twin's truth / 真实回收 ({len(frame):,} accounts)")
    table.add_column("figure 指标")
    rows = (("plan 计划", result.plan), ("same mix, random 同组合随机", result.same_mix),
            ("incumbent 现行", result.incumbent))  # fmt: skip
    for label, _ in rows:
        table.add_column(label, justify="right")
    for key, label in (
        ("recovered", "recovered 回收"),
        ("cost", "cost 成本"),
        ("net_recovery", "net recovery 净回收"),
        ("cures", "cures 治愈"),
        ("horizon_recovered", f"recovered, {span} 回收"),
        ("horizon_cost", f"cost, {span} 成本"),
        ("horizon_net_recovery", f"net recovery, {span} 净回收"),
        ("current_at_end", "current or closed at the end 期末正常/结清"),
        ("charged_off", "charged off 核销"),
    ):
        table.add_row(label, *[_money(r[key]) for _, r in rows])
    console.print(table)
    console.print(f"net recovery vs the incumbent, the month 当月: {result.uplift:+.1%}")
    console.print(f"net recovery vs the incumbent, {span}: {result.horizon_uplift:+.1%}")


@app.command("queues")
def queues(
    plan_file: Annotated[Path, typer.Option("--plan", help="Plan file (collections plan).")],
    team: Annotated[
        list[str],
        typer.Option(
            "--team", help="NAME:ACTION[+ACTION]:CAPACITY a day, e.g. calls:agent_call:200."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Queues file to write (Parquet).")],
    days: Annotated[int, typer.Option("--days", min=1, help="Working days to fill.")] = 1,
) -> None:
    """Deal the plan's calls and visits to teams within capacity, best expected net first."""
    import pandas as pd

    from creditfactory.collections import Team, assign_queues, queue_summary

    teams = []
    for text in team:
        parts = text.split(":")
        if len(parts) != 3 or not parts[2].strip().isdigit():
            fail(f"--team: {text!r} is not NAME:ACTION[+ACTION]:CAPACITY")
        try:
            teams.append(Team(parts[0], tuple(parts[1].split("+")), int(parts[2])))
        except CreditFactoryError as exc:
            fail(f"--team: {exc}")
    try:
        result = assign_queues(_read_plan(plan_file), teams, days=days)
    except CreditFactoryError as exc:
        fail(str(exc))
    out.parent.mkdir(parents=True, exist_ok=True)
    result.to_parquet(out, index=False)
    table = Table(title="work queues / 催收队列")
    for name in ("team 小组", "day 日", "accounts 户数", "expected net 预期净回收"):
        table.add_column(name, justify="left" if name.startswith("team") else "right")
    for _, row in queue_summary(result).iterrows():
        day = "-" if pd.isna(row["day"]) else str(int(row["day"]))
        table.add_row(str(row["team"]), day, f"{row['accounts']:,}", _money(row["expected_net"]))
    console.print(table)
    console.print(f"[green]wrote[/] {out}")


@app.command("league")
def league(
    book: Book,
    before: Annotated[
        str | None, typer.Option("--before", help="Only months before this one, YYYY-MM.")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Also write the table (CSV).")
    ] = None,
) -> None:
    """Collector league table: contact, PTP, kept-promise and cure rates, recoveries,
    risk-adjusted for the accounts each was given, with 95% intervals."""
    from creditfactory.collections import PERSONAL, league_table, scored_history

    portfolio = _book(book)
    with console.status("scoring the worked accounts ..."):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                history = scored_history(portfolio, before=before)
            worked = history[history["taken_action"].astype(str).isin(PERSONAL)]
            result = league_table(worked)
        except CreditFactoryError as exc:
            fail(str(exc))
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        result.to_csv(out, index=False)
    for pool, g in result.groupby("pool"):
        table = Table(title=f"collector league / 催收员绩效: {pool}")
        for name in ("rank", "collector 催收员", "accounts", "contact 接通", "PTP 承诺",
                     "kept 守约", "cure 治愈", "expected 预期", "vs expected (95% CI) 风险调整",
                     "recovered 回收"):  # fmt: skip
            table.add_column(name, justify="left" if name.startswith("collector") else "right")
        for _, r in g.iterrows():
            kept = "-" if r["kept_rate"] != r["kept_rate"] else f"{r['kept_rate']:.0%}"
            table.add_row(
                str(r["rank"]), r["collector_id"], str(r["accounts"]), f"{r['contact_rate']:.0%}",
                f"{r['ptp_rate']:.0%}", kept, f"{r['cure_rate']:.0%}",
                f"{r['expected_cure_rate']:.0%}",
                f"{r['cure_rate_vs_expected']:+.1%} ({r['vs_expected_low']:+.1%}, "
                f"{r['vs_expected_high']:+.1%})",
                _money(r["amount_recovered"]),
            )  # fmt: skip
        console.print(table)
    if out is not None:
        console.print(f"[green]wrote[/] {out}")


@app.command("response")
def response(book: Book) -> None:
    """What each action did by bucket, from the incumbent's randomised history: cure and
    payment rates (95% intervals), cash and cost per account-month."""
    from creditfactory.collections import account_months, action_response

    portfolio = _book(book)
    try:
        result = action_response(account_months(portfolio))
    except CreditFactoryError as exc:
        fail(str(exc))
    table = Table(title="action response, randomised history / 催收动作效果")
    for name in ("bucket 账龄段", "action 动作", "accounts 户数", "cure 治愈 (95% CI)", "pay 还款",
                 "recovered 回收", "cost 成本", "net 净回收"):  # fmt: skip
        left = name.startswith(("bucket", "action"))
        table.add_column(name, justify="left" if left else "right")
    for _, r in result.iterrows():
        table.add_row(
            str(r["bucket"]), str(r["action"]), f"{r['accounts']:,}",
            f"{r['cure_rate']:.0%} ({r['cure_low']:.0%}-{r['cure_high']:.0%})",
            f"{r['pay_rate']:.0%}", f"{r['recovered']:,.0f}", f"{r['cost']:,.1f}",
            f"{r['net']:,.0f}",
        )  # fmt: skip
    console.print(table)
