"""Strict JSON bodies: a key that appears twice in one object is a 422 naming it, on every
endpoint (Python's reader, and so FastAPI's, silently keeps the last one)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from creditfactory.factory import RepeatedKeyError, repeated_key_errors, strict_loads


def repeated_key_error(exc: RepeatedKeyError) -> RequestValidationError:
    """FastAPI's 422 naming the repeated key (located in the body)."""
    return RequestValidationError(repeated_key_errors(exc))


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
