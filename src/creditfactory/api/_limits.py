"""Limits: body size, fields of an application, requests a second per key and per client
address, failed authentications per address, and strong bootstrap keys.

The size and per-address checks are one pure ASGI middleware (:class:`LimitsMiddleware`, a few
microseconds a request); the per-key and failed-authentication checks run where the key is
resolved (:func:`creditfactory.api._deps.get_caller`); the connection-level limits (timeouts,
connection cap, backlog) are uvicorn options set by :func:`creditfactory.api._server.serve`.
Every counter lives in the memory of one process: with ``--workers N`` each worker counts alone.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import time
from collections import Counter
from collections.abc import Hashable, Mapping
from typing import Any

from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from creditfactory.exceptions import ConfigError
from creditfactory.settings import Settings

_log = logging.getLogger("creditfactory.api")

TABLE_SIZE = 10_000  # names (addresses, keys) a table of buckets tracks at most
UPLOADS = ("/v1/strategies", "/v1/models", "/v1/lists")  # bodies up to max_upload_bytes
IMAGES = "/v1/id-cards/"  # bodies up to max_image_bytes
KEY_MIN_LENGTH = 24
KEY_MIN_BITS = 56


class TokenBuckets:
    """Token buckets by name: ``rate`` tokens a second, up to ``burst``; at most ``size`` names.

    A bucket that has filled up again is the same as no bucket, so those are forgotten first
    when the table is full; if that is not enough, the oldest half go (they start full again:
    an attacker with more than ``size / 2`` names at once gains a burst each, nothing more).

    Examples
    --------
    >>> b = TokenBuckets(rate=1.0, burst=2)
    >>> [b.take("x", now=0.0), b.take("x", now=0.0), b.take("x", now=0.0)]
    [0.0, 0.0, 1.0]
    >>> b.take("x", now=1.0)
    0.0
    """

    def __init__(self, rate: float, burst: int, size: int = TABLE_SIZE):
        self.rate = rate
        self.burst = float(burst)
        self.size = size
        self._buckets: dict[Hashable, list[float]] = {}  # name -> [tokens, at, taken]

    def __len__(self) -> int:
        return len(self._buckets)

    def __contains__(self, name: Hashable) -> bool:
        return name in self._buckets

    def wait(self, name: Hashable, now: float | None = None) -> float:
        """Seconds until ``name`` may take a token (0.0: now), taking none."""
        bucket = self._buckets.get(name)
        if bucket is None:
            return 0.0
        now = time.monotonic() if now is None else now
        tokens = min(self.burst, bucket[0] + (now - bucket[1]) * self.rate)
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.rate

    def take(self, name: Hashable, now: float | None = None) -> float:
        """Take a token for ``name``: 0.0 if there was one, else the seconds until there is."""
        now = time.monotonic() if now is None else now
        bucket = self._buckets.get(name)
        if bucket is None:
            if len(self._buckets) >= self.size:
                self._evict(now)
            self._buckets[name] = [self.burst - 1.0, now, 1.0]
            return 0.0
        tokens = bucket[0] + (now - bucket[1]) * self.rate
        if tokens >= self.burst:  # full again: a fresh start
            tokens, bucket[2] = self.burst, 0.0
        bucket[1] = now
        if tokens >= 1.0:
            bucket[0] = tokens - 1.0
            bucket[2] += 1.0
            return 0.0
        bucket[0] = tokens
        return (1.0 - tokens) / self.rate

    def give(self, name: Hashable) -> None:
        """Give back a token taken for ``name`` (a reservation that was not needed)."""
        bucket = self._buckets.get(name)
        if bucket is not None:
            bucket[0] = min(self.burst, bucket[0] + 1.0)
            bucket[2] = max(0.0, bucket[2] - 1.0)

    def taken(self, name: Hashable) -> int:
        """Tokens ``name`` took since its bucket was last full."""
        bucket = self._buckets.get(name)
        return 0 if bucket is None else int(bucket[2])

    def _evict(self, now: float) -> None:
        rate, burst = self.rate, self.burst
        full = [k for k, (t, at, _) in self._buckets.items() if t + (now - at) * rate >= burst]
        for k in full:
            del self._buckets[k]
        if len(self._buckets) > self.size // 2:
            for k in list(itertools.islice(self._buckets, len(self._buckets) - self.size // 2)):
                del self._buckets[k]


def retry_after(wait: float) -> str:
    """A ``Retry-After`` value: whole seconds, at least 1."""
    return str(max(1, math.ceil(wait)))


class TooManyRequests(HTTPException):
    """429 with ``Retry-After``."""

    def __init__(self, detail: str, wait: float):
        super().__init__(429, detail, {"Retry-After": retry_after(wait)})


class BodyTooLarge(HTTPException):
    """413; the connection closes after the answer (the rest of the body is not read)."""

    def __init__(self, limit: int, setting: str):
        super().__init__(413, body_too_large(limit, setting), {"Connection": "close"})


def body_too_large(limit: int, setting: str) -> str:
    return f"request body larger than {limit:,} bytes (the limit, {setting})"


class Limits:
    """A process's limits (from ``settings``) and its counters."""

    def __init__(
        self, settings: Settings, known: Mapping[str, Any] | None = None, size: int = TABLE_SIZE
    ):
        self.settings = settings
        self.known: Mapping[str, Any] = {} if known is None else known
        s = settings
        self.keys = TokenBuckets(s.key_rate, s.key_burst, size) if s.key_rate else None
        self.addresses = (
            TokenBuckets(s.address_rate, s.address_burst, size) if s.address_rate else None
        )
        self.failures = (
            TokenBuckets(s.auth_failures / s.auth_failure_window, s.auth_failures, size)
            if s.auth_failures
            else None
        )

    def take_key(self, key_id: int) -> None:
        """Count a request with key ``key_id``; :class:`TooManyRequests` beyond its rate."""
        if self.keys is not None:
            wait = self.keys.take(key_id)
            if wait:
                s = self.settings
                raise TooManyRequests(
                    f"more than {s.key_rate:g} requests a second (burst {s.key_burst}) with this "
                    f"API key (CREDITFACTORY_KEY_RATE); retry after {retry_after(wait)} s",
                    wait,
                )

    def refused(self, address: str, key: str | None) -> tuple[float, bool]:
        """Seconds ``address`` must wait before trying ``key`` (0.0: it may now), checked before
        any look-up, and whether an attempt was taken for it.

        Once an address has failed to authenticate, every attempt of it with a key this process
        has not verified (in ``known``, the cache of good keys, however old) takes one of its
        attempts here, before the look-up, so that requests in flight together cannot each slip
        through on one refilled token; :meth:`passed` gives it back when the key was good,
        :meth:`failed` does not take a second."""
        failures = self.failures
        if failures is None or not key or address not in failures or key in self.known:
            return 0.0, False  # (a request without a key guesses nothing)
        wait = failures.take(address)
        return wait, not wait

    def passed(self, address: str) -> None:
        """A key authenticated after :meth:`refused` reserved an attempt for it: give it back."""
        if self.failures is not None:
            self.failures.give(address)

    def failed(self, address: str, method: str, path: str, reserved: bool = False) -> None:
        """Count a failed authentication from ``address`` (unless :meth:`refused` already took
        its attempt: ``reserved``) and log it (never the key)."""
        if self.failures is None:
            _log.warning("authentication failed: client %s, %s %s", address, method, path)
            return
        if not reserved:
            self.failures.take(address)
        count = self.failures.taken(address)
        wait = self.failures.wait(address)
        s = self.settings
        _log.warning(
            "authentication failed: client %s, %s %s, %d failure(s) from this address "
            "(%d allowed per %g s)%s",
            address, method, path, count, s.auth_failures, s.auth_failure_window,
            f"; refused for {retry_after(wait)} s" if wait else "",
        )  # fmt: skip

    def failed_text(self, wait: float) -> str:
        s = self.settings
        return (
            f"too many failed authentications from this address ({s.auth_failures} per "
            f"{s.auth_failure_window:g} s, CREDITFACTORY_AUTH_FAILURES); retry after "
            f"{retry_after(wait)} s"
        )

    def body_limit(self, path: str) -> tuple[int, str]:
        """The largest body for ``path`` (0: none) and the setting naming it."""
        if path.startswith(UPLOADS):
            return self.settings.max_upload_bytes, "CREDITFACTORY_MAX_UPLOAD_BYTES"
        if path.startswith(IMAGES):
            return self.settings.max_image_bytes, "CREDITFACTORY_MAX_IMAGE_BYTES"
        return self.settings.max_body_bytes, "CREDITFACTORY_MAX_BODY_BYTES"


RESERVED = "auth_attempt_reserved"  # request.state flag: Limits.refused took the attempt


class LimitsMiddleware:
    """Pure ASGI middleware: requests a second per client address (429), an address that failed
    to authenticate too often (429 for any key not known good, see :meth:`Limits.refused`),
    body size (413, from ``Content-Length`` before reading, or counted while a chunked body
    streams in), and a client that disconnects mid-request logged as one line at INFO, not a
    traceback."""

    def __init__(self, app: ASGIApp, limits: Limits):
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limits = self.limits
        client = scope.get("client")
        address = client[0] if client else ""
        if limits.addresses is not None:
            wait = limits.addresses.take(address)
            if wait:
                s = limits.settings
                text = (
                    f"more than {s.address_rate:g} requests a second (burst {s.address_burst}) "
                    f"from this address (CREDITFACTORY_ADDRESS_RATE); retry after "
                    f"{retry_after(wait)} s"
                )
                await _answer(send, 429, text, [(b"retry-after", retry_after(wait).encode())])
                return
        if limits.failures is not None and address in limits.failures:
            wait, reserved = limits.refused(address, _api_key(scope))
            if reserved:  # an attempt taken: the route's authentication must not count it again
                scope.setdefault("state", {})[RESERVED] = True
            if wait:
                text = limits.failed_text(wait)
                await _answer(send, 429, text, [(b"retry-after", retry_after(wait).encode())])
                return
        limit, setting = limits.body_limit(scope["path"])
        if limit:
            length = chunked = None
            for name, value in scope["headers"]:
                if name == b"content-length":
                    length = value
                elif name == b"transfer-encoding":
                    chunked = value
            if length is not None:
                if length.isdigit() and int(length) > limit:  # h11 refuses any other
                    await _answer(
                        send, 413, body_too_large(limit, setting), [(b"connection", b"close")]
                    )
                    return
            elif chunked is not None:
                receive = _counted(receive, limit, setting)
        try:
            await self.app(scope, receive, send)
        except ClientDisconnect:
            _log.info(
                "client %s disconnected before the end of %s %s",
                address, scope["method"], scope["path"],
            )  # fmt: skip


def _api_key(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"x-api-key":
            return str(value.decode("latin-1"))
    return None


def _counted(receive: Receive, limit: int, setting: str) -> Receive:
    seen = 0

    async def counted() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge(limit, setting)
        return message

    return counted


async def _answer(send: Send, status: int, detail: str, headers: list[tuple[bytes, bytes]]) -> None:
    body = json.dumps({"detail": detail}).encode()
    start = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": start + headers})
    await send({"type": "http.response.body", "body": body})


# ----------------------------------------------------------------- fields of an application
def count_values(value: Any, stop: int | None = None) -> int:
    """Values nested in ``value``: object members and array items at any depth (the root not
    counted); with ``stop``, counting stops once past it.

    Examples
    --------
    >>> count_values({"a": 1, "b": [1, 2, {"c": None}]})
    6
    """
    count = 0
    todo = [value]
    while todo:
        item = todo.pop()
        members = item.values() if type(item) is dict else item
        count += len(members)
        if stop is not None and count > stop:
            return count
        todo.extend(m for m in members if type(m) is dict or type(m) is list)
    return count


def check_fields(raw: bytes, limit: int) -> None:
    """A 422 (FastAPI's field-level shape) if the JSON ``raw`` holds more than ``limit`` values
    (:func:`count_values`; 0: no limit). Cheap for a body that cannot hold that many: every
    value but the first of an object or array follows a comma, so the commas and brackets
    bound the count from above, and only a body past that bound is parsed here (invalid JSON
    is left for the parser to report).

    Raises
    ------
    RequestValidationError
        More than ``limit`` values.
    """
    if not limit or raw.count(b",") + raw.count(b"[") + raw.count(b"{") <= limit:
        return
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        return
    if isinstance(value, dict | list) and count_values(value, limit) > limit:
        raise RequestValidationError(
            [{"type": "too_many_fields", "loc": ("body",), "input": None,
              "msg": f"Input should hold at most {limit:,} fields (object members and array "
                     "items at any depth, CREDITFACTORY_MAX_FIELDS)"}]
        )  # fmt: skip


# ------------------------------------------------------------------------------ strong keys
def key_problem(secret: str) -> str | None:
    """Why ``secret`` is too weak for an API key, or None.

    A key needs at least :data:`KEY_MIN_LENGTH` characters, must not repeat a shorter text, and
    needs an estimated :data:`KEY_MIN_BITS` bits: its length times the Shannon entropy of its
    characters, and again of the steps between neighbouring characters, whichever is smaller
    (so repeated characters and runs such as ``abcdef`` or ``123456`` count for little). A
    random key of 24 characters or more (``secrets.token_urlsafe(24)``) always passes.

    Examples
    --------
    >>> key_problem("a")
    'has 1 character(s); at least 24 are needed'
    >>> key_problem("abcdefghijklmnopqrstuvwxyz")
    'is too predictable (about 0 bits; at least 56 are needed: repeated characters and runs such as abcdef count for little)'
    >>> key_problem("cf-admin-7Qm2vXr9LkTz4NpW") is None
    True
    """  # noqa: E501
    n = len(secret)
    if n < KEY_MIN_LENGTH:
        return f"has {n} character(s); at least {KEY_MIN_LENGTH} are needed"
    if (secret + secret).find(secret, 1) < n:
        return "repeats a shorter text"
    steps = [ord(b) - ord(a) for a, b in itertools.pairwise(secret)]
    bits = min(_bits(secret), _bits(steps))
    if bits < KEY_MIN_BITS:
        return (
            f"is too predictable (about {bits:.0f} bits; at least {KEY_MIN_BITS} are needed: "
            "repeated characters and runs such as abcdef count for little)"
        )
    return None


def _bits(symbols: Any) -> float:
    n = len(symbols)
    return 0.0 - sum(c * math.log2(c / n) for c in Counter(symbols).values())


def check_settings(settings: Settings) -> None:
    """Refuse settings the service must not start with (a weak bootstrap admin key).

    Raises
    ------
    ConfigError
        The setting, and why (never the secret).
    """
    if settings.admin_key is not None:
        problem = key_problem(settings.admin_key.get_secret_value())
        if problem is not None:
            raise ConfigError(
                f"admin_key (CREDITFACTORY_ADMIN_KEY): the bootstrap key {problem}; use a random "
                f"one, e.g. python -c 'import secrets; print(secrets.token_urlsafe(24))'"
            )
