"""Presentation helpers shared by the CLI commands: one console, one way to fail."""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console

console = Console()
err_console = Console(stderr=True)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print a clear error (no stack trace) and exit with a non-zero status."""
    err_console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)
