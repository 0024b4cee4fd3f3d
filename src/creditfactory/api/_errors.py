"""One exception handler: creditfactory errors become HTTP statuses with clear bodies."""

from __future__ import annotations

import re

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from creditfactory.api._engine import EngineUnavailableError
from creditfactory.decision import InputError
from creditfactory.exceptions import (
    ArtefactError,
    ConfigError,
    CreditFactoryError,
    DataError,
    NotFittedError,
    StrategyError,
)
from creditfactory.store import AuthError, ConflictError, NotFoundError

_STATUS: list[tuple[type[Exception], int]] = [
    (EngineUnavailableError, 503),
    (NotFoundError, 404),
    (ConflictError, 409),
    (StrategyError, 422),
    (ArtefactError, 422),
    (DataError, 422),
    (ConfigError, 400),
    (NotFittedError, 500),
]


def status_of(exc: CreditFactoryError) -> int:
    """The HTTP status of an error (the first matching class in a fixed, specific-first list)."""
    if isinstance(exc, AuthError):
        return exc.status
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
    if isinstance(exc, InputError):
        return JSONResponse(status_code=422, content={"detail": field_errors(exc)})
    status = status_of(exc)
    headers = {"WWW-Authenticate": "APIKey"} if status == 401 else None
    return JSONResponse(status_code=status, content={"detail": str(exc)}, headers=headers)


def install(app: FastAPI) -> None:
    """Register the handler on ``app``."""
    app.add_exception_handler(CreditFactoryError, handle)
