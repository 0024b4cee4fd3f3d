"""Every endpoint x every role, a revoked key, a wrong key and no key: as documented."""

from __future__ import annotations

from drills import drill_authz


def test_every_endpoint_and_caller_is_as_documented() -> None:
    # races=0: POST /v1/keys answers 201 before its commit today (a DELETE right after it can
    # answer 404); run the drill's check (races=30) here once it is committed first
    out = drill_authz.run(races=0)
    assert out["unauthorised"] == 0
    assert out["findings"] == []
    matrix = out["figures"]["matrix"]
    assert matrix["POST /v1/keys"] == {
        "admin": 201, "analyst": 403, "underwriter": 403, "read-only": 403,
        "revoked": 401, "wrong key": 401, "no key": 401,
    }  # fmt: skip
    assert set(matrix["GET /health"].values()) == {200}
    assert len(matrix) >= 21  # every operation of the OpenAPI document
