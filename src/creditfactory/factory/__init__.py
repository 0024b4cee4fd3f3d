"""The credit factory's unit of work: decide (lists screened inside the strategy) → persist → chain,
one path for every mode.

:class:`Factory` takes a batch of applications (:class:`Decide` messages) and gives one outcome
per application; :meth:`Factory.handle` is the loop body, run on a thread fed by a queue
(:class:`InProcess`) or in an engine process beside the HTTP front (:class:`EngineClient`). The
HTTP front (:mod:`creditfactory.api`) only validates, forwards and answers; the store
(:mod:`creditfactory.store`) keeps the tables, the ledger and the group-commit writer. See
docs/service.md, "One path".
"""

from creditfactory.factory._body import (
    BodyError,
    RepeatedKeyError,
    parse_body,
    repeated_key_errors,
    strict_loads,
)
from creditfactory.factory._config import FactoryConfig
from creditfactory.factory._engine import EngineClient, EngineUnavailableError
from creditfactory.factory._inprocess import FactoryStoppedError, InProcess
from creditfactory.factory._messages import (
    VERSION,
    Close,
    Decide,
    Decided,
    ErrorState,
    Failed,
    Invalidate,
    ProtocolError,
    Ready,
    Start,
)
from creditfactory.factory._outcome import (
    Answer,
    ApplicationDecision,
    Outcome,
    ReviewPublic,
    answer,
)
from creditfactory.factory._payload import canonical_payload, json_payload
from creditfactory.factory._unit import Factory, find_replay

__all__ = [
    "VERSION",
    "Answer",
    "ApplicationDecision",
    "BodyError",
    "Close",
    "Decide",
    "Decided",
    "EngineClient",
    "EngineUnavailableError",
    "ErrorState",
    "Factory",
    "FactoryConfig",
    "FactoryStoppedError",
    "Failed",
    "InProcess",
    "Invalidate",
    "Outcome",
    "ProtocolError",
    "Ready",
    "RepeatedKeyError",
    "ReviewPublic",
    "Start",
    "answer",
    "canonical_payload",
    "find_replay",
    "json_payload",
    "parse_body",
    "repeated_key_errors",
    "strict_loads",
]
