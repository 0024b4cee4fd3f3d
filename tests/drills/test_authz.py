"""Every endpoint x every role, a revoked key, a wrong key and no key: as documented."""

from __future__ import annotations

from drills import drill_authz


def test_every_endpoint_and_caller_is_as_documented() -> None:
    out = drill_authz.run(races=30)  # a key revoked right after its creation: no 404
    assert out["unauthorised"] == 0
    assert out["findings"] == []  # a revocation keeps other verified keys verified, too
    matrix = out["figures"]["matrix"]
    assert {who: matrix["POST /v1/keys"][who] for who in drill_authz.ROLES} == {
        "admin": 201, "analyst": 403, "underwriter": 403, "read-only": 403,
    }  # fmt: skip
    # callers without a good key: 401, then 429 once their address has failed 20 times
    assert {matrix["POST /v1/applications"][who] for who in drill_authz.STRANGERS} == {401}
    # by then the attacker's address is throttled: a wrong or revoked key 429, no key 401
    # (a request without a key guesses nothing and is not counted)
    keys = matrix["GET /v1/keys"]
    assert {keys["wrong key"], keys["revoked"], keys["no key"]} == {429, 401}
    assert keys["no key"] == 401
    throttling = out["figures"]["throttling"]
    assert throttling["wrong_keys"] == {401: 20, 429: 5}
    assert throttling["admin_before"] == 200  # a key verified before is not throttled
    assert {matrix["GET /health"][who] for who in drill_authz.ROLES} == {200}
    assert len(matrix) >= 21  # every operation of the OpenAPI document
