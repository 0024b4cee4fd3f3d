"""Repositories: plain functions over a :class:`~sqlalchemy.orm.Session`.

Every write appends to the audit ledger in the same transaction; nothing here commits (the
caller's unit of work does). Errors come from :mod:`creditfactory.exceptions` and
:mod:`creditfactory.store._errors`, never HTTP.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from creditfactory.audit import canonical_json, digest
from creditfactory.decision import FileAccess, ModelRegistry, PointsModel, Strategy
from creditfactory.exceptions import ArtefactError, ConfigError, CreditFactoryError, StrategyError
from creditfactory.fraud import HashedLists, hash_identifier
from creditfactory.store._errors import AuthError, ConflictError, NotFoundError
from creditfactory.store._ledger import append
from creditfactory.store._records import vouch
from creditfactory.store._tables import (
    Activation,
    ApiKey,
    ListEntry,
    ModelArtefact,
    StrategyVersion,
)

ROLES = ("admin", "analyst", "underwriter", "read-only")
LIST_NAMES = ("blacklist", "greylist", "whitelist")


def now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def _flush_unique(session: Session, conflict: str) -> None:
    """Flush; a unique-key violation (a concurrent duplicate) becomes a ConflictError."""
    try:
        session.flush()
    except IntegrityError as exc:
        raise ConflictError(conflict) from exc


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------------------- API keys
def create_key(session: Session, name: str, role: str, actor: str) -> tuple[ApiKey, str]:
    """Create an API key; returns the row and the secret (shown once, stored only hashed)."""
    if role not in ROLES:
        raise ConfigError(f"role: {role!r} is not one of {', '.join(ROLES)}")
    if session.execute(select(ApiKey.id).where(ApiKey.name == name)).first() is not None:
        raise ConflictError(f"api key {name!r} already exists")
    secret = "cf_" + secrets.token_urlsafe(24)
    return add_key(session, name, role, secret, actor), secret


def add_key(session: Session, name: str, role: str, secret: str, actor: str) -> ApiKey:
    """Store a key whose secret the caller chose (bootstrap and tests).

    Its public ``key_id`` is random: nothing of the secret is stored or shown but its SHA-256.
    """
    if role not in ROLES:
        raise ConfigError(f"role: {role!r} is not one of {', '.join(ROLES)}")
    key = ApiKey(
        name=name, role=role, key_hash=_sha256(secret), key_id=new_key_id(), created_at=now()
    )
    session.add(key)
    _flush_unique(session, f"api key {name!r} already exists")
    append(
        session, "key.create", f"api_key:{key.id}", actor,
        {"name": name, "role": role, "key_id": key.key_id, "digests": vouch(key)},
    )  # fmt: skip
    return key


def new_key_id() -> str:
    """A fresh public key id: ``k_`` and 16 random hex digits (not derived from any secret)."""
    return "k_" + secrets.token_hex(8)


def authenticate(session: Session, secret: str | None) -> ApiKey:
    """The active key with this secret; :class:`AuthError` (401) otherwise."""
    if not secret:
        raise AuthError("missing API key (send the X-API-Key header)")
    key = session.execute(
        select(ApiKey).where(ApiKey.key_hash == _sha256(secret))
    ).scalar_one_or_none()
    if key is None or key.revoked_at is not None:
        raise AuthError("unknown or revoked API key")
    return key


def revoke_key(session: Session, key_id: int, actor: str) -> ApiKey:
    """Revoke a key (it stays, for the record)."""
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFoundError(f"api key {key_id} not found")
    if key.revoked_at is None:
        key.revoked_at = now()
        session.flush()
        append(
            session, "key.revoke", f"api_key:{key.id}", actor,
            {"name": key.name, "digests": vouch(key)},
        )  # fmt: skip
    return key


def count_keys(session: Session) -> int:
    """How many keys exist (revoked ones included)."""
    return int(session.execute(select(func.count(ApiKey.id))).scalar_one())


# ---------------------------------------------------------------------------------- models
def register_model(
    session: Session, name: str, version: str, spec: Mapping[str, Any], actor: str
) -> ModelArtefact:
    """Register a scoring-spec artefact after checking the engine can load it."""
    try:
        PointsModel(name, version, spec)
    except ArtefactError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise ArtefactError(f"model {name}@{version}: invalid scoring spec: {exc!r}") from exc
    text = canonical_json(dict(spec))
    row = ModelArtefact(
        name=name,
        version=version,
        spec=text,
        sha256=_sha256(text),
        registered_by=actor,
        registered_at=now(),
    )
    exists = select(ModelArtefact.id).where(
        ModelArtefact.name == name, ModelArtefact.version == version
    )
    if session.execute(exists).first() is not None:
        raise ConflictError(f"model {name}@{version} is already registered")
    session.add(row)
    _flush_unique(session, f"model {name}@{version} is already registered")
    append(
        session,
        "model.register",
        f"model:{row.id}",
        actor,
        {"name": name, "version": version, "sha256": row.sha256, "digests": vouch(row)},
    )
    return row


def model_registry(session: Session) -> ModelRegistry:
    """Every registered model, loaded into a registry strategies can call."""
    registry = ModelRegistry()
    for row in session.execute(select(ModelArtefact).order_by(ModelArtefact.id)).scalars():
        registry.register(PointsModel(row.name, row.version, json.loads(row.spec)))
    return registry


def list_models(session: Session) -> list[ModelArtefact]:
    """Registered models, oldest first."""
    return list(session.execute(select(ModelArtefact).order_by(ModelArtefact.id)).scalars())


# ---------------------------------------------------------------------------------- strategies
def compile_source(
    session: Session,
    source: str,
    base_dir: str | None = None,
    *,
    max_bytes: int = FileAccess.DEFAULT_MAX_BYTES,
) -> Strategy:
    """Compile strategy YAML against the registered models (``StrategyError`` if invalid).

    Without ``base_dir`` (a strategy uploaded over the API) no file is read: ``file:`` lists
    and ``path:`` models of unregistered models are refused without touching the disk. With
    ``base_dir`` (the bootstrap strategy's folder) they read regular files of at most
    ``max_bytes`` inside that folder only. Registered models take precedence over ``path:``.
    """
    files = FileAccess.none() if base_dir is None else FileAccess.under(base_dir, max_bytes)
    return Strategy.from_yaml(source, model_registry(session), files=files)


def _fits(what: str, value: str, column: Any) -> None:
    """A value longer than its column is the author's error (422), on every database."""
    limit = column.type.length
    if limit is not None and len(value) > limit:
        raise StrategyError(f"{what}: {len(value)} characters, at most {limit}")


def add_strategy(
    session: Session,
    source: str,
    actor: str,
    base_dir: str | None = None,
    *,
    max_bytes: int = FileAccess.DEFAULT_MAX_BYTES,
) -> StrategyVersion:
    """Validate and store a new strategy version (name and version come from the YAML).

    ``base_dir`` is given only for a strategy read from a file on the server (the bootstrap):
    it is stored, and its ``file:`` / ``path:`` references may read inside that folder (see
    :func:`compile_source`). An upload has none and may read no file.
    """
    strategy = compile_source(session, source, base_dir, max_bytes=max_bytes)
    _fits("strategy", strategy.name, StrategyVersion.__table__.c.name)
    _fits("version", str(strategy.version), StrategyVersion.__table__.c.version)
    row = StrategyVersion(
        name=strategy.name,
        version=str(strategy.version),
        source=source,
        sha256=_sha256(source),
        base_dir=base_dir,
        uploaded_by=actor,
        uploaded_at=now(),
    )
    exists = select(StrategyVersion.id).where(
        StrategyVersion.name == row.name, StrategyVersion.version == row.version
    )
    if session.execute(exists).first() is not None:
        raise ConflictError(f"strategy {row.name} version {row.version} already exists")
    session.add(row)
    _flush_unique(session, f"strategy {row.name} version {row.version} already exists")
    append(
        session,
        "strategy.upload",
        f"strategy:{row.id}",
        actor,
        {"name": row.name, "version": row.version, "sha256": row.sha256, "digests": vouch(row)},
    )
    return row


def get_strategy(session: Session, strategy_id: int) -> StrategyVersion:
    """One strategy version by id."""
    row = session.get(StrategyVersion, strategy_id)
    if row is None:
        raise NotFoundError(f"strategy {strategy_id} not found")
    return row


def list_strategies(session: Session) -> list[StrategyVersion]:
    """Every uploaded version, oldest first."""
    return list(session.execute(select(StrategyVersion).order_by(StrategyVersion.id)).scalars())


def activations(session: Session) -> list[Activation]:
    """The activation history, oldest first."""
    return list(session.execute(select(Activation).order_by(Activation.id)).scalars())


def active_strategy(session: Session) -> StrategyVersion | None:
    """The version in force (the target of the latest activation), if any."""
    last = session.execute(select(Activation).order_by(Activation.id.desc()).limit(1)).scalar()
    return None if last is None else session.get(StrategyVersion, last.strategy_id)


def activate(
    session: Session,
    strategy_id: int,
    actor: str,
    action: str = "activate",
    *,
    max_bytes: int = FileAccess.DEFAULT_MAX_BYTES,
) -> StrategyVersion:
    """Put a version in force (``max_bytes``: see :func:`compile_source`)."""
    row = get_strategy(session, strategy_id)
    compile_source(session, row.source, row.base_dir, max_bytes=max_bytes)  # it must still load
    done = Activation(strategy_id=row.id, action=action, actor=actor, at=now())
    session.add(done)
    session.flush()
    append(
        session,
        f"strategy.{action}",
        f"strategy:{row.id}",
        actor,
        {"name": row.name, "version": row.version, "sha256": row.sha256, "digests": vouch(done)},
    )
    return row


def rollback(
    session: Session, actor: str, *, max_bytes: int = FileAccess.DEFAULT_MAX_BYTES
) -> StrategyVersion:
    """Re-activate the version that was in force before the current one (``max_bytes``: see
    :func:`compile_source`)."""
    history = [a.strategy_id for a in activations(session)]
    if not history:
        raise ConflictError("no strategy is active: nothing to roll back")
    current = history[-1]
    previous = next((s for s in reversed(history) if s != current), None)
    if previous is None:
        raise ConflictError("no earlier strategy version was ever active")
    return activate(session, previous, actor, action="rollback", max_bytes=max_bytes)


# ---------------------------------------------------------------------------------- lists
def _secret(secret: str | None) -> str:
    if not secret:
        raise ConfigError("list_secret: set CREDITFACTORY_LIST_SECRET to use lists")
    return secret


def add_list_entries(
    session: Session,
    secret: str | None,
    list_name: str,
    field: str,
    values: Sequence[str],
    actor: str,
    note: str = "",
) -> list[ListEntry]:
    """Add identifiers to a list (already present ones are kept once)."""
    key = _secret(secret)
    if list_name not in LIST_NAMES:
        raise ConfigError(f"list: {list_name!r} is not one of {', '.join(LIST_NAMES)}")
    hashes = sorted({hash_identifier(key, field, v) for v in values})
    existing = set(
        session.execute(
            select(ListEntry.value_hash).where(
                ListEntry.list_name == list_name,
                ListEntry.field == field,
                ListEntry.value_hash.in_(hashes),
            )
        ).scalars()
    )
    rows = [
        ListEntry(
            list_name=list_name,
            field=field,
            value_hash=h,
            note=note,
            added_by=actor,
            added_at=now(),
        )
        for h in hashes
        if h not in existing
    ]
    session.add_all(rows)
    session.flush()
    append(
        session,
        "list.add",
        f"list:{list_name}",
        actor,
        {"field": field, "hashes": [r.value_hash for r in rows], "note": note,
         "digests": vouch(*rows)},
    )  # fmt: skip
    return rows


def remove_list_entries(
    session: Session,
    secret: str | None,
    list_name: str,
    field: str,
    values: Sequence[str],
    actor: str,
) -> int:
    """Remove identifiers from a list; returns how many were there."""
    key = _secret(secret)
    hashes = sorted({hash_identifier(key, field, v) for v in values})
    ids = list(
        session.execute(
            select(ListEntry.id).where(
                ListEntry.list_name == list_name,
                ListEntry.field == field,
                ListEntry.value_hash.in_(hashes),
            )
        ).scalars()
    )
    if ids:
        session.execute(delete(ListEntry).where(ListEntry.id.in_(ids)))
    removed = len(ids)
    append(
        session,
        "list.remove",
        f"list:{list_name}",
        actor,  # a null digest: the entry is gone, and legitimately so
        {"field": field, "hashes": hashes, "removed": removed,
         "digests": {f"list_entry:{i}": None for i in sorted(ids)}},
    )  # fmt: skip
    return removed


def list_summary(session: Session) -> list[tuple[str, str, int]]:
    """``(list, field, entries)`` for every non-empty list."""
    stmt = (
        select(ListEntry.list_name, ListEntry.field, func.count(ListEntry.id))
        .group_by(ListEntry.list_name, ListEntry.field)
        .order_by(ListEntry.list_name, ListEntry.field)
    )
    return [(a, b, int(c)) for a, b, c in session.execute(stmt).all()]


def stored_lists(session: Session, secret: str) -> HashedLists:
    """The store's lists as they are now, in the hashed form every list back-end shares (for
    screening a whole batch: ``creditfactory batch decide --lists``)."""
    entries: dict[tuple[str, str], set[str]] = {}
    stmt = select(ListEntry.list_name, ListEntry.field, ListEntry.value_hash)
    for name, field, h in session.execute(stmt).all():
        entries.setdefault((name, field), set()).add(h)
    return HashedLists(secret, entries)


def request_digest(payload: Mapping[str, Any]) -> str:
    """The digest of a request body (to tell an idempotent retry from a different request)."""
    try:
        return digest(dict(payload))
    except CreditFactoryError:
        return _sha256(repr(sorted(payload.items())))
