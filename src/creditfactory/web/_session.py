"""The dashboard's session: a signed cookie naming the API key that logged in, and its CSRF token.

The cookie holds no secret: the key's row id, the time of login and a random CSRF token, signed
with HMAC-SHA256. Every request checks the signature, the age and that the key is still active
(a revoked key ends its sessions at once); the role is read from the store each time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

COOKIE = "cf_session"
LOGIN_CSRF_COOKIE = "cf_login_csrf"


@dataclass(frozen=True)
class Grant:
    """What a valid cookie says: the key's row id, when it logged in, its CSRF token."""

    key_id: int
    issued: float
    csrf: str


class Signer:
    """Signs and opens session cookies with one HMAC key.

    Examples
    --------
    >>> signer = Signer(b"k" * 32, max_age=60)
    >>> cookie = signer.issue(7)
    >>> signer.open(cookie).key_id
    7
    >>> signer.open(cookie[:-1] + ("1" if cookie.endswith("0") else "0")) is None
    True
    """

    def __init__(self, key: bytes, max_age: float) -> None:
        self._key = key
        self.max_age = max_age

    def _sign(self, body: str) -> str:
        return hmac.new(self._key, body.encode("ascii"), hashlib.sha256).hexdigest()

    def issue(self, key_id: int) -> str:
        """A new cookie value for ``key_id`` with a fresh CSRF token."""
        data = {"k": key_id, "t": time.time(), "c": secrets.token_urlsafe(24)}
        body = base64.urlsafe_b64encode(json.dumps(data).encode("utf-8")).decode("ascii")
        return f"{body}.{self._sign(body)}"

    def open(self, value: str | None) -> Grant | None:
        """The grant of a cookie value, or ``None`` when it is missing, altered or expired."""
        if not value or value.count(".") != 1:
            return None
        body, mac = value.split(".")
        if not hmac.compare_digest(mac, self._sign(body)):
            return None
        try:
            data = json.loads(base64.urlsafe_b64decode(body.encode("ascii")))
            grant = Grant(int(data["k"]), float(data["t"]), str(data["c"]))
        except (ValueError, KeyError, TypeError):
            return None
        if not 0 <= time.time() - grant.issued <= self.max_age:
            return None
        return grant


def same_token(given: str | None, expected: str | None) -> bool:
    """Whether a form's CSRF token matches the expected one (constant time; empty never does)."""
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))
