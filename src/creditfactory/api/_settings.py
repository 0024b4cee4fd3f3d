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
