"""What a factory is built from: plain values, so that it crosses to an engine process."""

from __future__ import annotations

from dataclasses import dataclass

from creditfactory.decision import FileAccess


@dataclass(frozen=True)
class FactoryConfig:
    """Everything a :class:`~creditfactory.factory.Factory` needs (the service fills it from
    its settings).

    Parameters
    ----------
    database_url : str
        The store's SQLAlchemy URL.
    list_secret : str, optional
        The HMAC key of the hashed lists; without it service lists are not consulted.
    qc_rate : float
        Share of automatic (approve / decline) decisions sampled for quality-control review.
    qc_seed : int, optional
        Seed of the QC sampler (tests, demos).
    pii_key, pii_fields : str, optional
        ``CREDITFACTORY_PII_KEY`` and ``CREDITFACTORY_PII_FIELDS``
        (:meth:`creditfactory.store.Protector.configured`).
    strategy_file_max_bytes : int
        The largest file a stored strategy's ``file:`` lists and ``path:`` models may be.
    cache_seconds : float
        How long the active strategy and the lists are trusted between checks (other
        processes' changes are seen within this delay; :class:`~creditfactory.factory.
        Invalidate` makes the next decision check at once).
    backend : str, optional
        The writer's back-end by name (default: the database's).
    """

    database_url: str
    list_secret: str | None = None
    qc_rate: float = 0.0
    qc_seed: int | None = None
    pii_key: str | None = None
    pii_fields: str | None = None
    strategy_file_max_bytes: int = FileAccess.DEFAULT_MAX_BYTES
    cache_seconds: float = 1.0
    backend: str | None = None
