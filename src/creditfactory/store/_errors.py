"""The store's errors live in the one error tree, :mod:`creditfactory.exceptions`; they are
re-exported here for the store's modules."""

from creditfactory.exceptions import AuthError, ConflictError, NotFoundError

__all__ = ["AuthError", "ConflictError", "NotFoundError"]
