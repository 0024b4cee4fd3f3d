"""What answers say about a decision: reason texts in the caller's language, the reasons an
applicant may be told, and money and rates rounded as people read them.

The stored decision keeps the engine's codes and full-precision figures (the ledger vouches for
those); answers present them: ``limit`` to the fen (2 dp), ``apr`` to 4 dp, half up.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from creditfactory.decision import (
    LANGS,
    ReasonCatalogue,
    ReasonText,
    Strategy,
    accept_language,
    resolve_lang,
)
from creditfactory.exceptions import CreditFactoryError, DataError
from creditfactory.store import Store, StrategyVersion, compile_source

_CENT, _BP = Decimal("0.01"), Decimal("0.0001")
_CACHE_MAX = 32  # compiled strategies kept for explanations (versions in use at once: a few)


def _round(value: float | None, step: Decimal) -> float | None:
    if value is None:
        return None
    return float(Decimal(repr(float(value))).quantize(step, rounding=ROUND_HALF_UP))


def money(value: float | None) -> float | None:
    """An amount to the fen, half up (``1234.565`` -> ``1234.57``).

    >>> money(1234.565), money(None), money(5000.0)
    (1234.57, None, 5000.0)
    """
    return _round(value, _CENT)


def rate(value: float | None) -> float | None:
    """A rate (APR) to 4 decimal places, half up (``0.183249999`` -> ``0.1832``).

    >>> rate(0.18325), rate(0.183249999)
    (0.1833, 0.1832)
    """
    return _round(value, _BP)


def lang_of(request: Request, lang: str | None) -> str:
    """The language of an answer: the ``lang`` query parameter, else the ``Accept-Language``
    header, else the service's ``lang`` setting.

    Raises
    ------
    RequestValidationError
        ``lang`` names a language the service does not speak (a 422 naming ``lang``).
    """
    if lang is not None:
        try:
            return resolve_lang(lang)
        except DataError as exc:
            raise RequestValidationError(
                [{"type": "enum", "loc": ("query", "lang"), "input": lang,
                  "msg": f"Input should be one of {', '.join(LANGS)}",
                  "ctx": {"expected": ", ".join(LANGS)}}]
            ) from exc  # fmt: skip
    default: str = request.app.state.settings.lang
    return accept_language(request.headers.get("accept-language"), default)


async def _lang(
    request: Request,
    lang: Annotated[
        str | None,
        Query(
            description="language of reason texts: en or zh-CN (else Accept-Language, else the "
            "service's setting)"
        ),
    ] = None,
) -> str:
    return lang_of(request, lang)


LangDep = Annotated[str, Depends(_lang)]


class Explainer:
    """Compiled strategies by name and version, for explaining stored and new decisions (a
    decision is explained by the strategy version that made it)."""

    def __init__(self, store: Store, max_bytes: int):
        self.store = store
        self.max_bytes = max_bytes
        self._cache: dict[tuple[str, str], Strategy | None] = {}
        self._lock = threading.Lock()

    def cached(self, name: str, version: str) -> Strategy | bool | None:
        """The compiled strategy if known (``None`` if it cannot be compiled), else ``False``."""
        return self._cache.get((name, version), False)

    def strategy(self, session: Session, name: str, version: str) -> Strategy | None:
        """The compiled version (``None`` when it is not stored or no longer compiles: its
        codes are then explained by the built-in texts only)."""
        key = (name, version)
        got = self._cache.get(key, False)
        if got is not False:
            return got  # type: ignore[return-value]
        row = session.execute(
            select(StrategyVersion).where(
                StrategyVersion.name == name, StrategyVersion.version == version
            )
        ).scalar_one_or_none()
        compiled: Strategy | None = None
        if row is not None:
            try:
                compiled = compile_source(
                    session, row.source, row.base_dir, max_bytes=self.max_bytes
                )
            except CreditFactoryError:  # e.g. a model it names is no longer registered
                compiled = None
        with self._lock:
            if len(self._cache) >= _CACHE_MAX:
                self._cache.clear()
            self._cache[key] = compiled
        return compiled

    async def strategy_async(self, name: str, version: str) -> Strategy | None:
        """:meth:`strategy` without blocking the event loop on a miss."""
        got = self.cached(name, version)
        if got is not False:
            return got  # type: ignore[return-value]

        def load() -> Strategy | None:
            with self.store.session() as session:
                return self.strategy(session, name, version)

        return await asyncio.to_thread(load)


def explained(
    strategy: Strategy | None,
    reasons: list[str],
    application: Mapping[str, Any] | None,
    lang: str,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``(explanations, adverse_action)`` as JSON-ready dicts: every reason with its text,
    kind and (for model reasons) value and points; then what the applicant may be told
    (``code`` and ``text`` only)."""
    if strategy is not None:
        every, told = strategy.explain_reasons(reasons, application, lang)
    else:
        catalogue = ReasonCatalogue.empty()
        every = catalogue.explain(reasons, application, lang)
        told = catalogue.adverse_action(every, lang) if reasons else []
    return [_public(r) for r in every], [{"code": r.code, "text": r.text} for r in told]


def _public(r: ReasonText) -> dict[str, Any]:
    out = r.to_dict()
    if out["points"] is not None:
        out["points"] = round(out["points"], 2)
    return out
