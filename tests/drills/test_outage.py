"""PostgreSQL cut off mid-run (a TCP proxy): nothing half-written, the service resumes alone."""

from __future__ import annotations

from tests.drills.conftest import require_postgres

from drills import drill_outage


def test_database_outage_writes_nothing_half_and_resumes() -> None:
    require_postgres()
    out = drill_outage.run(quick=True, outage=1.5, clients=4)
    figures = out["figures"]
    assert (out["lost"], out["duplicated"]) == (0, 0)
    assert figures["half_written"] == 0
    assert figures["audit_exit"] == 0
    assert figures["resumed_after_s"] is not None
    assert figures["resumed_after_s"] < 10
    assert out["accepted"] > 0
    assert figures["non_503_5xx"] == 0  # the outage is answered with 503s, no 500
    assert out["findings"] == []
    assert out["passed"]
