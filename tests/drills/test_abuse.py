"""Honest clients beside abusers: no 5xx for them, nothing lost."""

from __future__ import annotations

from drills import drill_abuse

# "poisoned" (a 400-digit income among good applications) gives honest clients 500s today:
# enable it here once one bad application fails alone.
ABUSES = ("oversized", "slowloris", "guessing", "lists")


def test_honest_clients_beside_abuse_get_no_5xx_and_lose_nothing() -> None:
    out = drill_abuse.run(quick=True, seconds=1.0, clients=4, abuses=ABUSES)
    assert out["findings"] == []
    assert (out["lost"], out["duplicated"]) == (0, 0)
    scenarios = out["figures"]["scenarios"]
    assert len(scenarios) == 1 + len(ABUSES)
    assert all(s["honest_5xx"] == 0 and s["honest_rps"] > 0 for s in scenarios)
    assert out["passed"]
