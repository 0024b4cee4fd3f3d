"""An application as it is stored: JSON values only, serialised once, storable on every database;
and the generic error answering an application whose decision failed unexpectedly."""

from __future__ import annotations

import json
import logging
import math
import secrets
from collections.abc import Mapping
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from creditfactory._nested import first_problem, path_text, text_problem, unstorable
from creditfactory.audit import canonical_json
from creditfactory.decision import InputError
from creditfactory.exceptions import CreditFactoryError, DecisionFailedError
from creditfactory.store import Protector

_log = logging.getLogger("creditfactory.service")

CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


def json_payload(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The application as it will be stored: JSON values only (dates as ISO text, NaN as null).

    Raises
    ------
    DataError
        A value has no JSON form (the message names its type).

    Examples
    --------
    >>> from datetime import date
    >>> json_payload({"applied": date(2024, 1, 2), "x": float("nan")})
    {'applied': '2024-01-02', 'x': None}
    """
    try:
        json.dumps(payload, allow_nan=False)
        return dict(payload)
    except (TypeError, ValueError):
        return dict(json.loads(canonical_json(dict(payload))))


def canonical_payload(payload: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    """:func:`json_payload` and its canonical JSON text, serialised once.

    Raises
    ------
    DataError
        A value has no JSON form (the message names its type).
    InputError
        A field's name or text holds U+0000 or an unpaired surrogate (names the field).

    Examples
    --------
    >>> canonical_payload({"b": 1, "a": float("nan")})
    ({'a': None, 'b': 1}, '{"a":null,"b":1}')
    """
    try:  # the common case: plain JSON values already
        out, text = dict(payload), CANONICAL.encode(payload)
    except (TypeError, ValueError):
        text = canonical_json(dict(payload))
        out = dict(json.loads(text))
    # JSON's escape of U+0000 (or a backslash before "u0000"), or text UTF-8 cannot encode
    if "\\u0000" in text or text_problem(text) is not None:
        _reject_unstorable(out)
    return out, text


def protected_payload(
    payload: Mapping[str, Any], pii: Protector
) -> tuple[dict[str, Any], dict[str, Any], str] | None:
    """The application in clear (what is decided), as it is stored (its identifiers sealed by
    ``pii``) and the stored one's canonical JSON text, encoded once; None when
    :func:`canonical_payload` must be used instead (no identifier to seal, so its text is the
    stored one; or a value that is not plain JSON).

    The identifiers are checked before they are sealed, the rest in the stored text: the same
    fields are refused as by :func:`canonical_payload`, with the same error.

    Raises
    ------
    InputError
        A field's name or text holds U+0000 or an unpaired surrogate (names the field).
    """
    clear = dict(payload)
    names = pii.fields.intersection(clear)
    kinds = set(map(type, clear.values()))
    if not names or dict in kinds or list in kinds:  # nested: identifiers may hide below
        return None
    for name in names:  # each a JSON scalar (else the general path), its text storable
        value = clear[name]
        kind = type(value)
        if kind is str:
            if text_problem(value) is not None:
                _reject_unstorable(clear)
        elif kind is float:
            if not math.isfinite(value):
                return None
        elif not (value is None or kind is int or kind is bool):
            return None
    stored = pii.seal_fields(clear, names)
    try:
        text = CANONICAL.encode(stored)
    except (TypeError, ValueError):
        return None
    if "\\u0000" in text or text_problem(text) is not None:
        _reject_unstorable(clear)
    return clear, stored, text


def _reject_unstorable(payload: dict[str, Any]) -> None:
    """:class:`InputError` naming the first field whose name or text holds U+0000 or an
    unpaired surrogate: neither can be stored (PostgreSQL refuses U+0000, UTF-8 has no
    surrogates), and whether an application is accepted must not depend on the database."""
    found = first_problem(payload, unstorable)
    if found is not None:
        path, message = found
        field = path_text(path)
        raise InputError(f"application: {field}: {message}", [field])


def failed(exc: BaseException) -> DecisionFailedError:
    """The generic error answering an application whose decision raised ``exc`` unexpectedly;
    ``exc`` and its traceback are logged here, once, with a reference the answer repeats."""
    ref = secrets.token_hex(6)
    _log.error("deciding an application failed (reference %s)", ref, exc_info=exc)
    return DecisionFailedError(
        f"the application could not be decided: an internal error (reference {ref}); "
        "it was not stored"
    )


def own_fault(exc: BaseException) -> bool:
    """Whether ``exc`` is one application's unexpected failure (not an error raised on purpose,
    nor the database's, which is every application's)."""
    return isinstance(exc, Exception) and not isinstance(exc, CreditFactoryError | SQLAlchemyError)
