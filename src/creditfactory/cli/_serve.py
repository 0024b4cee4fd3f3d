"""``creditfactory serve``: the decision service on uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from creditfactory.cli._common import console, fail
from creditfactory.exceptions import CreditFactoryError


def serve(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, help="processes serving the port (settings from the environment)")
    ] = 1,
    engine_process: Annotated[
        bool | None,
        typer.Option(
            "--engine-process/--no-engine-process",
            help="decide in a process of its own beside the HTTP front (default: with 2+ CPUs)",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Serve the decision API (settings from CREDITFACTORY_* variables; docs at /docs)."""
    import os

    from pydantic import ValidationError

    from creditfactory.api import serve as run
    from creditfactory.settings import Settings

    if engine_process is not None:  # through the environment: --workers reads it there
        os.environ["CREDITFACTORY_ENGINE_PROCESS"] = str(engine_process).lower()
    try:
        settings = Settings()
    except ValidationError as exc:
        fail(f"invalid CREDITFACTORY_* settings: {exc}")
    shown = "" if workers == 1 else f", {workers} workers"
    console.print(f"creditfactory service on http://{host}:{port} (docs at /docs{shown})")
    try:
        run(settings, host=host, port=port, workers=workers)
    except CreditFactoryError as exc:
        fail(str(exc))
