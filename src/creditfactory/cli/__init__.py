"""The ``creditfactory`` command line: one Typer command group per lifecycle stage."""

from creditfactory.cli._app import app, main

__all__ = ["app", "main"]
