"""The tables (SQLAlchemy 2 declarative models); the migrations under ``migrations/`` create them.

Identifiers in lists are stored as HMAC digests only. Timestamps that enter a hash are kept as
ISO-8601 text so they survive every database unchanged.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """Declarative base of every creditfactory table."""


class ApiKey(Base):
    """An API key: only its SHA-256 is stored; ``key_id`` (random, not derived from the secret)
    is the public name people tell keys apart by (since revision 0003, replacing a prefix of
    the secret)."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    key_id: Mapped[str] = mapped_column(String(32), unique=True, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class StrategyVersion(Base):
    """One uploaded version of a strategy (its YAML text, as uploaded)."""

    __tablename__ = "strategy_versions"
    __table_args__ = (UniqueConstraint("name", "version", name="uq_strategy_name_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    version: Mapped[str] = mapped_column(String(50))
    source: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    base_dir: Mapped[str | None] = mapped_column(Text, nullable=True)  # since revision 0002
    uploaded_by: Mapped[str] = mapped_column(String(100))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Activation(Base):
    """The history of which strategy version was made active, newest last."""

    __tablename__ = "strategy_activations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    strategy_id: Mapped[int] = mapped_column(ForeignKey("strategy_versions.id"))
    action: Mapped[str] = mapped_column(String(20))  # activate | rollback
    actor: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ModelArtefact(Base):
    """A registered model artefact (a scoring-spec JSON) that strategies call by name@version."""

    __tablename__ = "models"
    __table_args__ = (UniqueConstraint("name", "version", name="uq_model_name_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    version: Mapped[str] = mapped_column(String(50))
    spec: Mapped[str] = mapped_column(Text)  # canonical JSON text
    sha256: Mapped[str] = mapped_column(String(64))
    registered_by: Mapped[str] = mapped_column(String(100))
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ListEntry(Base):
    """A hashed identifier in a named list (blacklist, greylist, whitelist ...)."""

    __tablename__ = "list_entries"
    __table_args__ = (UniqueConstraint("list_name", "field", "value_hash", name="uq_list_entry"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_name: Mapped[str] = mapped_column(String(50), index=True)
    field: Mapped[str] = mapped_column(String(50))
    value_hash: Mapped[str] = mapped_column(String(64), index=True)
    note: Mapped[str] = mapped_column(String(200), default="")
    added_by: Mapped[str] = mapped_column(String(100))
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Application(Base):
    """An application as received; ``idempotency_key`` is unique per API key."""

    __tablename__ = "applications"
    __table_args__ = (
        UniqueConstraint("api_key_id", "idempotency_key", name="uq_application_idempotency"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(100), index=True, nullable=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    request_sha256: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"), nullable=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DecisionRecord(Base):
    """The engine's decision on one application, as decided (never updated)."""

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), unique=True)
    strategy_id: Mapped[int | None] = mapped_column(
        ForeignKey("strategy_versions.id"), nullable=True
    )
    strategy: Mapped[str] = mapped_column(String(100))
    version: Mapped[str] = mapped_column(String(50))
    decision: Mapped[str] = mapped_column(String(10))
    limit: Mapped[float | None] = mapped_column(Float, nullable=True)
    apr: Mapped[float | None] = mapped_column(Float, nullable=True)
    term: Mapped[int | None] = mapped_column(Integer, nullable=True)
    reasons: Mapped[list[str]] = mapped_column(JSON)
    trace: Mapped[list[str]] = mapped_column(JSON)
    model_versions: Mapped[dict[str, str]] = mapped_column(JSON)
    values: Mapped[dict[str, Any]] = mapped_column(JSON)
    list_hits: Mapped[list[str]] = mapped_column(JSON)
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Review(Base):
    """A manual review of a decision: queued for a refer or a QC sample; the override beside it."""

    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id"), unique=True)
    queue_reason: Mapped[str] = mapped_column(String(20))  # refer | qc_sample
    status: Mapped[str] = mapped_column(String(10), index=True)  # pending | done
    outcome: Mapped[str | None] = mapped_column(String(10), nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    reviewer: Mapped[str | None] = mapped_column(String(100), nullable=True)
    queued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class LedgerRow(Base):
    """One entry of the hash-chained audit ledger (see :mod:`creditfactory.audit`)."""

    __tablename__ = "ledger"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(50))
    subject: Mapped[str] = mapped_column(String(200))
    actor: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[str] = mapped_column(String(40))
    payload: Mapped[str] = mapped_column(Text)  # canonical JSON text, exactly as hashed
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class LedgerHead(Base):
    """A single row holding the ledger's length and last hash; appends lock it first."""

    __tablename__ = "ledger_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[str] = mapped_column(String(40))


__all__ = [
    "Activation",
    "ApiKey",
    "Application",
    "Base",
    "DecisionRecord",
    "LedgerHead",
    "LedgerRow",
    "ListEntry",
    "ModelArtefact",
    "Review",
    "StrategyVersion",
]
