"""kill -9 of the front, the engine process and the batch factory: nothing lost or doubled."""

from __future__ import annotations

import pytest

from drills import drill_kill


@pytest.mark.slow
def test_killed_server_and_batch_lose_and_double_nothing(kind: str) -> None:
    out = drill_kill.run(server=2, batch=2, databases=[kind], rows=1000)
    assert out["findings"] == []
    assert (out["lost"], out["duplicated"]) == (0, 0)
    assert out["figures"][f"server_{kind}"]["kills"] == {"front": 1, "engine": 1}
    assert out["figures"][f"batch_{kind}"]["kills"] == 2
    assert out["accepted"] > 0
    assert out["passed"]
