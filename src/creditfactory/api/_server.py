"""Run the service: in this process (``serve``) or in a child process the caller stops."""

from __future__ import annotations

import gc
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from creditfactory.api._limits import check_settings
from creditfactory.exceptions import ConfigError
from creditfactory.settings import Settings


def serve(
    settings: Settings | None = None, host: str = "127.0.0.1", port: int = 8000, workers: int = 1
) -> None:
    """Serve the API with uvicorn until interrupted.

    With ``workers`` > 1, uvicorn runs that many processes on one socket. They read their
    settings from the ``CREDITFACTORY_*`` environment (``settings``, if given, must be the same);
    this process migrates the schema and bootstraps the admin key and strategy once, before
    they start, so that they do not race to do it. Each has its own writer; they share the
    ledger through its head-row lock.

    The connection limits of the settings (header, body and keep-alive timeouts, connection
    cap, backlog, header size) are uvicorn options (:mod:`creditfactory.api._protocol`).

    Raises
    ------
    ConfigError
        ``workers`` is below 1, an in-memory SQLite database is asked to be shared, or a
        setting is refused (a weak admin key).
    """
    import uvicorn

    from creditfactory.api._app import create_app
    from creditfactory.api._protocol import uvicorn_options

    if workers < 1:
        raise ConfigError(f"workers: {workers} is not a number of processes (>= 1)")
    settings = settings or Settings()
    check_settings(settings)
    options = uvicorn_options(settings)
    if workers == 1:
        app = create_app(settings)
        _freeze()
        uvicorn.run(app, host=host, port=port, log_level="warning", **options)
        return
    if settings.database_url in ("sqlite://", "sqlite:///:memory:"):
        raise ConfigError("workers: an in-memory SQLite database cannot be shared by processes")
    prepare(settings)
    os.environ["CREDITFACTORY_MIGRATE"] = "false"  # done: the workers only connect
    uvicorn.run(
        "creditfactory.api._server:worker_app", factory=True, workers=workers, host=host,
        port=port, log_level="warning", **options,
    )  # fmt: skip


def prepare(settings: Settings) -> None:
    """Migrate and bootstrap once, as a worker would at start-up, then let go of the database."""
    from creditfactory.api._app import bootstrap
    from creditfactory.store import Store

    store = Store(settings.database_url)
    try:
        if settings.migrate:
            store.migrate()
        bootstrap(store, settings)
    finally:
        store.dispose()


def worker_app() -> Any:
    """The app of one of several uvicorn workers (settings from the environment)."""
    from creditfactory.api._app import create_app

    app = create_app()
    _freeze()
    return app


def _freeze() -> None:
    # what start-up built (modules, the app, compiled strategies) lives as long as the process:
    # keeping it out of every later garbage collection saves a few per cent per request
    gc.collect()
    gc.freeze()


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free right now on ``host``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@dataclass
class ServerProcess:
    """A service started by :func:`start_server`; ``stop()`` ends it (also as a context)."""

    url: str
    process: subprocess.Popen[bytes]
    log: Any = None  # the file receiving the server's output

    def output(self) -> str:
        """What the server wrote so far."""
        if self.log is None or self.log.closed:
            return ""
        self.log.seek(0)
        return str(self.log.read().decode(errors="replace"))

    def stop(self, timeout: float = 10.0) -> int:
        """Stop the server (SIGTERM, then SIGKILL after ``timeout``); returns its exit code.

        uvicorn shuts down gracefully on SIGTERM and then re-raises it, so a clean stop
        returns ``-SIGTERM`` (or 0).
        """
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.log is not None and not self.log.closed:
            self.log.close()
        return int(self.process.returncode)

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_server(
    host: str = "127.0.0.1", port: int | None = None, env: Mapping[str, str] | None = None,
    timeout: float = 60.0, workers: int = 1, engine_process: bool | None = None,
) -> ServerProcess:  # fmt: skip
    """Start ``creditfactory serve`` in a child process and wait until ``/health`` answers.

    ``env`` adds ``CREDITFACTORY_*`` settings (database URL, admin key, strategy ...);
    ``engine_process`` passes ``--engine-process`` or ``--no-engine-process`` (by default the
    server decides, as ``serve`` does).

    Raises
    ------
    ConfigError
        The server exited or did not answer within ``timeout`` seconds (with its output).
    """
    import urllib.error
    import urllib.request

    port = port or free_port(host)
    code = "import sys; from creditfactory.cli import main; sys.argv[0] = 'creditfactory'; main()"
    cmd = [sys.executable, "-c", code, "serve", "--host", host, "--port", str(port)]
    if workers != 1:
        cmd += ["--workers", str(workers)]
    if engine_process is not None:
        cmd.append("--engine-process" if engine_process else "--no-engine-process")
    # a file, not a pipe: a chatty server must never block on a full pipe
    log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the server
    proc = subprocess.Popen(
        cmd, env={**os.environ, **(env or {})}, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://{host}:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log.seek(0)
            out = log.read().decode(errors="replace")
            log.close()
            raise ConfigError(f"server exited with status {proc.returncode}: {out.strip()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=1.0) as answer:
                if answer.status == 200:
                    return ServerProcess(url, proc, log)
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    ServerProcess(url, proc, log).stop()
    raise ConfigError(f"server did not answer on {url} within {timeout:g} s")
