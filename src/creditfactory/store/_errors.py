"""Errors the store raises besides :mod:`creditfactory.exceptions` (the API maps them too)."""

from __future__ import annotations

from creditfactory.exceptions import CreditFactoryError


class NotFoundError(CreditFactoryError, LookupError):
    """A record does not exist (names the kind and the id)."""


class ConflictError(CreditFactoryError, RuntimeError):
    """A write conflicts with the current state (duplicate, already reviewed, reused key ...)."""


class AuthError(CreditFactoryError, PermissionError):
    """The caller is unknown (``status=401``) or lacks the role for an action (``status=403``)."""

    def __init__(self, message: str, status: int = 401):
        super().__init__(message)
        self.status = status
