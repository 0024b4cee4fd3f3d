"""``creditfactory scorecard adjust``: review and edit bins in the terminal, save ``user_bins``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.table import Table

from creditfactory.cli._common import console, fail
from creditfactory.exceptions import CreditFactoryError

HELP = (
    "commands: merge I J | split V [V ...] | group A B [...] | trend ascending|descending|peak"
    "|valley|none | reset | next | prev | go NAME | model | save | quit (saves) | exit (does not)"
)


def _show(adj: Any, feature: str) -> None:
    t = adj.tables[feature]
    before = adj.original[feature]
    mark = " (edited)" if feature in adj.edited else ""
    sel = "in the model" if feature in adj.scorecard.selected_features_ else "not selected"
    console.print(t)
    console.print(
        f"[bold]{feature}[/]{mark}: {sel}; IV {t.iv:.4f} (fitted {before.iv:.4f}), "
        f"trend {t.trend()}, {t.n_regular} regular bins"
    )


def make_adjust(read_table: Callable[[Path], pd.DataFrame]) -> Callable[..., None]:
    """The ``adjust`` command, reading tables with the group's ``read_table`` (passed in, so
    that this module does not import the one that registers it)."""

    def adjust(
        model: Annotated[Path, typer.Option("--model", help="Directory of a fitted scorecard.")],
        data: Annotated[Path, typer.Option("--data", help="Its training table.")],
        target: Annotated[str, typer.Option("--target", help="Target column, 0/1 with 1 = bad.")],
        out: Annotated[
            Path, typer.Option("--out", help="JSON settings file to write user_bins into.")
        ] = Path("user_bins.json"),
        feature: Annotated[
            str | None, typer.Option("--feature", help="Start at this characteristic.")
        ] = None,
    ) -> None:
        """Review each characteristic's bins, merge, split or force a trend, see the effect on IV
        and on the model, and save the edits as user_bins (read by `fit --config`)."""
        from creditfactory.scorecard import BinAdjuster, check_target, load

        try:
            sc = load(model)
            frame = read_table(data)
            if target not in frame.columns:
                fail(f"--target: column '{target}' is not in {data.name}")
            y = check_target(frame[target].to_numpy(), len(frame))
            adj = BinAdjuster(sc, frame, y)
        except CreditFactoryError as exc:
            fail(str(exc))
        order = adj.features
        if feature is not None and feature not in order:
            fail(f"--feature: '{feature}' is not a binned characteristic of {model}")
        i = order.index(feature) if feature else 0
        console.print(HELP)
        _show(adj, order[i])
        while True:
            try:
                line = console.input(f"[cyan]{order[i]}[/] > ").strip()
            except EOFError:
                line = "quit"
            if not line:
                continue
            verb = line.split()[0]
            if verb in ("quit", "q"):  # saves what was edited
                if adj.edited:
                    console.print(f"user_bins saved to {adj.save(out)}")
                return
            if verb == "exit":  # leaves without saving
                return
            if verb in ("next", "n", "prev", "p"):
                i = (i + (1 if verb in ("next", "n") else -1)) % len(order)
                _show(adj, order[i])
            elif verb == "go":
                name = line[3:].strip()
                if name not in order:
                    console.print(f"[red]error:[/] '{name}' is not a binned characteristic")
                    continue
                i = order.index(name)
                _show(adj, name)
            elif verb == "model":
                with console.status("refitting with the edited bins"):
                    e = adj.effect()
                table = Table(title="effect on the model (training data)")
                for col in ("", "AUC", "characteristics"):
                    table.add_column(col)
                table.add_row("fitted", f"{e['auc_before']:.4f}", ", ".join(e["selected_before"]))
                table.add_row("edited", f"{e['auc_after']:.4f}", ", ".join(e["selected_after"]))
                console.print(table)
            elif verb == "save":
                console.print(f"user_bins saved to {adj.save(out)}")
            else:
                try:
                    adj.apply(order[i], line)
                except CreditFactoryError as exc:
                    console.print(f"[red]error:[/] {exc}")
                    continue
                _show(adj, order[i])

    return adjust
