"""The store's errors live in the one error tree, :mod:`creditfactory.exceptions`; they are
re-exported here for the store's modules, beside :func:`unavailable`, which tells a database
that cannot be reached from a request the database refused."""

from __future__ import annotations

import sqlite3

import psycopg
from sqlalchemy import exc as sa

from creditfactory.exceptions import AuthError, ConflictError, NotFoundError

# the database (or the way to it) is gone for now: connection refused or lost, a pool with no
# connection to give; a retry may succeed
_UNAVAILABLE: tuple[type[BaseException], ...] = (
    sa.DisconnectionError,
    sa.TimeoutError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
)
# SQLite's OperationalError also means "no such table" or a syntax error (a bug, not an outage):
# only these say the file cannot be used right now
_SQLITE_UNAVAILABLE = ("locked", "busy", "unable to open", "disk i/o", "readonly", "disk is full")


def unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database cannot be used right now (answer 503 and retry), as
    opposed to a statement it refused (a bug, or a constraint).

    Examples
    --------
    >>> import psycopg
    >>> unavailable(psycopg.OperationalError("connection refused")), unavailable(ValueError())
    (True, False)
    """
    if isinstance(exc, sa.DBAPIError) and exc.orig is not None:
        if exc.connection_invalidated:
            return True
        exc = exc.orig
    if isinstance(exc, sqlite3.OperationalError):
        return any(word in str(exc).lower() for word in _SQLITE_UNAVAILABLE)
    return isinstance(exc, _UNAVAILABLE)


__all__ = ["AuthError", "ConflictError", "NotFoundError", "unavailable"]
