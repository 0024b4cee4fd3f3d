"""The root Typer app; each stage registers its commands or sub-app here."""

from __future__ import annotations

import typer

from creditfactory.cli._audit import app as audit_app
from creditfactory.cli._batch import app as batch_app
from creditfactory.cli._collections import app as collections_app
from creditfactory.cli._demo import demo
from creditfactory.cli._fraud import app as fraud_app
from creditfactory.cli._loans import app as loans_app
from creditfactory.cli._monitor import monitor
from creditfactory.cli._pii import app as pii_app
from creditfactory.cli._report import app as report_app
from creditfactory.cli._scorecard import app as scorecard_app
from creditfactory.cli._serve import serve
from creditfactory.cli._simulate import simulate
from creditfactory.cli._strategy import app as strategy_app

app = typer.Typer(
    name="creditfactory",
    help="creditfactory: the full lifecycle of internet lending, from marketing to collections.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("simulate")(simulate)
app.command("demo")(demo)
app.add_typer(scorecard_app, name="scorecard")
app.command("serve")(serve)
app.add_typer(batch_app, name="batch")
app.add_typer(audit_app, name="audit")
app.add_typer(strategy_app, name="strategy")
app.add_typer(pii_app, name="pii")
app.add_typer(collections_app, name="collections")
app.add_typer(report_app, name="report")
app.command("monitor")(monitor)
app.add_typer(fraud_app, name="fraud")
app.add_typer(loans_app, name="loans")


def main() -> None:
    """Console-script entry point."""
    app()
