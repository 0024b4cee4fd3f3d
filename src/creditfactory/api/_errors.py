"""One exception handler: creditfactory errors become HTTP statuses with clear bodies."""

from __future__ import annotations

import json
import logging
import math
import re
import sqlite3
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa

from creditfactory.decision import InputError
from creditfactory.exceptions import (
    ArtefactError,
    ConfigError,
    CreditFactoryError,
    DataError,
    DecisionFailedError,
    ForbiddenError,
    NotFittedError,
    StrategyError,
)
from creditfactory.factory import BodyError, EngineUnavailableError, FactoryStoppedError
from creditfactory.store import AuthError, ConflictError, NotFoundError, unavailable

_log = logging.getLogger("creditfactory.api")


class UnsupportedMediaError(CreditFactoryError, ValueError):
    """A body in a media type the endpoint does not take (415)."""


class NotInstalledError(ConfigError):
    """An endpoint whose optional extra is not installed (501)."""


class BusyError(CreditFactoryError, RuntimeError):
    """Too much slow work queued already (503 with ``Retry-After``)."""


_STATUS: list[tuple[type[Exception], int]] = [
    (UnsupportedMediaError, 415),
    (NotInstalledError, 501),  # before ConfigError, its base
    (BusyError, 503),
    (ForbiddenError, 403),  # before AuthError, its base
    (AuthError, 401),
    (EngineUnavailableError, 503),
    (FactoryStoppedError, 503),
    (NotFoundError, 404),
    (ConflictError, 409),
    (StrategyError, 422),
    (ArtefactError, 422),
    (DataError, 422),
    (ConfigError, 400),
    (NotFittedError, 500),
    (DecisionFailedError, 500),  # one application's unexpected error; logged where it arose
]


def status_of(exc: CreditFactoryError) -> int:
    """The HTTP status of an error (the first matching class in a fixed, specific-first list)."""
    for cls, status in _STATUS:
        if isinstance(exc, cls):
            return status
    return 400


def field_errors(exc: InputError) -> list[dict[str, object]]:
    """FastAPI-style field errors (``loc``, ``msg``, ``type``) from an engine input error."""
    text = str(exc).split(": ", 1)[1] if ": " in str(exc) else str(exc)
    out: list[dict[str, object]] = []
    for field in exc.fields:
        match = re.search(rf"(?:^|; ){re.escape(field)}: (.*?)(?=; [A-Za-z_]\w*: |$)", text)
        msg = match.group(1) if match else "invalid"
        out.append({"loc": ["body", field], "msg": msg, "type": "value_error"})
    return out


async def handle(request: Request, exc: Exception) -> JSONResponse:
    """The handler registered for :class:`CreditFactoryError`."""
    assert isinstance(exc, CreditFactoryError)
    if isinstance(exc, BodyError):  # FastAPI's own 422 for a body it could not read
        return await handle_validation(request, RequestValidationError(exc.errors))
    if isinstance(exc, InputError):
        return JSONResponse(status_code=422, content={"detail": field_errors(exc)})
    status = status_of(exc)
    headers = {"WWW-Authenticate": "APIKey"} if status == 401 else None
    if isinstance(exc, BusyError):
        headers = {"Retry-After": "1"}
    return JSONResponse(status_code=status, content={"detail": str(exc)}, headers=headers)


class _EchoJSON(JSONResponse):
    """JSON whose echoed input may hold what a JSON body can carry but UTF-8 or strict JSON
    cannot: an unpaired surrogate (written as its ``\\udXXX`` escape) or NaN (as text)."""

    def render(self, content: Any) -> bytes:
        try:
            text = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        except ValueError:  # NaN or Infinity in an echoed input
            text = json.dumps(_finite(content), ensure_ascii=False, separators=(",", ":"))
        return text.encode("utf-8", "backslashreplace")


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


async def handle_validation(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's 422 for request validation errors (the same body), whatever the input held."""
    assert isinstance(exc, RequestValidationError)
    return _EchoJSON(status_code=422, content={"detail": jsonable_encoder(exc.errors())})


RETRY_AFTER_OUTAGE = 1  # seconds: a database back from a restart answers within about that

# what the database drivers raise, wherever a route or the engine meets them
_DATABASE_ERRORS = (sa.DBAPIError, sa.DisconnectionError, sa.TimeoutError, psycopg.Error,
                    sqlite3.Error)  # fmt: skip


async def handle_database(request: Request, exc: Exception) -> JSONResponse:
    """503 with ``Retry-After`` while the database cannot be reached; any other database error
    is re-raised (a 500, logged with its traceback).

    A connection lost during a commit leaves unknown whether it was committed: a retry with
    the same Idempotency-Key is safe either way (it replays what was stored, or decides anew).
    """
    if not unavailable(exc):
        raise exc
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    _log.warning("database unavailable (%s: %s): answered 503", type(exc).__name__, first_line)
    return JSONResponse(
        status_code=503,
        content={"detail": "the database is unavailable; retry (with the same Idempotency-Key)"},
        headers={"Retry-After": str(RETRY_AFTER_OUTAGE)},
    )


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(CreditFactoryError, handle)
    app.add_exception_handler(RequestValidationError, handle_validation)
    for cls in _DATABASE_ERRORS:
        app.add_exception_handler(cls, handle_database)
