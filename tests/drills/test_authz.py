"""Every endpoint x every role, a revoked key, a wrong key and no key: as documented."""

from __future__ import annotations

from drills import drill_authz


def test_every_endpoint_and_caller_is_as_documented() -> None:
    out = drill_authz.run()
    assert out["unauthorised"] == 0
    assert out["findings"] == []
    matrix = out["figures"]["matrix"]
    assert matrix["POST /v1/keys"] == {
        "admin": 201, "analyst": 403, "underwriter": 403, "read-only": 403,
        "revoked": 401, "wrong key": 401, "no key": 401,
    }  # fmt: skip
    assert set(matrix["GET /health"].values()) == {200}
    assert len(matrix) >= 21  # every operation of the OpenAPI document
