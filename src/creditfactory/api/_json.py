"""Strict JSON bodies: a key that appears twice in one object is a 422 naming it, on every
endpoint (Python's reader, and so FastAPI's, silently keeps the last one)."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute


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
    creditfactory.api._json.RepeatedKeyError: the key 'a' appears more than once in an object
    """
    return _DECODER.decode(raw.decode(json.detect_encoding(raw), "surrogatepass"))


def repeated_key_error(exc: RepeatedKeyError) -> RequestValidationError:
    """FastAPI's 422 naming the repeated key (located in the body)."""
    return RequestValidationError(
        [{"type": "value_error", "loc": ("body", exc.key), "input": None,
          "msg": f"Value error, {exc}"}]
    )  # fmt: skip


class StrictJSONRoute(APIRoute):
    """A route whose JSON body is read with :func:`strict_loads` (``route_class`` of every
    router of the service); routes without a declared body are left as they are."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if self.body_field is None:  # no body FastAPI would parse (the hot path reads its own)
            return handler

        async def strict(request: Request) -> Response:
            # read here, not inside FastAPI's body parsing, which turns any error but a
            # JSONDecodeError into a bare 400; what parses is handed on (Request caches it)
            if request.method in ("POST", "PUT", "PATCH") and "json" in request.headers.get(
                "content-type", ""
            ):
                raw = await request.body()
                if raw:
                    try:
                        request._json = strict_loads(raw)
                    except RepeatedKeyError as exc:
                        raise repeated_key_error(exc) from None
                    except UnicodeDecodeError as exc:  # FastAPI's own answer: a bare 400
                        raise RequestValidationError(
                            [{"type": "json_invalid", "loc": ("body", exc.start),
                              "msg": "JSON decode error", "input": {},
                              "ctx": {"error": "not UTF-8, UTF-16 or UTF-32 text"}}]
                        ) from None  # fmt: skip
                    except RecursionError:  # FastAPI's own answer would be a 500
                        raise RequestValidationError(
                            [{"type": "json_invalid", "loc": ("body",),
                              "msg": "JSON decode error", "input": {},
                              "ctx": {"error": "nested too deeply"}}]
                        ) from None  # fmt: skip
                    except ValueError:
                        pass  # not JSON: FastAPI answers its own 422
            return await handler(request)

        return strict
