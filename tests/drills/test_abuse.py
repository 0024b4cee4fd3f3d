"""Honest clients beside abusers: no 5xx for them, nothing lost; each abuser refused as
documented (413, slow connections cut, 422, 401 then 429, lists screened from memory)."""

from __future__ import annotations

from drills import drill_abuse

ABUSES = ("oversized", "slowloris", "poisoned", "guessing", "lists")


def test_honest_clients_beside_abuse_get_no_5xx_and_lose_nothing() -> None:
    out = drill_abuse.run(quick=True, seconds=1.0, clients=4, abuses=ABUSES)
    assert out["findings"] == []
    assert (out["lost"], out["duplicated"]) == (0, 0)
    scenarios = out["figures"]["scenarios"]
    assert len(scenarios) == 1 + len(ABUSES)
    assert all(s["honest_5xx"] == 0 and s["honest_rps"] > 0 for s in scenarios)
    abuser = {s["kind"]: s["abuser"] for s in scenarios}
    assert set(abuser["oversized"]["statuses"]) <= {413}  # or cut while still sending
    assert abuser["oversized"]["sent"] == 2
    assert abuser["slowloris"]["cut_by_server"] == 20  # every one, none held to the end
    assert set(abuser["poisoned"]["statuses"]) == {422}
    assert abuser["guessing"]["statuses"][401] <= 21  # AUTH_FAILURES, then 429s
    assert set(abuser["guessing"]["statuses"]) == {401, 429}
    assert out["passed"]
