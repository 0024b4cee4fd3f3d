"""The service's one validated configuration, read from ``CREDITFACTORY_*`` variables."""

from __future__ import annotations

from pathlib import Path

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
    qc_rate: float = Field(
        0.05, ge=0.0, le=1.0, description="share of automatic decisions sampled for QC review"
    )
    qc_seed: int | None = Field(None, description="seed of the QC sampler (tests, demos)")
    migrate: bool = Field(True, description="upgrade the database schema at start-up")
    engine_process: bool | None = Field(
        None,
        description=(
            "decide in a process of its own beside the HTTP front (a second core); by default "
            "on with two or more CPUs, off for an in-memory SQLite database"
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
