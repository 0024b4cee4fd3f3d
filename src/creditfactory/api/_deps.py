"""Dependencies: the store session, the caller (from ``X-API-Key``) and role checks."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Protocol

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader
from sqlalchemy.orm import Session

from creditfactory.api._limits import RESERVED, Limits
from creditfactory.exceptions import ForbiddenError
from creditfactory.factory import Answer
from creditfactory.settings import Settings
from creditfactory.store import AuthError, Protector, Store, authenticate

_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="an API key")

# What each write needs; every GET accepts any valid key.
PERMISSIONS: dict[str, frozenset[str]] = {
    "applications.create": frozenset({"admin", "analyst", "underwriter"}),
    "reviews.decide": frozenset({"admin", "underwriter"}),
    "strategies.upload": frozenset({"admin", "analyst"}),
    "strategies.activate": frozenset({"admin"}),
    # the dashboard's simulation of a candidate against the active strategy (stores nothing;
    # a back-test costs seconds of CPU)
    "strategies.simulate": frozenset({"admin", "analyst"}),
    "models.register": frozenset({"admin", "analyst"}),
    "lists.write": frozenset({"admin", "analyst"}),
    "keys.manage": frozenset({"admin"}),
    "loans.create": frozenset({"admin", "underwriter"}),
    "loans.pay": frozenset({"admin", "underwriter"}),
    "loans.write_off": frozenset({"admin"}),
    "id_cards.check": frozenset({"admin", "underwriter"}),
    "read": frozenset({"admin", "analyst", "underwriter", "read-only"}),
}
# how a 403 names each permission ("role 'read-only' may not decide reviews")
ACTIONS: dict[str, str] = {
    "applications.create": "create applications",
    "reviews.decide": "decide reviews",
    "strategies.upload": "upload strategies",
    "strategies.activate": "activate strategies",
    "strategies.simulate": "simulate strategies",
    "models.register": "register models",
    "lists.write": "change lists",
    "keys.manage": "manage keys",
    "loans.create": "disburse loans",
    "loans.pay": "post payments",
    "loans.write_off": "write loans off",
    "id_cards.check": "check ID cards",
    "read": "read",
}
assert ACTIONS.keys() == PERMISSIONS.keys(), "every permission needs its 403 wording"


@dataclass(frozen=True)
class Caller:
    """The authenticated caller."""

    id: int
    name: str
    role: str


async def get_store(request: Request) -> Store:
    return request.app.state.store  # type: ignore[no-any-return]


class Decider(Protocol):
    """Where the front forwards applications: the factory on a thread of this process
    (:class:`creditfactory.factory.InProcess`) or in an engine process
    (:class:`creditfactory.factory.EngineClient`)."""

    mode: str  # "in-process" or "process" (GET /health)

    async def start(self) -> None: ...

    async def decide(
        self, body: bytes, actor: str, api_key_id: int | None, idempotency_key: str | None
    ) -> Answer: ...

    def invalidate(self) -> None: ...

    async def close(self) -> None: ...


async def get_factory(request: Request) -> Decider:
    return request.app.state.factory  # type: ignore[no-any-return]


async def get_pii(request: Request) -> Protector:
    return request.app.state.pii  # type: ignore[no-any-return]


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def get_session(store: Annotated[Store, Depends(get_store)]) -> Iterator[Session]:
    """A session committed when the route returns without error."""
    with store.session() as session:
        yield session


AUTH_CACHE_SECONDS = 5.0
AUTH_CACHE_SIZE = 10_000


async def get_caller(request: Request, key: Annotated[str | None, Depends(_header)]) -> Caller:
    """The caller of this key; remembered for a few seconds (a revocation in this process
    forgets it at once, other processes within ``AUTH_CACHE_SECONDS``), and so is a wrong key.

    ``async`` so that a cache hit costs no thread hop; a miss queries the database inline
    (one indexed look-up, once per key every few seconds). A wrong key counts against the
    client's address: past ``auth_failures`` in ``auth_failure_window`` the limits middleware
    answers that address's requests with 429s, without a look-up, for any key not verified
    before; every key's requests count against its rate (429 beyond ``key_rate``).
    """
    state = request.app.state
    cache: dict[str, tuple[float, Caller]] = state.auth_cache
    limits: Limits = state.limits
    if key:
        now = time.monotonic()
        hit = cache.get(key)
        if hit is not None and now - hit[0] < AUTH_CACHE_SECONDS:
            limits.take_key(hit[1].id)
            return hit[1]
        address = request.client.host if request.client else ""
        reserved = bool(getattr(request.state, RESERVED, False))
        wrong: dict[str, tuple[float, str]] = state.auth_wrong
        miss = wrong.get(key)
        if miss is not None and now - miss[0] < AUTH_CACHE_SECONDS:
            limits.failed(address, request.method, request.url.path, reserved)
            raise AuthError(miss[1])
    store: Store = state.store
    try:
        with store.sessions() as session:
            row = authenticate(session, key)
            caller = Caller(row.id, row.name, row.role)
    except AuthError as exc:
        if key:
            cache.pop(key, None)  # revoked meanwhile (by another process)
            limits.failed(address, request.method, request.url.path, reserved)
            if len(wrong) >= AUTH_CACHE_SIZE:
                wrong.clear()
            wrong[key] = (now, str(exc))
        raise
    if key:
        if reserved:
            limits.passed(address)
        if len(cache) >= AUTH_CACHE_SIZE:
            cache.clear()
        cache[key] = (now, caller)
        limits.take_key(caller.id)
    return caller


def forget_key(request: Request, key_id: int) -> None:
    """Forget the cached secrets of one key (revoked): this process refuses it at once, and
    every other key stays verified (the failed-login throttle lets verified keys through)."""
    cache: dict[str, tuple[float, Caller]] = request.app.state.auth_cache
    for secret in [s for s, (_, caller) in cache.items() if caller.id == key_id]:
        del cache[secret]


async def authorise(request: Request, key: str | None, permission: str) -> Caller:
    """The caller of ``key`` if its role grants ``permission``; :class:`AuthError` (401) or
    :class:`ForbiddenError` (403)
    otherwise. What :func:`allowed` checks, callable directly (the hot path skips the
    dependency machinery)."""
    caller = await get_caller(request, key)
    roles = PERMISSIONS[permission]
    if caller.role not in roles:
        raise ForbiddenError(
            f"role {caller.role!r} may not {ACTIONS[permission]} "
            f"(needs one of: {', '.join(sorted(roles))})",
        )
    return caller


def allowed(permission: str) -> Callable[..., Awaitable[Caller]]:
    """A dependency returning the caller if its role grants ``permission`` (403 otherwise)."""
    PERMISSIONS[permission]  # an unknown permission fails at import, not per request

    async def check(request: Request, key: Annotated[str | None, Depends(_header)]) -> Caller:
        return await authorise(request, key, permission)

    return check


# committed when the route function returns, BEFORE the answer is sent (the default, "request",
# commits after it: a 201 for a key could reach the client, and its revocation fail with 404,
# before the key existed for anyone else)
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
FactoryDep = Annotated[Decider, Depends(get_factory)]
PiiDep = Annotated[Protector, Depends(get_pii)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
Reader = Annotated[Caller, Depends(allowed("read"))]
