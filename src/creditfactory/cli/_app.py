"""The root Typer app; each stage's commands or sub-app are loaded when they run.

A command imports its own module only (``creditfactory strategy check`` does not import the
simulator, scikit-learn or the web stack): the root group lists each command with its one-line
help, written here, and imports the command's module when the command is resolved — to run it
or to print its own ``--help``. ``tests/cli/test_app.py`` checks that each line here is the
command's own help and that every command loads.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any

import typer
from typer import _click  # Typer's own Click (vendored since 0.29): its groups' types
from typer.core import TyperCommand, TyperGroup

# name: (the line the root --help shows, which is the command's own help; its loader). The
# loaders name their modules literally, so the architecture test sees these imports.
COMMANDS: dict[str, tuple[str, Callable[[], Any]]] = {
    "simulate": (
        "Simulate a lending book with known ground truth and print its summary.",
        lambda: import_module("creditfactory.cli._simulate").simulate,
    ),
    "demo": (
        "Simulate a book, fit a scorecard, run the reference strategy in batch against the\n"
        "incumbent, decide one application online, and exercise the decision service.",
        lambda: import_module("creditfactory.cli._demo").demo,
    ),
    "serve": (
        "Serve the decision API (settings from CREDITFACTORY_* variables; docs at /docs).",
        lambda: import_module("creditfactory.cli._serve").serve,
    ),
    "monitor": (
        "PSI/CSI, AUC/KS/Gini and calibration by month with alerts (terminal + offline HTML).",
        lambda: import_module("creditfactory.cli._monitor").monitor,
    ),
    "scorecard": (
        "Build and apply credit scorecards (binning, WOE, selection, points, reports).",
        lambda: import_module("creditfactory.cli._scorecard").app,
    ),
    "batch": (
        "Batch runs of a decision strategy.",
        lambda: import_module("creditfactory.cli._batch").app,
    ),
    "audit": (
        "The tamper-evident audit ledger.",
        lambda: import_module("creditfactory.cli._audit").app,
    ),
    "strategy": (
        "Decision strategies: validate and show the flow, back-test on a book.",
        lambda: import_module("creditfactory.cli._strategy").app,
    ),
    "pii": (
        "Personal identifiers in the store.",
        lambda: import_module("creditfactory.cli._pii").app,
    ),
    "collections": (
        "Collections: score-driven plans, queues, collector league tables, truth.",
        lambda: import_module("creditfactory.cli._collections").app,
    ),
    "report": (
        "Reports on a book: portfolio analytics (vintages, roll and flow rates, loss).",
        lambda: import_module("creditfactory.cli._report").app,
    ),
    "fraud": (
        "Anti-fraud: identity, velocity and ring features (反欺诈).",
        lambda: import_module("creditfactory.cli._fraud").app,
    ),
    "loans": (
        "Loans in the service: payments and positions.",
        lambda: import_module("creditfactory.cli._loans").app,
    ),
}


def load_command(name: str) -> _click.Command:
    """The Click command ``name`` (a sub-app's group or a single command), its module imported."""
    loader = COMMANDS[name][1]
    target = loader()
    command: _click.Command
    if isinstance(target, typer.Typer):  # a sub-app: a group, even with one command
        command = typer.main.get_group(target)
    else:  # a single command: a one-command app is that command
        single = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
        single.command(name)(target)
        command = typer.main.get_command(single)
    command.name = name
    return command


class _Listed(TyperCommand):
    """A command as the root's ``--help`` lists it, before its module is imported."""


class LazyGroup(TyperGroup):
    """The root group: its commands are listed from :data:`COMMANDS` and each is loaded when it
    is resolved (to run, or to print its own help), never to write the root's help."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self._listing = False
        for name, (summary, _) in COMMANDS.items():
            self.commands.setdefault(name, _Listed(name, help=summary))

    def get_command(self, ctx: _click.Context, cmd_name: str) -> _click.Command | None:
        command = self.commands.get(cmd_name)
        if isinstance(command, _Listed) and not self._listing:
            command = self.commands[cmd_name] = load_command(cmd_name)
        return command

    def format_help(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


app = typer.Typer(
    name="creditfactory",
    help="creditfactory: the full lifecycle of internet lending, from marketing to collections.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=LazyGroup,
)


@app.callback()
def _root() -> None:
    # Typer makes a group of an app with a callback or two commands; this app registers none
    pass


def main() -> None:
    """Console-script entry point."""
    app()
