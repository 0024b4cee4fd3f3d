"""One error tree for the whole library.

::

    CreditFactoryError                      base of everything raised on purpose
    ├── ConfigError(ValueError)             a configuration value is invalid
    │   └── NotInstalledError               an endpoint's optional extra is not installed (api)
    ├── DataError(ValueError)               input data is wrong
    │   ├── SchemaError                     a table does not match its declared schema
    │   ├── ArtefactError                   a saved artefact is corrupt or of an unknown version
    │   ├── InputError                      an application does not match a strategy's inputs
    │   │                                   (decision; ``fields`` names them)
    │   ├── OutputError                     a strategy's output no loan can carry (decision)
    │   └── BodyError                       a request body that is not an application (factory;
    │                                       ``errors`` locate each problem)
    ├── NotFittedError(RuntimeError)        an estimator is used before ``fit``
    ├── StrategyError(ValueError)           a decision strategy is invalid
    │   ├── ExpressionError                 an expression in it is (decision)
    │   └── FileRefusedError                a file it names may not be read (decision)
    ├── NotFoundError(LookupError)          a stored record does not exist
    ├── ConflictError(RuntimeError)         a write conflicts with the stored state
    ├── DecisionFailedError(RuntimeError)   one application hit an unexpected error
    ├── EngineUnavailableError(RuntimeError)  the engine process stopped; retry (factory)
    ├── FactoryStoppedError(RuntimeError)   the in-process factory's loop stopped (factory)
    ├── ProtocolError(RuntimeError)         a frame that is not one of the factory's messages
    ├── UnsupportedMediaError(ValueError)   a body in a media type the endpoint does not take (api)
    ├── BusyError(RuntimeError)             too much slow work queued already; retry (api)
    └── AuthError(PermissionError)          the caller is unknown
        └── ForbiddenError                  the caller's role may not do this

Classes marked with a package are defined there (beside what raises them); the others here. No
error carries an HTTP status: the API maps classes to statuses (``api._errors``), the CLI to exit
codes. ``tests/test_exceptions.py`` checks that this drawing names every error class.

Library code raises these with a message naming the field (or column) and the reason; the CLI
and the API present them. Third-party errors are wrapped once, at the boundary, with
``raise ... from exc``.
"""

from __future__ import annotations


class CreditFactoryError(Exception):
    """Base class of every error creditfactory raises on purpose."""


class ConfigError(CreditFactoryError, ValueError):
    """A configuration value is invalid (names the field and the reason)."""


class DataError(CreditFactoryError, ValueError):
    """Input data is wrong (names the column and the reason)."""


class SchemaError(DataError):
    """A table does not match its declared schema.

    Carries the offending ``column`` and, where one row is to blame, its ``row``: the 1-based
    line number for CSV files (the header is line 1), the 0-based row index for Parquet files
    and in-memory frames.
    """

    def __init__(self, message: str, *, column: str | None = None, row: int | None = None):
        super().__init__(message)
        self.column = column
        self.row = row


class ArtefactError(DataError):
    """A saved artefact (model, strategy, portfolio) is corrupt or of an unknown version."""


class NotFittedError(CreditFactoryError, RuntimeError):
    """An estimator or transformer is used before it was fitted."""


class StrategyError(CreditFactoryError, ValueError):
    """A decision strategy is invalid (names the file, the line and the problem)."""


class NotFoundError(CreditFactoryError, LookupError):
    """A record does not exist (names the kind and the id)."""


class ConflictError(CreditFactoryError, RuntimeError):
    """A write conflicts with the current state (duplicate, already reviewed, reused key ...)."""


class DecisionFailedError(CreditFactoryError, RuntimeError):
    """Deciding one application raised an error nobody raised on purpose (a bug, an overflow in
    a strategy's formula): that application fails alone, with this generic message, and the
    original error and its traceback go to the server's log, never to the caller."""


class AuthError(CreditFactoryError, PermissionError):
    """The caller is unknown: no key, or a wrong or revoked one."""


class ForbiddenError(AuthError):
    """The caller is known but its role may not do this."""
