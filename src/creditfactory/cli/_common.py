"""Presentation helpers shared by the CLI commands: one console, one way to fail."""

from __future__ import annotations

import sys
from typing import NoReturn

import typer
from rich.console import Console

# wide enough for the summary tables when the output is a file or a CI log, not a terminal
console = Console(width=None if sys.stdout.isatty() else 140)
err_console = Console(stderr=True)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print a clear error (no stack trace) and exit with a non-zero status."""
    err_console.print(f"[bold red]error:[/] {message}", soft_wrap=True)
    raise typer.Exit(code)
