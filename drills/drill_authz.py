"""authorisation: every endpoint of the OpenAPI document with every role, a revoked key, a
wrong key and no key, printed as a matrix of statuses and compared with the documented table.

Each request is one that would succeed for a role allowed to make it (existing ids, a valid
body, a fresh key to revoke, a pending review to decide), so a status says what the role check
decided. Expected: the roles the documented table (``docs/service.md``, "API keys and roles")
allows get past the check (anything but 401/403), the others a 401 or 403. An **unauthorised
success** is a 2xx/3xx for a caller the table does not allow; it must never happen. The drill
also checks that the table in the docs and ``creditfactory.api.PERMISSIONS`` agree.

The callers without a good key (revoked, wrong, none) send from another client address
(``X-Forwarded-For``): past ``CREDITFACTORY_AUTH_FAILURES`` (20 a minute) that address gets
429s, a refusal like 401, on every endpoint, ``/health`` too. Then the failed-login throttle
itself: 25 wrong keys from a third address (20 401s, then 429s), the admin's verified key from
there before and after a key is revoked (200 both times, as documented), and a key created and
revoked at once 30 times (the 201 must follow the commit: no 404).
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

from drills._common import (
    ROLES,
    application,
    call,
    populate,
    result,
    say,
    start,
    strategy_text,
    workdir,
)
from drills.drill_fuzz import WRONG_KEY

DOCS = Path(__file__).resolve().parents[1] / "docs" / "service.md"
CALLERS = (*ROLES, "revoked", "wrong key", "no key")
# Callers without a good key send from another client address (X-Forwarded-For, trusted from
# 127.0.0.1 by default): past CREDITFACTORY_AUTH_FAILURES (20 a minute) their wrong keys get
# 429s, a refusal like 401, and the honest callers' address is not throttled by them.
STRANGERS = {"revoked", "wrong key", "no key"}
ATTACKER = "203.0.113.7"
REFUSED = (401, 403, 429)
# which documented action each endpoint is (GETs are "read" unless listed)
ACTIONS = {
    "POST /v1/applications": "applications.create",
    "POST /v1/reviews/{review_id}": "reviews.decide",
    "POST /v1/strategies": "strategies.upload",
    "POST /v1/strategies/{strategy_id}/activate": "strategies.activate",
    "POST /v1/strategies/rollback": "strategies.activate",
    "POST /v1/models": "models.register",
    "POST /v1/lists/{list_name}/entries": "lists.write",
    "POST /v1/lists/{list_name}/remove": "lists.write",
    "POST /v1/keys": "keys.manage",
    "GET /v1/keys": "keys.manage",
    "DELETE /v1/keys/{key_id}": "keys.manage",
    "POST /v1/loans": "loans.create",
    "POST /v1/loans/{loan_id}/payments": "loans.pay",
    "POST /v1/loans/{loan_id}/write-off": "loans.write_off",
    "POST /v1/id-cards/{external_id}": "id_cards.check",
}
PUBLIC = {"GET /health"}
# docs/service.md's rows -> the permissions they document
DOC_ROWS = {
    "post applications": ["applications.create"],
    "decide reviews": ["reviews.decide"],
    "upload strategies": ["strategies.upload", "models.register", "lists.write"],
    "activate / roll back strategies": ["strategies.activate"],
    "simulate a candidate strategy": ["strategies.simulate"],
    "create / revoke keys": ["keys.manage"],
    "disburse loans, post payments": ["loans.create", "loans.pay"],
    "write loans off": ["loans.write_off"],
    "check ID cards": ["id_cards.check"],
}


def documented() -> dict[str, set[str]]:
    """The role table of ``docs/service.md``: permission -> roles with a tick."""
    text = DOCS.read_text(encoding="utf-8")
    out: dict[str, set[str]] = {"read": set(ROLES)}  # "Every GET accepts any valid key"
    header: list[str] | None = None
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| action |"):
            header = cells
            continue
        if header is None or not line.startswith("|") or set(line) <= set("|:- "):
            if header is not None and not line.startswith("|"):
                header = None
            continue
        for row, permissions in DOC_ROWS.items():
            if cells[0].startswith(row):
                roles = {header[i] for i, c in enumerate(cells) if i and c == "✓"}
                for p in permissions:
                    out[p] = roles
    return out


class Requests:
    """A request per endpoint that an allowed caller would see succeed."""

    def __init__(self, svc: Any):
        self.svc, self.admin, self.n = svc, svc.keys["admin"], 0
        self.pending: list[int] = []

    def _admin(self, method: str, path: str, body: Any = None) -> Any:
        status, answer = call(self.svc.url, method, path, self.admin, body)
        if status >= 300:
            raise RuntimeError(f"{method} {path} answered {status}: {answer[:200]!r}")
        return json.loads(answer)

    def prepare(self, reviews: int) -> None:
        for i in range(reviews):
            self._admin("POST", "/v1/applications", application(900 + i, "R", refer=True))
        queue = self._admin("GET", "/v1/reviews?status=pending&limit=1000")
        self.pending = [r["id"] for r in queue]
        self.loan_id = self._loan(0)  # for GET /v1/loans/{loan_id}

    def _approved(self, n: int) -> int:
        """The id of a fresh approved decision (a loan may be disbursed from it once)."""
        answer = self._admin("POST", "/v1/applications", application(7000 + n, "L"))
        if answer["decision"] != "approve":
            raise RuntimeError(f"the drill's loan application was not approved: {answer!r}")
        return int(answer["decision_id"])

    def _loan(self, n: int) -> int:
        """The id of a fresh loan (each call may pay it or write it off)."""
        return int(self._admin("POST", "/v1/loans", {"decision_id": self._approved(n)})["id"])

    def build(
        self, method: str, path: str, spec: dict[str, Any]
    ) -> tuple[str, Any, dict[str, str]]:
        """``(path with ids, body, headers)`` for one call."""
        self.n += 1
        n = self.n
        key = f"{method} {spec['template']}"
        headers: dict[str, str] = {}
        values: dict[str, Any] = {
            "application_id": 1,
            "decision_id": 1,
            "strategy_id": 1,
            "list_name": "blacklist",
            "external_id": "T1000",  # an application populate() sent
        }
        if "{key_id}" in path:
            values["key_id"] = self._admin(
                "POST", "/v1/keys", {"name": f"victim-{n}", "role": "read-only"}
            )["id"]
        if "{review_id}" in path:
            values["review_id"] = self.pending.pop(0) if self.pending else 1
        if "{loan_id}" in path:
            values["loan_id"] = self._loan(n) if method == "POST" else self.loan_id
        if key == "POST /v1/loans/{loan_id}/payments":
            headers["Idempotency-Key"] = f"authz-{n}-{uuid.uuid4().hex[:8]}"
        if key == "POST /v1/id-cards/{external_id}":
            headers["Content-Type"] = "image/png"
        for name in re.findall(r"{(\w+)}", path):
            path = path.replace(f"{{{name}}}", str(values.get(name, 1)))
        bodies = {
            "POST /v1/applications": application(5000 + n, "Z"),
            "POST /v1/strategies": {"source": strategy_text(f"9.{n}"), "activate": False},
            "POST /v1/models": {"name": "authz", "version": str(n), "spec": _model_spec()},
            "POST /v1/lists/{list_name}/entries": {"field": "phone", "values": [f"1{n:010d}"]},
            "POST /v1/lists/{list_name}/remove": {"field": "phone", "values": [f"1{n:010d}"]},
            "POST /v1/keys": {"name": f"made-{n}-{uuid.uuid4().hex[:4]}", "role": "read-only"},
            "POST /v1/reviews/{review_id}": {"outcome": "approve", "reason": "authz drill"},
            "POST /v1/loans": (
                {"decision_id": self._approved(n)} if key == "POST /v1/loans" else None
            ),
            "POST /v1/loans/{loan_id}/payments": {"amount": "100.00"},
            "POST /v1/loans/{loan_id}/write-off": {"reason": "authz drill"},
            "POST /v1/id-cards/{external_id}": _card_image(),  # raw bytes, not JSON
        }
        return path, bodies.get(key), headers


def _card_image() -> bytes:
    """A small blank PNG: the OCR reads nothing on it, and the check is stored (201)."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (120, 76), (235, 235, 235)).save(out, "PNG")
    return out.getvalue()


def _model_spec() -> dict[str, Any]:
    from drills._common import MODEL_SPEC

    return MODEL_SPEC


def expected(endpoint: str, permissions: dict[str, frozenset[str]]) -> set[str] | None:
    """Callers allowed on ``endpoint`` (``None``: not in the drill's table of endpoints)."""
    if endpoint in PUBLIC:
        return set(CALLERS)
    action = ACTIONS.get(endpoint)
    if action is None:
        return set(permissions["read"]) if endpoint.startswith("GET ") else None
    return set(permissions[action])


def commit_race(svc: Any, tries: int) -> list[str]:
    """``POST /v1/keys`` then at once ``DELETE`` that key, ``tries`` times: a 404 means the
    201 was sent before the key was committed (a revocation right after creation fails)."""
    misses: list[str] = []
    for i in range(tries):
        _status, body = call(
            svc.url,
            "POST",
            "/v1/keys",
            svc.keys["admin"],
            {"name": f"race-{i}-{uuid.uuid4().hex[:4]}", "role": "read-only"},
        )
        key_id = json.loads(body)["id"]
        gone, answer = call(svc.url, "DELETE", f"/v1/keys/{key_id}", svc.keys["admin"])
        if gone != 200:
            misses.append(f"{gone}: {answer[:80]!r}")
            call(svc.url, "DELETE", f"/v1/keys/{key_id}", svc.keys["admin"])
    say(
        f"  POST /v1/keys then at once DELETE /v1/keys/<its id>, {tries} times: "
        f"{len(misses)} answered other than 200"
    )
    if not misses:
        return []
    return [
        f"POST /v1/keys answers 201 before the key is committed: DELETE /v1/keys/<its id> "
        f"right after answered {misses[0]} in {len(misses)} of {tries} tries (a revocation "
        "right after creation fails)"
    ]


def throttling(svc: Any, address: str = "203.0.113.8") -> dict[str, Any]:
    """Wrong keys from ``address`` (X-Forwarded-For): 401s up to CREDITFACTORY_AUTH_FAILURES,
    then 429s; the admin's key, verified before, still works from there, also after a key
    was revoked (docs/service.md "Failed authentications")."""
    admin, xff = svc.keys["admin"], {"X-Forwarded-For": address}
    call(svc.url, "GET", "/v1/keys", admin)  # verified (again) from the honest address
    statuses: dict[int, int] = {}
    for _ in range(25):
        status, _ = call(svc.url, "GET", "/v1/keys", WRONG_KEY + uuid.uuid4().hex, headers=xff)
        statuses[status] = statuses.get(status, 0) + 1
    before = call(svc.url, "GET", "/v1/keys", admin, headers=xff)[0]
    made = json.loads(
        call(svc.url, "POST", "/v1/keys", admin, {"name": "t", "role": "read-only"})[1]
    )
    revoked = call(svc.url, "DELETE", f"/v1/keys/{made['id']}", admin)[0]
    after = call(svc.url, "GET", "/v1/keys", admin, headers=xff)[0]
    say(
        f"  25 wrong keys from {address}: {dict(sorted(statuses.items()))}; then the admin's "
        f"key from there: {before}; a key revoked ({revoked}); the admin's key again: {after}"
    )
    findings = []
    if statuses != {401: 20, 429: 5}:
        findings.append(
            f"25 wrong keys from one address answered {statuses}, not 20 401s then 429s"
        )
    if before != 200:
        findings.append(f"a verified admin key from a throttled address answered {before}")
    if after != 200:
        findings.append(
            f"GET /v1/keys with the verified admin key from a throttled address answered "
            f"{after} after a key was revoked (DELETE /v1/keys/<id> empties the cache of "
            "verified keys, which the failed-login throttle exempts)"
        )
    return {"wrong_keys": statuses, "admin_before": before, "admin_after_revoke": after,
            "findings": findings}  # fmt: skip


def run(quick: bool = False, races: int = 30) -> dict[str, Any]:
    """``races``: how many times to create a key and revoke it at once (0: not checked)."""
    from creditfactory.api import PERMISSIONS

    say(
        "authorisation drill: every endpoint of /openapi.json x (admin, analyst, underwriter, "
        "read-only, a revoked admin key, a wrong key, no key), each request one an allowed "
        "caller would see succeed; compared with docs/service.md's role table"
    )
    findings: list[str] = []
    docs = documented()
    for permission, roles in PERMISSIONS.items():
        if permission in docs and docs[permission] != set(roles):
            findings.append(
                f"docs/service.md gives {permission} to {sorted(docs[permission])}, "
                f"the code (PERMISSIONS) to {sorted(roles)}"
            )
    undocumented = sorted(set(PERMISSIONS) - set(docs))
    if undocumented:
        findings.append(f"permissions not in docs/service.md's table: {undocumented}")
    with workdir("authz") as tmp:
        svc = start(f"sqlite:///{tmp / 'authz.db'}", tmp)
        try:
            populate(svc, 1)
            _status, body = call(
                svc.url,
                "POST",
                "/v1/keys",
                svc.keys["admin"],
                {"name": "to-revoke", "role": "admin"},
            )
            revoked = json.loads(body)
            gone = call(svc.url, "DELETE", f"/v1/keys/{revoked['id']}", svc.keys["admin"])
            if gone[0] != 200:
                raise RuntimeError(f"revoking the drill's key answered {gone[0]}: {gone[1]!r}")
            if races:
                findings += commit_race(svc, races)
            throttle = throttling(svc)
            findings += throttle.pop("findings")
            keys = {**svc.keys, "revoked": revoked["key"], "wrong key": WRONG_KEY, "no key": None}
            doc = json.loads(call(svc.url, "GET", "/openapi.json")[1])
            builder = Requests(svc)
            builder.prepare(reviews=len(CALLERS) + 2)
            matrix: list[tuple[str, str, dict[str, int]]] = []
            unauthorised = mismatches = 0
            for template, ops in doc["paths"].items():
                for method in ops:
                    endpoint = f"{method.upper()} {template}"
                    allowed = expected(endpoint, PERMISSIONS)
                    row: dict[str, int] = {}
                    for who in CALLERS:
                        path, payload, extra = builder.build(
                            method.upper(), template, {"template": template}
                        )
                        if who in STRANGERS:
                            extra["X-Forwarded-For"] = ATTACKER
                        raw = payload if isinstance(payload, bytes) else None
                        row[who], answer = call(
                            svc.url, method.upper(), path, keys[who],
                            None if raw is not None else payload, headers=extra, raw=raw,
                        )  # fmt: skip
                        ok = row[who] < 400
                        if allowed is None:
                            if who in ("revoked", "wrong key", "no key") and ok:
                                unauthorised += 1
                                findings.append(
                                    f"UNAUTHORISED: {method.upper()} {path} with "
                                    f"{who} answered {row[who]}"
                                )
                            continue
                        if who not in allowed and ok:
                            unauthorised += 1
                            findings.append(
                                f"UNAUTHORISED: {method.upper()} {path} with {who} "
                                f"answered {row[who]}: {answer[:120]!r}"
                            )
                        elif who not in allowed and row[who] not in REFUSED:
                            mismatches += 1
                            findings.append(
                                f"{method.upper()} {path} with {who}: {row[who]} "
                                "(expected 401 or 403, or 429 once throttled)"
                            )
                        elif (
                            who in allowed
                            and row[who] in REFUSED
                            and not (endpoint in PUBLIC and who in STRANGERS and row[who] == 429)
                        ):  # a throttled address is refused everything, /health too
                            mismatches += 1
                            findings.append(
                                f"{method.upper()} {path} with {who}: {row[who]} "
                                "(the table allows it)"
                            )
                    if allowed is None:
                        findings.append(
                            f"{endpoint}: not in the drill's table of endpoints "
                            "(add it to drills/drill_authz.py ACTIONS)"
                        )
                    label = (
                        "?"
                        if allowed is None
                        else "anyone"
                        if endpoint in PUBLIC
                        else ",".join(r[:5] for r in ROLES if r in allowed)
                    )
                    matrix.append((endpoint, label, row))
        finally:
            svc.stop()
    _print(matrix, PERMISSIONS)
    cells = len(matrix) * len(CALLERS)
    say(
        f"  {len(matrix)} endpoints x {len(CALLERS)} callers = {cells} requests; "
        f"{unauthorised} unauthorised successes, {mismatches} other differences from the table"
    )
    return result(
        "authz",
        unauthorised == 0 and not findings,
        sent=cells,
        unauthorised=unauthorised,
        findings=findings,
        figures={
            "matrix": {e: row for e, _, row in matrix},
            "callers": list(CALLERS),
            "throttling": throttle,
        },
    )


def _print(matrix: list[tuple[str, str, dict[str, int]]], permissions: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title="status by endpoint and caller (green: as documented)", title_justify="left")
    t.add_column("endpoint")
    t.add_column("allowed")
    for who in CALLERS:
        t.add_column(who, justify="right")
    for endpoint, allowed, row in matrix:
        cells = []
        for who, status in row.items():
            permitted = expected(endpoint, permissions)
            good = permitted is not None and (
                (status < 400) if who in permitted else status in REFUSED
            )
            if permitted is not None and who in permitted and status >= 400:
                good = status not in REFUSED  # refused for another reason: not the role
            cells.append(f"[{'green' if good else 'bold red'}]{status}[/]")
        t.add_row(endpoint, allowed, *cells)
    Console(width=170).print(t)
