"""``creditfactory audit verify`` walks the hash-chained ledger and reports the first problem;
``creditfactory audit anchor`` appends the ledger head to the anchor file (for cron)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from creditfactory.cli._common import console, err_console, fail
from creditfactory.exceptions import CreditFactoryError

app = typer.Typer(help="The tamper-evident audit ledger.", no_args_is_help=True)

DatabaseUrl = Annotated[
    str | None, typer.Option(help="database to use (default: CREDITFACTORY_DATABASE_URL)")
]
AnchorFile = Annotated[
    Path | None,
    typer.Option(help="file of signed ledger heads (default: CREDITFACTORY_ANCHOR_FILE)"),
]


def _settings() -> Any:
    from pydantic import ValidationError

    from creditfactory.api import Settings

    try:
        return Settings()
    except ValidationError as exc:
        fail(f"invalid CREDITFACTORY_* settings: {exc}")


def _open(url: str) -> Any:
    from creditfactory.store import Store, current_revision

    store = Store(url)
    if current_revision(store.engine) is None:
        fail(f"{url}: no creditfactory database here (no migrations applied)")
    return store


def _key(settings: Any) -> str:
    if settings.anchor_key is None:
        fail("anchor_key: set CREDITFACTORY_ANCHOR_KEY (the key the anchor file is signed with)")
    return str(settings.anchor_key.get_secret_value())


@app.command("verify")
def verify(
    database_url: DatabaseUrl = None,
    records: Annotated[
        bool, typer.Option(help="also check the records the ledger vouches for")
    ] = True,
    anchor: Annotated[
        list[str] | None,
        typer.Option(help="an entry hash kept outside the database that must still be there"),
    ] = None,
    anchor_file: AnchorFile = None,
) -> None:
    """Verify the ledger; exit status 1 and the first altered/removed/reordered entry if not.

    With an anchor file (``--anchor-file`` or CREDITFACTORY_ANCHOR_FILE, signed with
    CREDITFACTORY_ANCHOR_KEY) every anchored head must still be in the chain.
    """
    from creditfactory.store import verify as check

    settings = _settings()
    url = database_url or settings.database_url
    path = anchor_file or settings.anchor_file
    key = None if path is None else _key(settings)
    try:
        store = _open(url)
        with store.session() as session:
            verdict = check(
                session, check_records=records, anchors=anchor or (), anchor_file=path,
                anchor_key=key,
            )  # fmt: skip
        store.dispose()
    except CreditFactoryError as exc:
        fail(str(exc))
    except Exception as exc:  # a driver error: present it, no stack trace
        fail(f"{url}: {type(exc).__name__}: {exc}")
    if verdict.ok:
        console.print(f"[bold green]ledger intact[/]: {verdict.checked} entries")
        if path is not None and Path(path).exists():
            console.print(f"anchors in {path} agree")
        elif path is not None:  # a wrong path would otherwise pass for protection
            console.print(f"[yellow]no anchor file at {path} yet[/]: nothing anchored to check")
        console.print(f"head {verdict.head}  (keep it elsewhere; check later with --anchor)")
        return
    first = verdict.first
    assert first is not None
    err_console.print(
        f"[bold red]ledger broken[/] at entry {first.seq}: {first.problem} — {first.detail}"
    )
    for more in verdict.problems[1:6]:
        err_console.print(f"  also at entry {more.seq}: {more.problem} — {more.detail}")
    if len(verdict.problems) > 6:
        err_console.print(f"({len(verdict.problems) - 6} further problem(s))")
    raise typer.Exit(1)


@app.command("anchor")
def anchor(database_url: DatabaseUrl = None, anchor_file: AnchorFile = None) -> None:
    """Append the ledger head, signed, to the anchor file now (run it from cron)."""
    from creditfactory.store import anchor_head

    settings = _settings()
    url = database_url or settings.database_url
    path = anchor_file or settings.anchor_file
    if path is None:
        fail("anchor_file: set CREDITFACTORY_ANCHOR_FILE or pass --anchor-file")
    key = _key(settings)
    try:
        store = _open(url)
        with store.session() as session:
            written = anchor_head(session, path, key)
        store.dispose()
    except CreditFactoryError as exc:
        fail(str(exc))
    except Exception as exc:  # a driver error: present it, no stack trace
        fail(f"{url}: {type(exc).__name__}: {exc}")
    console.print(f"anchored entry {written.seq} ({written.hash}) in {path}")
