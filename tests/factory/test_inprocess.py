"""The in-process mode: the factory's loop on a thread fed by a queue, awaited from an event
loop; concurrent applications share a transaction, controls apply in order."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from creditfactory.decision import InputError
from creditfactory.factory import BodyError, Factory, FactoryConfig, InProcess
from creditfactory.store import Store, activate, add_strategy, verify


@pytest.fixture
def store(tmp_path: Path, strategy_yaml: str) -> Any:
    s = Store(f"sqlite:///{tmp_path / 'f.db'}")
    s.migrate()
    with s.session() as session:
        activate(session, add_strategy(session, strategy_yaml, "ana").id, "boss")
    yield s
    s.dispose()


def test_concurrent_applications_are_decided_in_few_transactions(
    store: Store, good_application: dict[str, Any]
) -> None:
    factory = Factory(FactoryConfig(str(store.engine.url)), store)
    carrier = InProcess(factory)
    bodies = [
        json.dumps({**good_application, "application_id": f"A{i}"}).encode() for i in range(40)
    ]
    bad = [b"{not json", json.dumps({**good_application, "age": "old"}).encode()]

    async def main() -> list[Any]:
        await carrier.start()
        try:
            return await asyncio.gather(
                *(carrier.decide(b, "c", None, None) for b in [*bodies, *bad]),
                return_exceptions=True,
            )
        finally:
            await carrier.close()

    outs = asyncio.run(main())
    assert [type(o).__name__ for o in outs[-2:]] == ["BodyError", "InputError"]
    assert isinstance(outs[-2], BodyError)
    assert isinstance(outs[-1], InputError)
    answers = [json.loads(o.body) for o in outs[:-2]]
    assert [a["external_id"] for a in answers] == [f"A{i}" for i in range(40)]
    assert not any(o.replayed for o in outs[:-2])
    assert factory.writer.items == 40
    assert factory.writer.batches < 40  # the queued applications shared transactions
    with store.session() as s:
        assert verify(s).ok


def test_an_invalidate_applies_to_the_next_application_in_process(
    store: Store, good_application: dict[str, Any], strategy_yaml_v2: str
) -> None:
    factory = Factory(FactoryConfig(str(store.engine.url), cache_seconds=3600), store)
    carrier = InProcess(factory)
    body = json.dumps(good_application).encode()

    async def main() -> list[float]:
        await carrier.start()
        try:
            first = await carrier.decide(body, "c", None, None)
            with store.session() as s:
                activate(s, add_strategy(s, strategy_yaml_v2, "ana").id, "boss")
            cached = await carrier.decide(body, "c", None, None)  # the strategy is cached
            carrier.invalidate()  # what the API does after a change
            fresh = await carrier.decide(body, "c", None, None)
            return [json.loads(a.body)["limit"] for a in (first, cached, fresh)]
        finally:
            await carrier.close()

    assert asyncio.run(main()) == [30000.0, 30000.0, 20000.0]
