"""``create_app(settings)``: the FastAPI application of the decision service."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from creditfactory import web
from creditfactory.api import (
    _applications,
    _audit,
    _decisions,
    _id_cards,
    _keys,
    _lists,
    _loans,
    _models,
    _reviews,
    _strategies,
)
from creditfactory.api._deps import PERMISSIONS
from creditfactory.api._errors import install
from creditfactory.api._explain import Explainer
from creditfactory.api._limits import Limits, LimitsMiddleware, check_settings
from creditfactory.api._openapi import install_openapi
from creditfactory.decision import FileAccess
from creditfactory.exceptions import ConfigError, StrategyError
from creditfactory.factory import EngineClient, Factory, FactoryConfig, InProcess
from creditfactory.settings import Settings
from creditfactory.store import (
    Anchorer,
    Protector,
    Store,
    activate,
    active_strategy,
    add_key,
    add_strategy,
    check_authority,
    count_keys,
    list_strategies,
)

ROUTERS = (
    _applications, _decisions, _strategies, _models, _lists, _keys, _reviews, _audit, _loans,
    _id_cards,
)  # fmt: skip


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the service: connect (and migrate) the store, bootstrap, mount the routers.

    Nothing happens at import time; everything comes from ``settings`` (by default read from
    ``CREDITFACTORY_*`` environment variables). OpenAPI is served at ``/docs`` (offline:
    Swagger UI's assets from the installed package), with the active strategy's inputs as the
    application body. With an engine
    process (``settings.engine_process``, by default on with two or more CPUs), the app starts
    it when it starts (its lifespan) and stops it when it stops.

    Raises
    ------
    ConfigError
        A setting is invalid (an engine process with an in-memory SQLite database, a weak
        admin key ...).
    """
    settings = settings or Settings()
    check_settings(settings)
    use_engine = engine_wanted(settings)
    store = Store(settings.database_url)
    if settings.migrate:
        store.migrate()
    bootstrap(store, settings)
    try:
        check_ledger_on_start(store, settings)
    except ConfigError:
        store.dispose()  # no connection left behind by an app that did not start
        raise
    config = factory_config(settings)
    pii = protector(settings)
    anchorer = anchorer_for(store, settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # the one path: a thread of this process, or an engine process, runs the factory
        factory = EngineClient(config) if use_engine else InProcess(Factory(config, store, pii))
        await factory.start()
        app.state.factory = factory
        anchoring = None if anchorer is None else asyncio.create_task(keep_anchoring(anchorer))
        try:
            yield
        finally:
            if anchoring is not None:
                anchoring.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await anchoring
            await factory.close()  # answer what was sent, then stop
            app.state.factory = None
            if anchorer is not None:  # the head as the service leaves it
                await asyncio.to_thread(_anchor_quietly, anchorer, True)

    app = FastAPI(
        lifespan=lifespan,
        title="creditfactory decision service",
        version="1",
        description="Decide applications, explain and review decisions, audit every change.",
        docs_url=None,  # served from the installed Swagger UI assets (install_openapi)
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.store = store
    app.state.pii = pii  # reveals stored identifiers to the roles that may see them
    app.state.explainer = Explainer(store, settings.strategy_file_max_bytes)
    app.state.factory = None  # InProcess or EngineClient while the app runs
    app.state.auth_cache = {}
    app.state.auth_wrong = {}  # wrong keys, remembered as briefly as good ones
    app.state.limits = Limits(settings, known=app.state.auth_cache)
    app.add_middleware(LimitsMiddleware, limits=app.state.limits)
    install(app)
    for module in ROUTERS:
        app.include_router(module.router)
    install_openapi(app)
    web.install(app, PERMISSIONS)  # the dashboard under /ui/, with the same roles

    @app.get("/health", tags=["health"])
    def health() -> dict[str, Any]:
        """Liveness, and where decisions are made (``process``: an engine process beside this
        one; ``in-process``); no authentication."""
        factory = app.state.factory
        return {"status": "ok", "engine": "in-process" if factory is None else factory.mode}

    return app


_log = logging.getLogger("creditfactory.audit")


def check_ledger_on_start(store: Store, settings: Settings) -> None:
    """Keys and strategies the ledger does not vouch for: refuse to start, or log each.

    Raises
    ------
    ConfigError
        With ``ledger_check_on_start="refuse"``, the first problem found.
    """
    if settings.ledger_check_on_start == "off":
        return
    with store.session() as session:
        problems = check_authority(session)
    for p in problems:
        _log.error(
            "audit: ledger check at start-up: %s at entry %s: %s", p.problem, p.seq, p.detail
        )
    if problems and settings.ledger_check_on_start == "refuse":
        first = problems[0]
        raise ConfigError(
            f"ledger_check_on_start: {first.problem}: {first.detail} ({len(problems)} problem(s);"
            " see creditfactory audit verify)"
        )


def anchorer_for(store: Store, settings: Settings) -> Anchorer | None:
    """The anchorer of the settings' anchor file (``None`` without one)."""
    if settings.anchor_file is None:
        return None
    if settings.anchor_key is None:
        raise ConfigError("anchor_key: set CREDITFACTORY_ANCHOR_KEY to sign the anchor file")
    return Anchorer(
        store, settings.anchor_file, settings.anchor_key.get_secret_value(),
        settings.anchor_every_seconds, settings.anchor_every_entries,
    )  # fmt: skip


def _anchor_quietly(anchorer: Anchorer, force: bool = False) -> None:
    try:
        anchorer.tick(force)
    except Exception as exc:  # a full disk must not stop decisions; it is logged each time
        _log.error("audit: cannot anchor the ledger head: %s: %s", type(exc).__name__, exc)


async def keep_anchoring(anchorer: Anchorer) -> None:
    """Anchor the head at start and then whenever it is due (checked once a second at most)."""
    await asyncio.to_thread(_anchor_quietly, anchorer, True)
    poll = min(1.0, anchorer.every_seconds)
    while True:
        await asyncio.sleep(poll)
        await asyncio.to_thread(_anchor_quietly, anchorer)


def engine_wanted(settings: Settings) -> bool:
    """Whether the app decides in an engine process: ``settings.engine_process``, or by default
    on a POSIX system with two or more CPUs and a database another process can open.

    Raises
    ------
    ConfigError
        An engine process is asked for with an in-memory SQLite database, or off POSIX.
    """
    memory = settings.database_url in ("sqlite://", "sqlite:///:memory:")
    posix = os.name == "posix"  # the socket pair is handed to the child as a file descriptor
    if settings.engine_process is None:
        return posix and not memory and (os.cpu_count() or 1) >= 2
    if settings.engine_process and memory:
        raise ConfigError("engine_process: an in-memory SQLite database cannot be shared")
    if settings.engine_process and not posix:
        raise ConfigError("engine_process: needs a POSIX system (Linux, macOS)")
    return settings.engine_process


def factory_config(settings: Settings) -> FactoryConfig:
    """What the factory is built from, taken from the settings (list secret, QC rate and seed,
    protection of personal identifiers, the largest strategy file)."""

    def secret(value: Any) -> str | None:
        return None if value is None else str(value.get_secret_value())

    return FactoryConfig(
        database_url=settings.database_url, list_secret=secret(settings.list_secret),
        qc_rate=settings.qc_rate, qc_seed=settings.qc_seed, pii_key=secret(settings.pii_key),
        pii_fields=settings.pii_fields,
        strategy_file_max_bytes=settings.strategy_file_max_bytes,
    )  # fmt: skip


def protector(settings: Settings) -> Protector:
    """How the settings protect personal identifiers (:class:`creditfactory.store.Protector`);
    without an encryption key, a warning says identifiers are kept as hashes only.

    Raises
    ------
    ConfigError
        ``pii_key`` is malformed (the message never shows a key).
    """
    key = None if settings.pii_key is None else settings.pii_key.get_secret_value()
    secret = None if settings.list_secret is None else settings.list_secret.get_secret_value()
    out = Protector.configured(key, secret, settings.pii_fields)
    if out.mode != "encrypt":
        logging.getLogger("creditfactory.service").warning(
            "CREDITFACTORY_PII_KEY is not set: personal identifiers are stored as %s only and "
            "cannot be recovered",
            "keyed hashes" if out.mode == "hash" else "redactions",
        )
    return out


def bootstrap(store: Store, settings: Settings) -> None:
    """Create the admin key when there is none and activate the strategy file when none is
    active (both from ``settings``); nothing when both exist.

    The strategy file's folder is stored with it: its ``file:`` lists and ``path:`` models may
    read regular files inside that folder only (no ``..`` or symbolic link out of it), of at
    most ``strategy_file_max_bytes`` each, now and whenever the version is compiled again.
    """
    with store.session() as session:
        if settings.admin_key is not None and count_keys(session) == 0:
            add_key(session, "admin", "admin", settings.admin_key.get_secret_value(), "bootstrap")
        if settings.strategy is not None and active_strategy(session) is None:
            limit = settings.strategy_file_max_bytes
            real = settings.strategy.resolve()
            try:
                source = FileAccess.under(real.parent, limit).read_text(real.name)
            except StrategyError as exc:
                raise ConfigError(f"strategy: cannot read {settings.strategy}: {exc}") from exc
            base = str(real.parent)
            same = [r for r in list_strategies(session) if r.source == source]
            same.sort(key=lambda r: r.base_dir != base)  # one stored from this folder first
            if not same:
                same = [add_strategy(session, source, "bootstrap", base, max_bytes=limit)]
            row = same[0]
            activate(session, row.id, "bootstrap", max_bytes=limit)
