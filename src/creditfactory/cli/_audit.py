"""``creditfactory audit verify``: walk the hash-chained ledger and report the first problem."""

from __future__ import annotations

from typing import Annotated

import typer

from creditfactory.cli._common import console, err_console, fail
from creditfactory.exceptions import CreditFactoryError

app = typer.Typer(help="The tamper-evident audit ledger.", no_args_is_help=True)


@app.command("verify")
def verify(
    database_url: Annotated[
        str | None,
        typer.Option(help="database to verify (default: CREDITFACTORY_DATABASE_URL)"),
    ] = None,
    records: Annotated[
        bool, typer.Option(help="also check the records the ledger vouches for")
    ] = True,
    anchor: Annotated[
        list[str] | None,
        typer.Option(help="an entry hash kept outside the database that must still be there"),
    ] = None,
) -> None:
    """Verify the ledger; exit status 1 and the first altered/removed/reordered entry if not."""
    from pydantic import ValidationError

    from creditfactory.api import Settings
    from creditfactory.store import Store, current_revision
    from creditfactory.store import verify as check

    try:
        url = database_url or Settings().database_url
    except ValidationError as exc:
        fail(f"invalid CREDITFACTORY_* settings: {exc}")
    try:
        store = Store(url)
        if current_revision(store.engine) is None:
            fail(f"{url}: no creditfactory database here (no migrations applied)")
        with store.session() as session:
            verdict = check(session, check_records=records, anchors=anchor or ())
        store.dispose()
    except CreditFactoryError as exc:
        fail(str(exc))
    except Exception as exc:  # a driver error: present it, no stack trace
        fail(f"{url}: {type(exc).__name__}: {exc}")
    if verdict.ok:
        console.print(f"[bold green]ledger intact[/]: {verdict.checked} entries")
        console.print(f"head {verdict.head}  (keep it elsewhere; check later with --anchor)")
        return
    first = verdict.first
    assert first is not None
    err_console.print(
        f"[bold red]ledger broken[/] at entry {first.seq}: {first.problem} — {first.detail}"
    )
    if len(verdict.problems) > 1:
        err_console.print(f"({len(verdict.problems) - 1} further problem(s) after it)")
    raise typer.Exit(1)
