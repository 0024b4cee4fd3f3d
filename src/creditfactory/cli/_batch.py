"""``creditfactory batch decide``: the resumable, chunked batch credit factory."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from creditfactory.cli._common import console, fail
from creditfactory.exceptions import CreditFactoryError

if TYPE_CHECKING:
    from creditfactory.store import Anchorer, Store

app = typer.Typer(help="Batch runs of a decision strategy.", no_args_is_help=True)


@app.command("decide")
def decide(
    strategy: Annotated[Path, typer.Option(help="strategy YAML file", exists=True, dir_okay=False)],
    input: Annotated[Path, typer.Option("--input", help="applications (Parquet)", exists=True)],
    out: Annotated[Path, typer.Option(help="decisions file to write (Parquet)")],
    chunk_size: Annotated[int, typer.Option(min=1, help="rows per resumable chunk")] = 100_000,
    restart: Annotated[
        bool, typer.Option(help="discard an interrupted run's chunks instead of resuming")
    ] = False,
    database_url: Annotated[
        str | None,
        typer.Option(help="record each chunk and the output's SHA-256 in this store's ledger"),
    ] = None,
    lists: Annotated[
        bool,
        typer.Option(
            help="look the strategy's provided lists up in that store's hashed lists, as the "
            "service does (CREDITFACTORY_LIST_SECRET)"
        ),
    ] = False,
    lists_file: Annotated[
        Path | None,
        typer.Option(
            help="look the strategy's provided lists up in this file (CSV or Parquet: list, "
            "field, value or value_hash)",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    lang: Annotated[
        str | None,
        typer.Option(help="add reason_texts: each row's reasons as texts in en or zh-CN (slower)"),
    ] = None,
) -> None:
    """Decide every application in a Parquet file; killed and rerun, it resumes.

    A strategy's provided lists (``provided: true``) are looked up in the store's lists
    (``--lists``) or a file's (``--lists-file``); with neither they are empty.
    """
    from pydantic import ValidationError
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn
    from rich.table import Table

    from creditfactory.batch import LedgerRecorder, decide_file
    from creditfactory.decision import Strategy
    from creditfactory.fraud import HashedLists, Lookups
    from creditfactory.settings import Settings
    from creditfactory.store import Store, stored_lists

    def list_secret(what: str) -> str | None:
        try:
            secret = Settings().list_secret
        except ValidationError as exc:
            fail(f"invalid CREDITFACTORY_* settings: {exc}")
        if secret is None and what:
            fail(f"{what} needs CREDITFACTORY_LIST_SECRET (the key the lists use)")
        return None if secret is None else secret.get_secret_value()

    try:
        recorder = lookups = None
        if lists and lists_file is not None:
            fail("--lists and --lists-file: give one source of lists")
        if database_url is not None:
            store = Store(database_url)
            store.migrate()
            recorder = LedgerRecorder(store, anchorer=_anchorer(store))
            if lists:
                secret = list_secret("--lists")
                assert secret is not None
                with store.sessions() as session:
                    lookups = Lookups({"list": stored_lists(session, secret)})
        elif lists:
            fail("--lists needs --database-url (the store holding the lists)")
        if lists_file is not None:  # clear values need no secret; hashed ones the one they used
            secret = list_secret("") or ""
            lookups = Lookups({"list": HashedLists.from_file(lists_file, secret)})
        compiled = Strategy.load(strategy)
        if compiled.provided_lists and lookups is None:
            console.print(
                "[yellow]note:[/] the strategy's provided lists ("
                + ", ".join(compiled.provided_lists)
                + ") are empty: give --lists (a store's) or --lists-file"
            )
        sha = hashlib.sha256(strategy.read_bytes()).hexdigest()
        if lang is not None:  # another output: a run with texts does not resume one without
            compiled = compiled.with_reason_texts(lang)
            sha = f"{sha}+reason_texts:{compiled.lang}"
        with Progress(
            "[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
            "rows", TimeRemainingColumn(), console=console, transient=False,
        ) as bar:  # fmt: skip
            task = bar.add_task(f"deciding {input.name}", total=None)

            def progress(chunks_done: int, chunks: int, rows_done: int, rows: int) -> None:
                bar.update(task, completed=rows_done, total=rows)

            report = decide_file(
                compiled, input, out, chunk_size=chunk_size, strategy_id=sha, restart=restart,
                progress=progress, recorder=recorder, lookups=lookups,
            )  # fmt: skip
    except CreditFactoryError as exc:
        fail(str(exc))
    table = Table(title=f"{report.out}", show_header=True)
    table.add_column("decision")
    table.add_column("rows", justify="right")
    for name, count in sorted(report.decisions.items()):
        table.add_row(name, f"{count:,}")
    console.print(table)
    if report.unseen:
        seen = Table(title="values a model never saw (policy: " + compiled.unseen + ")")
        seen.add_column("model step: input")
        seen.add_column("rows", justify="right")
        for entry, count in sorted(report.unseen.items()):
            seen.add_row(entry.replace(": unseen ", ": "), f"{count:,}")
        console.print(seen)
    resumed = f", {report.chunks_resumed} resumed" if report.chunks_resumed else ""
    console.print(
        f"{report.rows:,} rows in {report.chunks} chunks ({report.chunks_decided} decided now"
        f"{resumed}) in {report.seconds:.1f} s — {report.rows_per_second:,.0f} rows/s"
    )


def _anchorer(store: Store) -> Anchorer | None:
    """The anchorer of CREDITFACTORY_ANCHOR_FILE (the head is anchored when the run ends)."""
    from pydantic import ValidationError

    from creditfactory.settings import Settings
    from creditfactory.store import Anchorer

    try:
        settings = Settings()
    except ValidationError as exc:
        fail(f"invalid CREDITFACTORY_* settings: {exc}")
    if settings.anchor_file is None:
        return None
    if settings.anchor_key is None:
        fail("anchor_key: set CREDITFACTORY_ANCHOR_KEY to sign the anchor file")
    return Anchorer(store, settings.anchor_file, settings.anchor_key.get_secret_value())
