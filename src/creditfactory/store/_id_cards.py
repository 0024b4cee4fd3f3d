"""ID-card cross-checks in the store (since revision 0006_id_card_checks): one row per image
checked for an application, each chained into the ledger in its transaction.

Nothing of the image is stored but a keyed hash of its bytes (HMAC-SHA256 under a key derived
from the hash key of personal identifiers; none without one), which tells a repeated upload of
the same image from a new one. Nor are the values read from the card (a name, an ID number, an
address: personal data): only whether each matched the application, the reason codes and the
OCR's confidence.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from creditfactory.store._errors import NotFoundError
from creditfactory.store._id_card_table import IdCardCheck
from creditfactory.store._ledger import append
from creditfactory.store._records import record_digest, subject_of
from creditfactory.store._repo import now
from creditfactory.store._tables import Application, LedgerHead

_IMAGE_INFO = b"creditfactory id-card image"


def image_hmac(secret: str | None, image: bytes) -> str | None:
    """The keyed hash of an image's bytes (None without a key): HMAC-SHA256 under a key derived
    from ``secret`` (the hash key of personal identifiers), never a bare SHA-256, which would
    let whoever holds the row confirm a guessed image."""
    if not secret:
        return None
    key = hmac.new(secret.encode(), _IMAGE_INFO, hashlib.sha256).digest()
    return hmac.new(key, image, hashlib.sha256).hexdigest()


def latest_id_card_check(session: Session, application_id: int) -> IdCardCheck | None:
    """The latest cross-check of an application (None when no image was checked)."""
    stmt = (
        select(IdCardCheck)
        .where(IdCardCheck.application_id == application_id)
        .order_by(IdCardCheck.id.desc())
        .limit(1)
    )
    return session.execute(stmt).scalar_one_or_none()


def add_id_card_check(
    session: Session,
    application_id: int,
    result: dict[str, Any],
    actor: str,
    image_hash: str | None = None,
) -> tuple[IdCardCheck, bool]:
    """Store a cross-check (``result`` as :func:`creditfactory.fraud.cross_check` gives it) and
    chain it into the ledger: ``(row, created)``. The same image (same keyed hash) as the
    application's latest check answers that row, ``created`` false, and stores nothing.

    Raises
    ------
    NotFoundError
        No such application.
    """
    # the ledger's lock first: two uploads of one image queue up, the second finds the first
    session.execute(update(LedgerHead).where(LedgerHead.id == 1).values(seq=LedgerHead.seq))
    if session.get(Application, application_id) is None:
        raise NotFoundError(f"application {application_id} not found")
    latest = latest_id_card_check(session, application_id)
    if latest is not None and image_hash is not None and latest.image_hmac == image_hash:
        return latest, False
    confidence = result.get("confidence")
    row = IdCardCheck(
        application_id=application_id, image_hmac=image_hash, ok=bool(result["ok"]),
        problems=list(result["problems"]), fields=dict(result["fields"]),
        confidence=None if confidence is None else f"{float(confidence):.4f}",
        checked_by=actor, checked_at=now(),
    )  # fmt: skip
    session.add(row)
    session.flush()
    append(
        session, "id_card.check", subject_of(row), actor,
        {"application_id": application_id, "ok": row.ok, "problems": row.problems,
         "replaces": None if latest is None else subject_of(latest),
         "digests": {subject_of(row): record_digest(row)}},
    )  # fmt: skip
    return row, True


__all__ = ["IdCardCheck", "add_id_card_check", "image_hmac", "latest_id_card_check"]
