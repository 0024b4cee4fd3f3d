"""``creditfactory strategy``: check a decision strategy and back-test it on a simulated book."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.tree import Tree

from creditfactory.cli._common import LangOption, cli_lang, console, fail, output_kind, write_tables
from creditfactory.exceptions import CreditFactoryError

app = typer.Typer(
    name="strategy",
    help="Decision strategies: validate and show the flow, back-test on a book.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


DEFAULT_MAX_BYTES = 16 * 1024 * 1024

MaxBytes = Annotated[
    int,
    typer.Option(
        "--max-file-bytes",
        envvar="CREDITFACTORY_STRATEGY_FILE_MAX_BYTES",
        min=1,
        help="The largest strategy, list or model file read (regular files only).",
    ),
]


def _load(path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> Any:
    """The strategy at ``path``; its ``file:`` lists and ``path:`` models may be any regular
    file the operator can read (relative to the strategy), of at most ``max_bytes``."""
    from creditfactory.decision import FileAccess, Strategy

    if not path.exists():
        fail(f"strategy file {path} does not exist")
    try:
        return Strategy.load(path, files=FileAccess.anywhere(path.parent, max_bytes))
    except CreditFactoryError as exc:
        fail(str(exc))


def _tree(node: tuple[str, list[Any]], tree: Tree) -> Tree:
    label, kids = node
    branch = tree.add(f"[bold]{label}[/]")
    for kid in kids:
        if isinstance(kid, tuple):
            _tree(kid, branch)
        else:
            branch.add(str(kid))
    return tree


@app.command("check")
def check(
    file: Annotated[Path, typer.Argument(help="Strategy YAML file.")],
    max_file_bytes: MaxBytes = DEFAULT_MAX_BYTES,
) -> None:
    """Validate a strategy (names, types, tables, models) and print its flow as a tree."""
    strategy = _load(file, max_file_bytes)
    label, kids = strategy.outline()
    tree = Tree(f"[bold green]{label}[/]  ({file})")
    for kid in kids:
        _tree(kid, tree)
    console.print(tree)
    for warning in strategy.warnings():  # valid, but absurd numbers would reach the formulas
        console.print(f"[yellow]warning[/]: {file}: {warning}")
    console.print(f"[green]ok[/]: {file} is a valid strategy")


@app.command("decide")
def decide(
    file: Annotated[Path, typer.Argument(help="Strategy YAML file.")],
    application: Annotated[
        str, typer.Argument(help="The application: a JSON file, or a JSON object inline.")
    ],
    max_file_bytes: MaxBytes = DEFAULT_MAX_BYTES,
    lang: Annotated[
        str,
        typer.Option(
            "--lang",
            envvar="CREDITFACTORY_LANG",
            help="Language of the reason texts: en or zh-CN.",
        ),
    ] = "en",
) -> None:
    """Decide one application and explain the decision: each reason with its text and values,
    what the applicant may be told, and the steps taken."""
    import json

    from creditfactory.decision import InputError, resolve_lang

    try:
        lang = resolve_lang(lang)
    except CreditFactoryError as exc:
        fail(str(exc))

    strategy = _load(file, max_file_bytes)
    try:
        text = (
            application if application.lstrip().startswith("{") else Path(application).read_text()
        )
        payload = json.loads(text)
    except (OSError, ValueError) as exc:
        fail(f"application: cannot read JSON ({exc})")
    if not isinstance(payload, dict):
        fail("application: expected a JSON object")
    try:
        d = strategy.decide(payload)
    except InputError as exc:
        fail(str(exc))
    colour = {"approve": "green", "decline": "red", "refer": "yellow"}[d.decision]
    table = Table(title=f"{strategy.name} v{strategy.version}", show_header=False)
    table.add_row("decision", f"[bold {colour}]{d.decision}[/]")
    for key in ("limit", "apr", "term"):
        value = getattr(d, key)
        table.add_row(
            key, "-" if value is None else f"{value:,.4g}" if key == "apr" else f"{value:,}"
        )
    for name, value in d.values.items():
        table.add_row(name, f"{value:.4g}" if isinstance(value, float) else str(value))
    table.add_row("steps", " > ".join(d.trace))
    console.print(table)
    every, told = strategy.explain_reasons(d, payload, lang)
    if every:
        reasons = Table(title="reasons" if lang == "en" else "原因", show_header=True)
        reasons.add_column("code")
        reasons.add_column("reason" if lang == "en" else "说明")
        reasons.add_column("told" if lang == "en" else "告知申请人")
        for r in every:
            reasons.add_row(r.code, r.text, ("yes" if lang == "en" else "是") if r.tell else "-")
        console.print(reasons)
        head = "told to the applicant" if lang == "en" else "告知申请人的原因"
        console.print(f"[bold]{head}[/]: " + "; ".join(r.text for r in told))


# the simulation report in two tables that fit a terminal (rates; money), every column explained
_RATES = [
    ("approved", "approved", "{:,}"),
    ("approval_rate", "approval rate", "{:.1%}"),
    ("bad_rate_true", "bad rate (true)", "{:.2%}"),
    ("bad_rate_observed", "bad rate (observed)", "{:.2%}"),
]
_MONEY = [
    ("expected_loss_model", "expected loss (model)", "{:,.0f}"),
    ("expected_loss_true", "expected loss (true)", "{:,.0f}"),
    ("realised_loss", "realised loss", "{:,.0f}"),
    ("expected_profit_true", "expected profit (true)", "{:,.0f}"),
    ("profit", "profit", "{:,.0f}"),
]
SIMULATION_LEGEND = (
    "approved: applications the strategy approves (refer counts as decline); approval rate: of "
    "all applications; bad rate (true): approved applications that go 90+ days past due within "
    "12 months, by the simulator's truth; bad rate (observed): the same among approved loans the "
    "incumbent booked, all a lender sees; expected loss: loss given default x exposure at "
    "default x PD over the loan's life, at the strategy's model PD or the true PD; realised "
    "loss: the loss on the loans that went bad; expected profit (true): lifetime value at the "
    "true PD; profit: lifetime value as the loans turned out, less the cost of every "
    "application; - : not available (the incumbent has no model PD; no approved loan is "
    "known). Amounts in CNY."
)


def _fmt(fmt: str, value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):  # null or NaN
        return "-"
    return fmt.format(value)


@app.command("simulate")
def simulate(
    file: Annotated[Path, typer.Argument(help="Strategy YAML file.")],
    book: Annotated[
        Path, typer.Option("--book", help="Portfolio directory (creditfactory simulate --out).")
    ],
    against: Annotated[
        Path | None,
        typer.Option("--against", help="Strategy to compare with (default: the incumbent)."),
    ] = None,
    segment: Annotated[
        str, typer.Option(help="Application column, or arm:<split> for champion/challenger arms.")
    ] = "channel",
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Also write the report: .xlsx (summary and swap sheets) or .csv (the summary).",
        ),
    ] = None,
    max_file_bytes: MaxBytes = DEFAULT_MAX_BYTES,
    lang: LangOption = "en",
) -> None:
    """Back-test a strategy on a simulated book: true and lender-observed figures, swap sets."""
    from creditfactory.data import Portfolio

    lang = cli_lang(lang)

    if out is not None:
        output_kind(out, kinds=("xlsx", "csv"))
    strategy = _load(file, max_file_bytes)
    other = _load(against, max_file_bytes) if against is not None else None
    if not book.is_dir():
        fail(f"--book: {book} is not a directory")
    try:
        pf = Portfolio.read(book)
        report = strategy.simulate(pf, against=other, segment=segment)
    except CreditFactoryError as exc:
        fail(str(exc))
    print_simulation(report, f"on {book}")
    console.print(
        "true figures use the simulator's outcomes for every application; observed figures use "
        "only loans the incumbent booked."
    )
    if out is not None:
        tables = {"summary": report.summary}
        if out.suffix.lower() == ".xlsx" and report.swap is not None:
            tables["swap"] = report.swap
        write_tables(tables, out, lang=lang)
        console.print(f"[green]wrote[/] {out}")


def print_simulation(report: Any, where: str, legend: bool = True) -> None:
    """Print a simulation report: per strategy a table of rates and one of money by segment,
    then the swap sets, then (``legend``) what each column means."""
    segment = report.segment
    for name in report.names:
        if name is None:
            continue
        rows = list(report.summary.filter(report.summary["strategy"] == name).iter_rows(named=True))
        width = max([len(segment), *(len(str(r["segment"])) for r in rows)])
        for title, columns in (("rates", _RATES), ("money, CNY", _MONEY)):
            table = Table(title=f"{name} {where} by {segment}: {title}")
            table.add_column(segment, no_wrap=True, min_width=width)
            for _, header, _ in columns:
                table.add_column(header, justify="right", overflow="fold")
            for row in rows:
                style = "bold" if row["segment"] == "total" else None
                cells = [_fmt(fmt, row[col]) for col, _, fmt in columns]
                table.add_row(str(row["segment"]), *cells, style=style)
            console.print(table)
    if report.swap is not None:
        swap = Table(title=f"swap sets: {report.names[0]} vs {report.names[1]}")
        for col in ("cell", "applications", "bad rate (true)", "known", "bad rate (observed)"):
            swap.add_column(col, justify="left" if col == "cell" else "right")
        for row in report.swap.iter_rows(named=True):
            swap.add_row(
                row["cell"],
                _fmt("{:,}", row["applications"]),
                _fmt("{:.2%}", row["bad_rate_true"]),
                _fmt("{:,}", row["known"]),
                _fmt("{:.2%}", row["bad_rate_observed"]),
            )
        console.print(swap)
        console.print(
            "swap sets: both approve / only this strategy approves (swap-in) / only the other "
            "does (swap-out) / both decline; known: applications with an observed outcome "
            "(booked by the incumbent); - : no observed outcome in the cell."
        )
    for name, counts in getattr(report, "unseen", {}).items():
        seen = Table(title=f"{name}: values a model never saw")
        seen.add_column("model step: input")
        seen.add_column("applications", justify="right")
        for entry, count in sorted(counts.items()):
            seen.add_row(entry.replace(": unseen ", ": "), f"{count:,}")
        console.print(seen)
    if legend:
        console.print(SIMULATION_LEGEND)
