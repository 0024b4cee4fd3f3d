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
from creditfactory.api._limits import Limits, LimitsMiddleware, check_settings
from creditfactory.api._settings import Settings
from creditfactory.exceptions import ConfigError
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
    app.state.auth_wrong = {}  # wrong keys, remembered as briefly as good ones
    app.state.limits = Limits(settings, known=app.state.auth_cache)
    app.add_middleware(LimitsMiddleware, limits=app.state.limits)
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
    return DecisionService(store, secret, settings.qc_rate, settings.qc_seed)


def bootstrap(store: Store, settings: Settings) -> None:
    """Create the admin key when there is none and activate the strategy file when none is
    active (both from ``settings``); nothing when both exist."""
    with store.session() as session:
        if settings.admin_key is not None and count_keys(session) == 0:
            add_key(session, "admin", "admin", settings.admin_key.get_secret_value(), "bootstrap")
        if settings.strategy is not None and active_strategy(session) is None:
            try:
                source = settings.strategy.read_text(encoding="utf-8")
            except OSError as exc:
                raise ConfigError(f"strategy: cannot read {settings.strategy}: {exc}") from exc
            base = str(settings.strategy.resolve().parent)
            same = [r for r in list_strategies(session) if r.source == source]
            row = same[0] if same else add_strategy(session, source, "bootstrap", base)
            activate(session, row.id, "bootstrap")
