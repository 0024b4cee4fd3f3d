"""kill -9 of the front, the engine process and the batch factory: nothing lost or doubled."""

from __future__ import annotations

import pytest

from drills import drill_kill


@pytest.mark.slow
def test_killed_front_and_engine_lose_and_double_nothing(kind: str) -> None:
    out = drill_kill.run(server=2, batch=0, databases=[kind])
    assert out["findings"] == []
    assert (out["lost"], out["duplicated"]) == (0, 0)
    assert out["figures"][f"server_{kind}"]["kills"] == {"front": 1, "engine": 1}
    assert out["accepted"] > 0
    assert out["passed"]


@pytest.mark.slow
def test_killed_batch_factory_resumes_to_the_same_output() -> None:
    """Twice SIGKILLed, resumed: every row once, as an uninterrupted run (ledger on SQLite)."""
    out = drill_kill.run(server=0, batch=2, databases=["sqlite"], rows=600)
    assert out["findings"] == []
    assert (out["lost"], out["duplicated"]) == (0, 0)
    assert out["figures"]["batch_sqlite"]["kills"] == 2
    assert out["passed"]
