"""``creditfactory loans``: post a file of payments (resumable: a re-run posts nothing twice)
and show a loan (schedule, status, DPD, bucket, balances) as of any date."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from creditfactory.cli._common import console, err_console, fail
from creditfactory.exceptions import CreditFactoryError, DataError

app = typer.Typer(help="Loans in the service: payments and positions.", no_args_is_help=True)

DatabaseUrl = Annotated[
    str | None, typer.Option(help="database to use (default: CREDITFACTORY_DATABASE_URL)")
]
COLUMNS = ("loan_id", "amount", "paid_on")
OPTIONAL = ("reference", "payment_id")
CHUNK = 200  # payments per transaction: committed together, skipped together on a re-run


def _url(database_url: str | None) -> str:
    if database_url:
        return database_url
    from pydantic import ValidationError

    from creditfactory.api import Settings

    try:
        return str(Settings().database_url)
    except ValidationError as exc:
        fail(f"invalid CREDITFACTORY_* settings: {exc}")


def _open(url: str) -> Any:
    from creditfactory.store import Store, current_revision

    store = Store(url)
    if current_revision(store.engine) is None:
        fail(f"{url}: no creditfactory database here (no migrations applied)")
    return store


def read_payments(path: Path) -> list[dict[str, Any]]:
    """The payments of a CSV file (``loan_id``, ``amount`` in CNY, ``paid_on`` YYYY-MM-DD;
    optional ``reference`` and ``payment_id``), each with its Idempotency-Key: ``payment_id``
    when given, else a digest of the row and of how many identical rows came before it (so two
    equal payments in one file stay two, and a re-run of the file gives the same keys).

    Raises
    ------
    SchemaError
        A column is missing or a value is wrong (names the column and the line).
    """
    import polars as pl

    from creditfactory.exceptions import SchemaError
    from creditfactory.servicing import to_fen

    try:
        frame = pl.read_csv(path, infer_schema=False)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise DataError(f"input: cannot read {path}: {exc}") from exc
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise SchemaError(f"{path}: missing column(s) {', '.join(missing)}", column=missing[0])
    seen: Counter[str] = Counter()
    out = []
    for line, row in enumerate(frame.iter_rows(named=True), start=2):
        try:
            loan_id = int(str(row["loan_id"]).strip())
            if loan_id < 1:
                raise ValueError
        except ValueError:
            raise SchemaError(f"loan_id: line {line}: not a loan id: {row['loan_id']!r}",
                              column="loan_id", row=line) from None  # fmt: skip
        try:
            amount = to_fen(str(row["amount"]).strip(), "amount")
        except DataError as exc:
            raise SchemaError(f"{exc} (line {line})", column="amount", row=line) from None
        try:
            paid_on = date.fromisoformat(str(row["paid_on"]).strip())
        except ValueError:
            raise SchemaError(f"paid_on: line {line}: not a date (YYYY-MM-DD): {row['paid_on']!r}",
                              column="paid_on", row=line) from None  # fmt: skip
        reference = row.get("reference") or None
        key = row.get("payment_id") or None
        if key is None:
            text = json.dumps([loan_id, amount, paid_on.isoformat(), reference])
            seen[text] += 1
            key = "csv:" + hashlib.sha256(f"{text}#{seen[text]}".encode()).hexdigest()[:40]
        out.append({"line": line, "loan_id": loan_id, "amount": amount, "paid_on": paid_on,
                    "reference": reference, "key": str(key)})  # fmt: skip
    return out


@app.command("post-payments")
def post_payments(
    input: Annotated[
        Path, typer.Option("--input", help="CSV: loan_id, amount, paid_on[, reference, payment_id]")
    ],
    database_url: DatabaseUrl = None,
    actor: Annotated[str, typer.Option(help="who posts them (in the ledger)")] = "cli",
) -> None:
    """Post every payment of the file once: each under its Idempotency-Key, committed in
    chunks, so that an interrupted run can simply be run again (what was posted is skipped)."""
    from rich.progress import Progress

    from creditfactory.store import post_payment

    url = _url(database_url)
    try:
        rows = read_payments(input)
    except CreditFactoryError as exc:
        fail(str(exc))
    counts: Counter[str] = Counter()
    problems: list[str] = []
    try:
        store = _open(url)
        with Progress(console=console, transient=True) as bar:
            task = bar.add_task("posting payments", total=len(rows))
            for start in range(0, len(rows), CHUNK):
                with store.session() as session:
                    for row in rows[start : start + CHUNK]:
                        try:
                            with session.begin_nested():
                                _, created = post_payment(
                                    session, row["loan_id"], row["amount"], row["key"], actor,
                                    row["paid_on"], row["reference"],
                                )  # fmt: skip
                            counts["posted" if created else "already posted"] += 1
                        except CreditFactoryError as exc:
                            counts["refused"] += 1
                            problems.append(f"line {row['line']}: {exc}")
                bar.advance(task, len(rows[start : start + CHUNK]))
        store.dispose()
    except CreditFactoryError as exc:
        fail(str(exc))
    console.print(
        f"{len(rows)} payment(s): [green]{counts['posted']} posted[/], "
        f"{counts['already posted']} already posted, {counts['refused']} refused"
    )
    for p in problems[:20]:
        err_console.print(f"[red]refused[/] {p}", soft_wrap=True)
    if problems:
        raise typer.Exit(1)


@app.command("show")
def show(
    loan_id: Annotated[int, typer.Argument(help="the loan's id")],
    as_of: Annotated[str | None, typer.Option(help="YYYY-MM-DD (default: today, UTC)")] = None,
    database_url: DatabaseUrl = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the loan as JSON")] = False,
) -> None:
    """A loan's status, DPD, bucket, balances, schedule and payments as of a date."""
    from rich.table import Table

    from creditfactory.api import loan_public
    from creditfactory.store import get_loan

    try:
        day = None if as_of is None else date.fromisoformat(as_of)
    except ValueError:
        fail(f"as_of: not a date (YYYY-MM-DD): {as_of!r}")
    try:
        store = _open(_url(database_url))
        with store.session() as session:
            loan = loan_public(session, get_loan(session, loan_id), day)
        store.dispose()
    except CreditFactoryError as exc:
        fail(str(exc))
    if as_json:
        console.print_json(loan.model_dump_json())
        return
    console.print(
        f"[bold]loan {loan.id}[/] (decision {loan.decision_id}) 贷款 as of {loan.as_of}: "
        f"[bold]{loan.status}[/], {loan.bucket}, {loan.dpd} DPD 逾期天数"
    )
    summary = Table(
        "balance 余额",
        "CNY",
        title=f"{loan.amount} at {loan.apr} APR, {loan.term} months, {loan.method}",
    )
    for name in ("principal_outstanding", "overdue_principal", "overdue_interest",
                 "penalty_outstanding", "fees_outstanding", "credit", "settlement_amount",
                 "paid", "written_off", "recovered", "overpaid"):  # fmt: skip
        summary.add_row(name, str(getattr(loan, name)))
    console.print(summary)
    sched = Table("no", "due 到期日", "payment 应还", "principal 本金", "interest 利息",
                  "paid 已还", "state 状态", title="schedule 还款计划")  # fmt: skip
    for i in loan.schedule:
        paid = str(i.paid_principal + i.paid_interest)
        sched.add_row(str(i.no), str(i.due_date), str(i.payment), str(i.principal),
                      str(i.interest), paid, i.state)  # fmt: skip
    console.print(sched)
    if loan.payments:
        pays = Table("id", "paid on 还款日", "amount 金额", "penalty", "fees", "interest",
                     "principal", "credit", title="payments 还款记录")  # fmt: skip
        for p in loan.payments:
            pays.add_row(str(p.id), str(p.paid_on), str(p.amount), str(p.penalty), str(p.fees),
                         str(p.interest), str(p.principal), str(p.credit))  # fmt: skip
        console.print(pays)
