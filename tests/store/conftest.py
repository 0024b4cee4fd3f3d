"""A migrated store on a fresh database (SQLite and PostgreSQL, from ``db_url``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest

from creditfactory.factory import Decide, Factory, FactoryConfig, Outcome
from creditfactory.store import Protector, Store, complete_review


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = Store(db_url)
    s.migrate()
    yield s
    s.dispose()


class Service:
    """A :class:`~creditfactory.factory.Factory` fed one application at a time, as the tests
    of the store need it (the factory's entry point is a batch of one here)."""

    def __init__(
        self, store: Store, list_secret: str | None = None, qc_rate: float = 0.0,
        seed: int | None = None, cache_seconds: float = 1.0, pii: Any = "none",
    ):  # fmt: skip
        config = FactoryConfig(
            str(store.engine.url), list_secret=list_secret, qc_rate=qc_rate, qc_seed=seed,
            cache_seconds=cache_seconds,
        )  # fmt: skip
        if pii == "none" or pii is None:  # nothing protected: stored as received
            pii = Protector(fields=frozenset())
        self.factory = Factory(config, store, pii)
        self.store, self.writer, self.pii = store, self.factory.writer, pii

    def decide(
        self, payload: Any, actor: str, api_key_id: int | None = None,
        idempotency_key: str | None = None,
    ) -> Outcome:  # fmt: skip
        out = self.factory.decide([Decide(0, payload, actor, api_key_id, idempotency_key)])[0]
        if isinstance(out, Exception):
            raise out
        return out

    def decide_many(self, requests: list[tuple[Any, str, int | None, str | None]]) -> list[Any]:
        return self.factory.decide([Decide(i, *r) for i, r in enumerate(requests)])

    def review(self, review_id: int, outcome: str, reason: str, reviewer: str) -> Any:
        with self.store.session() as session:
            return complete_review(session, review_id, outcome, reason, reviewer)

    def invalidate(self) -> None:
        self.factory.invalidate()

    @property
    def cache_seconds(self) -> float:
        return self.factory.config.cache_seconds

    @cache_seconds.setter
    def cache_seconds(self, value: float) -> None:
        self.factory.config = dataclasses.replace(self.factory.config, cache_seconds=value)

    def refresh(self) -> None:
        self.factory.refresh()

    def close(self) -> None:
        self.factory.close()


@pytest.fixture
def make_service() -> Iterator[Any]:
    """Makes a :class:`Service` (the factory one application at a time); every one made is
    closed after the test (its writer's connection)."""
    made: list[Service] = []

    def make(*args: Any, **kwargs: Any) -> Service:
        made.append(Service(*args, **kwargs))
        return made[-1]

    yield make
    for service in made:
        service.close()
