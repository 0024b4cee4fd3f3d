"""``create_app(settings)``: the FastAPI application of the decision service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from creditfactory.api import (
    _applications,
    _audit,
    _decisions,
    _keys,
    _lists,
    _models,
    _reviews,
    _strategies,
)
from creditfactory.api._engine import EngineClient, engine_wanted
from creditfactory.api._errors import install
from creditfactory.api._settings import Settings
from creditfactory.decision import FileAccess
from creditfactory.exceptions import ConfigError, StrategyError
from creditfactory.store import (
    DecisionService,
    Store,
    activate,
    active_strategy,
    add_key,
    add_strategy,
    count_keys,
    list_strategies,
)

ROUTERS = (
    _applications, _decisions, _strategies, _models, _lists, _keys, _reviews, _audit,
)  # fmt: skip


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the service: connect (and migrate) the store, bootstrap, mount the routers.

    Nothing happens at import time; everything comes from ``settings`` (by default read from
    ``CREDITFACTORY_*`` environment variables). OpenAPI is served at ``/docs``. With an engine
    process (``settings.engine_process``, by default on with two or more CPUs), the app starts
    it when it starts (its lifespan) and stops it when it stops.

    Raises
    ------
    ConfigError
        A setting is invalid (an engine process with an in-memory SQLite database, ...).
    """
    settings = settings or Settings()
    use_engine = engine_wanted(settings)
    store = Store(settings.database_url)
    if settings.migrate:
        store.migrate()
    bootstrap(store, settings)
    service = decision_service(store, settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if use_engine:
            engine = EngineClient(settings)
            await engine.start()
            app.state.engine = engine
            service.on_invalidate.append(engine.invalidate)
        try:
            yield
        finally:
            if app.state.engine is not None:
                service.on_invalidate.remove(app.state.engine.invalidate)
                await app.state.engine.close()
                app.state.engine = None
            service.close()  # write what is queued, then stop the writer thread

    app = FastAPI(
        lifespan=lifespan,
        title="creditfactory decision service",
        version="1",
        description="Decide applications, explain and review decisions, audit every change.",
    )
    app.state.settings = settings
    app.state.store = store
    app.state.service = service
    app.state.engine = None  # an EngineClient while the app runs with engine_process
    app.state.auth_cache = {}
    install(app)
    for module in ROUTERS:
        app.include_router(module.router)

    @app.get("/health", tags=["health"])
    def health() -> dict[str, Any]:
        """Liveness, and where decisions are made (``process``: an engine process beside this
        one; ``in-process``); no authentication."""
        return {"status": "ok", "engine": "in-process" if app.state.engine is None else "process"}

    return app


def decision_service(store: Store, settings: Settings) -> DecisionService:
    """The decision service the settings describe (list secret, QC rate and seed)."""
    secret = None if settings.list_secret is None else settings.list_secret.get_secret_value()
    service = DecisionService(store, secret, settings.qc_rate, settings.qc_seed)
    service.file_max_bytes = settings.strategy_file_max_bytes
    return service


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
