"""An application's JSON body, read strictly: what the HTTP front forwards and the factory parses.

A key repeated in an object, a non-finite number, nesting past :data:`MAX_DEPTH` or a body that
is not a JSON object is a :class:`BodyError` carrying field-level errors in FastAPI's shape
(``type``, ``loc``, ``msg``, ``input``), which the front presents as its 422 (the same body
FastAPI would give). Nothing here knows HTTP.
"""

from __future__ import annotations

import json
import math
from typing import Any

from creditfactory._nested import first_problem
from creditfactory.exceptions import DataError
from creditfactory.fraud import contact_problems

MAX_DEPTH = 32  # an application is a record: deeper nesting is an error, not data

_NOT_FINITE = (
    "Input should be a finite number (NaN, Infinity and numbers beyond 1.8e308 are not JSON "
    "numbers)"
)


class BodyError(DataError):
    """A request body that is not an application: ``errors`` locate each problem in it."""

    def __init__(self, errors: list[dict[str, Any]]):
        super().__init__(f"request body: {errors[0].get('msg', 'invalid')}")
        self.errors = errors


class RepeatedKeyError(ValueError):
    """An object names ``key`` more than once."""

    def __init__(self, key: str):
        super().__init__(f"the key {key!r} appears more than once in an object")
        self.key = key


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise RepeatedKeyError(key)
            seen.add(key)
    return out


# what json.loads(raw) does for bytes (UTF-8, -16 or -32), with every object's keys checked: a
# repeated key is an error, never silently the last one (one hook call per object, ~2 us a body)
_DECODER = json.JSONDecoder(object_pairs_hook=_unique_pairs)


def strict_loads(raw: bytes) -> Any:
    """``json.loads(raw)``, but a key repeated in an object raises :class:`RepeatedKeyError`.

    Raises
    ------
    RepeatedKeyError
        An object names a key twice (``.key`` names it).
    ValueError
        Not JSON (``json.JSONDecodeError``), or bytes that are not UTF-8, -16 or -32.

    Examples
    --------
    >>> strict_loads(b'{"a": 1, "b": {"a": 2}}')
    {'a': 1, 'b': {'a': 2}}
    >>> strict_loads(b'{"a": 1, "a": 2}')
    Traceback (most recent call last):
    ...
    creditfactory.factory._body.RepeatedKeyError: the key 'a' appears more than once in an object
    """
    return _DECODER.decode(raw.decode(json.detect_encoding(raw), "surrogatepass"))


def repeated_key_errors(exc: RepeatedKeyError) -> list[dict[str, Any]]:
    """The field error naming a repeated key (located in the body)."""
    return [{"type": "value_error", "loc": ("body", exc.key), "input": None,
             "msg": f"Value error, {exc}"}]  # fmt: skip


def parse_body(raw: bytes) -> dict[str, Any]:
    """The JSON object in a request body (what ``Body()`` of ``dict[str, Any]`` would accept).

    Raises
    ------
    BodyError
        The body is empty, not JSON, not an object, names a key twice in an object, holds a
        non-finite number or nests too deeply (field-level errors, located in the body).
    """
    if not raw:
        raise BodyError(
            [{"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}]
        )
    try:
        value = strict_loads(raw)
    except RepeatedKeyError as exc:
        raise BodyError(repeated_key_errors(exc)) from None
    except ValueError as exc:  # JSONDecodeError, or bytes that are not UTF-8/16/32
        pos = getattr(exc, "pos", 0)
        msg = getattr(exc, "msg", str(exc))
        raise BodyError(
            [{"type": "json_invalid", "loc": ("body", pos), "msg": "JSON decode error",
              "input": {}, "ctx": {"error": msg}}]
        ) from exc  # fmt: skip
    except RecursionError as exc:
        raise BodyError(
            [{"type": "json_invalid", "loc": ("body",), "msg": "JSON decode error",
              "input": {}, "ctx": {"error": "nested too deeply"}}]
        ) from exc  # fmt: skip
    if not isinstance(value, dict):
        # the input is echoed as FastAPI does, unless nested past MAX_DEPTH (a 500-level list
        # would then be encoded, and carried between processes, level by level)
        deep = isinstance(value, list) and first_problem(value, _fine, MAX_DEPTH) is not None
        raise BodyError(
            [{"type": "dict_type", "loc": ("body",), "msg": "Input should be a valid dictionary",
              "input": None if deep else value}]
        )  # fmt: skip
    problem = _problem(value)
    if problem is not None:
        path, message = problem
        raise BodyError(
            [{"type": "value_error", "loc": ("body", *path), "input": None, "msg": message}]
        )
    contacts = value.get("emergency_contacts")  # declared contacts: checked whatever decides
    if contacts is not None:
        wrong = contact_problems(contacts)
        if wrong:
            raise BodyError(
                [{"type": "value_error", "msg": msg, "input": None,
                  "loc": ("body", "emergency_contacts", *where)}
                 for where, msg in wrong]
            )  # fmt: skip
    return value


def _fine(_: Any, __: Any) -> None:
    return None


def _not_finite(_: Any, item: Any) -> str | None:
    return _NOT_FINITE if type(item) is float and not math.isfinite(item) else None


def _problem(value: dict[str, Any]) -> tuple[tuple[str | int, ...], str] | None:
    """Where a parsed body first holds a non-finite float (Python's JSON reader accepts ``NaN``
    and ``Infinity`` and reads ``1e400`` as infinity; JSON has none of them) or nests deeper
    than :data:`MAX_DEPTH`, and what is wrong there."""
    values = value.values()
    kinds = set(map(type, values))
    if dict not in kinds and list not in kinds:  # flat (the usual case): checked at C speed
        if float not in kinds:
            return None
        floats = [v for v in values if type(v) is float]
        # a NaN or an infinity makes the sum non-finite; so may (rarely) an overflow of finite
        # values, which the walk below then clears
        if math.isfinite(sum(floats)):
            return None
    deep = f"Input should be nested at most {MAX_DEPTH} levels deep"
    return first_problem(value, _not_finite, MAX_DEPTH, deep)
