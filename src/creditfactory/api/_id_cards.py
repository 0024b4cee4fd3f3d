"""``/v1/id-cards/{external_id}``: read the front of an ID card sent for an application, cross-check
it with the application, store the result (never the image), and read the stored result.

The image is the raw request body (``Content-Type: image/png`` or ``image/jpeg``), at most
``CREDITFACTORY_MAX_IMAGE_BYTES`` (413 from ``Content-Length`` before it is read). Its header is
read before anything is decoded (a decompression bomb is refused unread), then it is decoded,
scaled down and read by RapidOCR (the optional extra ``ocr``; 501 without it) on a thread beside
the event loop, ``CREDITFACTORY_OCR_WORKERS`` at a time (a few more wait; beyond, 503).
"""

from __future__ import annotations

import asyncio
import importlib.util
import threading
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response, status
from pydantic import BaseModel, Field

from creditfactory.api._deps import Caller, Reader, allowed
from creditfactory.api._errors import BusyError, NotInstalledError, UnsupportedMediaError
from creditfactory.api._schemas import ERRORS
from creditfactory.exceptions import DataError
from creditfactory.fraud import (
    CHECKED_FIELDS,
    IMAGE_FORMATS,
    cross_check,
    decode_card_image,
    ocr_engine,
    read_id_card,
    same_value,
)
from creditfactory.store import (
    PII_PREFIX,
    IdCardCheck,
    NotFoundError,
    Protector,
    Store,
    add_id_card_check,
    find_application,
    image_hmac,
    latest_id_card_check,
)

router = APIRouter(prefix="/v1/id-cards", tags=["id-cards"], responses=ERRORS)

MEDIA_TYPES = tuple(IMAGE_FORMATS.values())
WAITING_PER_WORKER = 8  # images that may wait for a free OCR worker, per worker
_IMAGE_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "the front of the ID card, as PNG or JPEG bytes (not a form)",
        "content": {m: {"schema": {"type": "string", "format": "binary"}} for m in MEDIA_TYPES},
    },
}
# the application's fields a card is compared with, and where each may be stored
_DECLARED = {
    "id_number": ("id_number",), "name": ("name", "full_name"), "gender": ("gender",),
    "address": ("address",),
}  # fmt: skip

ExternalId = Annotated[
    str, Path(min_length=1, max_length=100, description="the client's own application id")
]


class IdCardCheckPublic(BaseModel):
    """The stored cross-check of an ID card with an application (nothing of the image, none of
    the values read from the card)."""

    id: int
    application_id: int = Field(description="the service's id of the application")
    external_id: str | None = Field(description="the client's own application id")
    ok: bool = Field(description="no problem found")
    problems: list[str] = Field(description="reason codes (creditfactory.fraud.OCR_REASONS)")
    fields: dict[str, str] = Field(
        description=f"each of {', '.join(CHECKED_FIELDS)}: matched, mismatched, unread "
        "(not read from the card) or not_declared (nothing in the application to compare)"
    )
    confidence: float | None = Field(description="the OCR's mean confidence, 0 to 1")
    checked_by: str
    checked_at: datetime
    replayed: bool = Field(False, description="the same image as the latest check: its result")


class OcrPool:
    """The OCR engine (loaded once, on first use, or the one given) and the bound on images read
    at once."""

    def __init__(self, workers: int, engine: Any = None) -> None:
        self.workers = workers
        self.slots = asyncio.Semaphore(workers)
        self.waiting = 0
        self._engine: Any = engine
        self._lock = threading.Lock()

    def engine(self) -> Any:
        with self._lock:
            if self._engine is None:
                self._engine = ocr_engine()
            return self._engine

    def read(self, image: bytes) -> Any:
        """Decode and read one image (blocking: run on a thread)."""
        pixels = decode_card_image(image)
        return read_id_card(pixels, engine=self.engine())

    async def run(self, image: bytes) -> Any:
        if self.waiting >= self.workers * (1 + WAITING_PER_WORKER):
            raise BusyError(
                f"{self.waiting} ID-card images are being read or waiting "
                "(CREDITFACTORY_OCR_WORKERS); retry in a moment"
            )
        self.waiting += 1
        try:
            async with self.slots:
                return await asyncio.to_thread(self.read, image)
        finally:
            self.waiting -= 1


def ocr_installed() -> bool:
    """Whether the optional extra ``ocr`` (rapidocr-onnxruntime) is installed."""
    return importlib.util.find_spec("rapidocr_onnxruntime") is not None


def _pool(request: Request) -> OcrPool:
    state = request.app.state
    pool: OcrPool | None = getattr(state, "ocr", None)
    if pool is None:
        pool = state.ocr = OcrPool(state.settings.ocr_workers)
    return pool


def _media_type(request: Request) -> str:
    given = request.headers.get("content-type")
    media = (given or "").split(";", 1)[0].strip().lower()
    if media not in MEDIA_TYPES:
        shown = "none" if given is None else repr(given[:100])
        raise UnsupportedMediaError(
            f"Content-Type: send the image itself as {' or '.join(MEDIA_TYPES)} (got {shown})"
        )
    return media


def declared_values(pii: Protector, payload: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    """What an application declares for the cross-check, from its stored payload, and the
    comparison that also matches a keyed hash: an identifier stored encrypted is opened; one
    stored as a keyed hash only is compared by hashing the card's value the same way; one
    stored with nothing recoverable counts as not declared."""
    declared: dict[str, Any] = {}
    stored_as: dict[str, str] = {}
    for field, names in _DECLARED.items():
        for name in names:
            value = payload.get(name)
            if value is None:
                continue
            if isinstance(value, str) and value.startswith(PII_PREFIX):
                try:
                    value = pii.open(value, name)
                except DataError:
                    parts = value.split(":")
                    if len(parts) != 5 or parts[3] in ("", "-"):
                        continue  # nothing to compare with
            declared[field], stored_as[field] = value, name
            break

    def equal(field: str, card: str, value: Any) -> bool:
        if isinstance(value, str) and value.startswith(PII_PREFIX):
            digest = value.split(":")[3]
            sealed = pii.seal(stored_as[field], card)
            return sealed.split(":")[3] == digest
        return same_value(field, card, value)

    return declared, equal


def _public(row: IdCardCheck, external_id: str | None, replayed: bool = False) -> IdCardCheckPublic:
    return IdCardCheckPublic(
        id=row.id, application_id=row.application_id, external_id=external_id, ok=row.ok,
        problems=list(row.problems), fields=dict(row.fields),
        confidence=None if row.confidence is None else float(row.confidence),
        checked_by=row.checked_by, checked_at=row.checked_at, replayed=replayed,
    )  # fmt: skip


def _application(store: Store, external_id: str) -> tuple[int, dict[str, Any]]:
    with store.session() as session:
        app = find_application(session, external_id)
        return app.id, dict(app.payload)


def _store(
    store: Store, app_id: int, result: dict[str, Any], actor: str, image_hash: str | None
) -> tuple[IdCardCheck, bool]:
    with store.session() as session:
        row, created = add_id_card_check(session, app_id, result, actor, image_hash)
        session.flush()
        session.expunge(row)
    return row, created


@router.post(
    "/{external_id:path}", response_model=IdCardCheckPublic,
    status_code=status.HTTP_201_CREATED, openapi_extra=_IMAGE_DOC,
)  # fmt: skip
async def check_id_card(
    external_id: ExternalId,
    request: Request,
    response: Response,
    caller: Annotated[Caller, Depends(allowed("id_cards.check"))],
) -> IdCardCheckPublic:
    """Read the front of an ID card for the application the client sent with its own id,
    cross-check name, ID number, birth date, gender and address with it, and store the result
    (chained into the ledger; nothing of the image but a keyed hash). The same image again as
    the application's latest check answers 200 with that check (``replayed``); another image
    adds a check, which ``GET`` then answers."""
    _media_type(request)
    if not ocr_installed():
        raise NotInstalledError(
            "ID-card OCR is not installed on this service: pip install 'creditfactory[ocr]' "
            "(rapidocr-onnxruntime)"
        )
    state = request.app.state
    store: Store = state.store
    pii: Protector = state.pii
    app_id, payload = await asyncio.to_thread(_application, store, external_id)
    image = await request.body()  # the limits middleware refused a larger one unread
    if not image:
        raise DataError("image: empty (no bytes); send the card's front as the request body")
    card = await _pool(request).run(image)
    declared, equal = declared_values(pii, payload)
    result = cross_check(card, declared, equal=equal)
    image_hash = image_hmac(pii.hash_secret, image)
    row, created = await asyncio.to_thread(_store, store, app_id, result, caller.name, image_hash)
    if not created:
        response.status_code = status.HTTP_200_OK
    return _public(row, external_id, replayed=not created)


@router.get("/{external_id:path}", response_model=IdCardCheckPublic)
def read_id_card_check(external_id: ExternalId, request: Request, _: Reader) -> IdCardCheckPublic:
    """The latest ID-card cross-check of the application the client sent with its own id (404
    when there is no such application or no card was checked for it)."""
    store: Store = request.app.state.store
    with store.session() as session:
        app = find_application(session, external_id)
        row = latest_id_card_check(session, app.id)
        if row is None:
            raise NotFoundError(f"no ID card was checked for application {external_id!r}")
        return _public(row, external_id)


__all__ = ["IdCardCheckPublic", "OcrPool", "declared_values", "ocr_installed", "router"]
