"""The service's one validated configuration, read from ``CREDITFACTORY_*`` variables.

Read by the HTTP front (:mod:`creditfactory.api`, which re-exports :class:`Settings`) and by the
commands that share its environment (``creditfactory batch``, ``serve``), without importing the
front to read it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Service settings (environment variables ``CREDITFACTORY_<NAME>``, or keyword arguments).

    Examples
    --------
    >>> Settings(database_url="sqlite://", qc_rate=0.1).qc_rate
    0.1
    """

    model_config = SettingsConfigDict(env_prefix="CREDITFACTORY_", extra="ignore")

    database_url: str = Field(
        "sqlite:///creditfactory.db",
        description="SQLAlchemy URL: SQLite file by default, postgresql://... in production",
    )
    list_secret: SecretStr | None = Field(
        None, description="HMAC key of the hashed lists; lists are off without it"
    )
    admin_key: SecretStr | None = Field(
        None, description="bootstrap: an admin API key created when the database has none"
    )
    strategy: Path | None = Field(
        None, description="bootstrap: a strategy file uploaded and activated if none is active"
    )
    # strategy files (H1): what the bootstrap strategy's file lists and models may read
    strategy_file_max_bytes: int = Field(
        16 * 1024 * 1024,
        ge=1,
        description=(
            "the largest file the bootstrap strategy (and its file: lists and path: models, "
            "which must lie in its own folder) may read; uploads read no file"
        ),
    )
    qc_rate: float = Field(
        0.05, ge=0.0, le=1.0, description="share of automatic decisions sampled for QC review"
    )
    qc_seed: int | None = Field(None, description="seed of the QC sampler (tests, demos)")
    lang: Literal["en", "zh-CN"] = Field(
        "en",
        description=(
            "language of reason texts in answers when a request names none (its lang query "
            "parameter, then its Accept-Language header, come first)"
        ),
    )
    migrate: bool = Field(True, description="upgrade the database schema at start-up")
    engine_process: bool | None = Field(
        None,
        description=(
            "decide in a process of its own beside the HTTP front (a second core); by default "
            "on with two or more CPUs, off for an in-memory SQLite database"
        ),
    )
    # --- audit ledger (H4): the ledger head anchored outside the database --------------------
    anchor_file: Path | None = Field(
        None,
        description=(
            "append-only file of signed ledger heads (JSON lines) outside the database; written "
            "by the service on a schedule and read by audit verify; off without it"
        ),
    )
    anchor_key: SecretStr | None = Field(
        None, description="HMAC-SHA256 key signing the anchor file's lines (needed with it)"
    )
    anchor_every_seconds: float = Field(
        60.0, gt=0, description="anchor the head at most this often while the ledger grows"
    )
    anchor_every_entries: int = Field(
        1000, ge=1, description="... or as soon as this many entries were appended since"
    )
    ledger_check_on_start: Literal["refuse", "warn", "off"] = Field(
        "refuse",
        description=(
            "at start-up, check the API keys, models, strategies and activations against the "
            "ledger: refuse to start (refuse), log an error per problem (warn), or skip (off)"
        ),
    )
    # personal data (issue 10, item 6): how identifiers in stored applications are protected
    pii_key: SecretStr | None = Field(
        None,
        description=(
            "AES-256-GCM keys of personal identifiers, '[id:]base64-of-32-bytes' items separated "
            "by commas, newest first (it encrypts; all decrypt); without it identifiers are "
            "stored as keyed hashes only (not recoverable)"
        ),
    )
    pii_fields: str = Field(
        "",
        description=(
            "comma-separated field names treated as personal identifiers (at any depth); empty: "
            "the default list (creditfactory.store.DEFAULT_PII_FIELDS); '+a,b' adds to it"
        ),
    )
    # --- limits (H3: api/_limits.py; docs/service.md "Limits") --------------------------------
    max_body_bytes: int = Field(
        1 << 20, ge=0, description="largest request body in bytes (413 beyond; 0: no limit)"
    )
    max_upload_bytes: int = Field(
        10 << 20,
        ge=0,
        description=(
            "largest body of a strategy upload, model registration or list change in bytes "
            "(413 beyond; 0: no limit)"
        ),
    )
    max_image_bytes: int = Field(
        5 << 20,
        ge=0,
        description=(
            "largest ID-card image (POST /v1/id-cards/...) in bytes (413 beyond, refused from "
            "Content-Length before the body is read; 0: no limit)"
        ),
    )
    ocr_workers: int = Field(
        1,
        ge=1,
        le=16,
        description=(
            "ID-card images read at once (threads beside the event loop); up to 8 per worker "
            "more wait, beyond that 503"
        ),
    )
    max_fields: int = Field(
        2000,
        ge=0,
        description=(
            "most values in one application, object members and array items at any depth "
            "(422 beyond; 0: no limit)"
        ),
    )
    header_timeout: float = Field(
        10.0, gt=0, description="seconds a client has to send a request's line and headers"
    )
    body_timeout: float = Field(
        30.0, gt=0, description="seconds a client has to send a request's body after its headers"
    )
    keep_alive_timeout: int = Field(
        5, ge=1, description="seconds an idle keep-alive connection stays open"
    )
    max_connections: int = Field(
        1000, ge=0, description="open connections per process; requests beyond get 503 (0: none)"
    )
    backlog: int = Field(2048, ge=1, description="connections the kernel queues before accept")
    max_header_bytes: int = Field(
        16384, ge=1024, description="most bytes of an unfinished request line and headers (400)"
    )
    key_rate: float = Field(
        10000.0, ge=0, description="requests a second per API key, per process (0: no limit)"
    )
    key_burst: int = Field(20000, ge=1, description="requests an API key may send at once")
    address_rate: float = Field(
        10000.0, ge=0, description="requests a second per client address, per process (0: none)"
    )
    address_burst: int = Field(20000, ge=1, description="requests an address may send at once")
    auth_failures: int = Field(
        20, ge=0, description="failed authentications per address per window before 429s (0: none)"
    )
    auth_failure_window: float = Field(
        60.0, gt=0, description="seconds in which auth_failures failed authentications are allowed"
    )
    # --- the web dashboard (issue 18: creditfactory.web, under /ui/) ---------------------------
    ui_secret: SecretStr | None = Field(
        None,
        description=(
            "HMAC key signing the dashboard's session cookies; without it a random key per "
            "process (sessions end when the service restarts, and need one worker)"
        ),
    )
    ui_book: Path | None = Field(
        None,
        description=(
            "a book directory (creditfactory simulate --out DIR) the dashboard's models, "
            "portfolio and collections pages read; those pages say so when it is not set"
        ),
    )
    ui_model: Path | None = Field(
        None,
        description=(
            "a scorecard artefact folder (creditfactory scorecard fit --out DIR) the models page "
            "monitors over ui_book"
        ),
    )
    ui_session_hours: float = Field(
        8.0, gt=0, le=24 * 7, description="hours a dashboard session lasts after login"
    )
