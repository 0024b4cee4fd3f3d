"""POST/GET /v1/id-cards/{external_id}: an ID card's front read, cross-checked with the application
and stored without the image; every way of sending a bad image answered clearly, before OCR.

Most tests read the card with a stand-in engine that answers RapidOCR's shape (what is tested
is the service around the OCR: limits, roles, storage, the ledger); one reads a drawn card with
the real RapidOCR (skipped without the 'ocr' extra or Debian's fonts-wqy-zenhei)."""

from __future__ import annotations

import importlib.util
import io
import struct
import zlib
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import func, select
from tests.api.conftest import ADMIN, Api
from tests.fraud.test_ocr import CARD_ID, FONT, LINES, draw_card

from creditfactory.api import Settings, _id_cards, create_app
from creditfactory.api._id_cards import OcrPool
from creditfactory.store import IdCardCheck, LedgerRow, verify


class FakeEngine:
    """Answers like RapidOCR: ``([[box, text, score], ...], elapsed)``; counts its calls."""

    def __init__(self, lines: list[str] = LINES) -> None:
        self.lines, self.calls = lines, 0

    def __call__(self, image: Any) -> tuple[list[Any], float]:
        self.calls += 1
        boxes = []
        for k, text in enumerate(self.lines):
            y = 40.0 * k
            boxes.append([[[10.0, y], [200.0, y], [200.0, y + 30], [10.0, y + 30]], text, 0.9])
        return boxes, 0.01


def png(size: tuple[int, int] = (64, 40), colour: tuple[int, int, int] = (230, 230, 230)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


def bomb_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A PNG whose header says width x height (10 gigapixels) and whose data is a few bytes:
    decoding it would take tens of gigabytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _apply(api: Api, app_id: str = "A1", **extra: Any) -> None:
    body = {"application_id": app_id, "id_number": CARD_ID, "phone": "13800000000", "age": 36,
            "monthly_income": 10000.0, "bureau_monthly_debt": 1000.0, "inquiries_3m": 0,
            "term_requested": 12, **extra}  # fmt: skip
    r = api.client.post("/v1/applications", json=body, headers=api.as_("admin"))
    assert r.status_code == 201, r.text


def _send(api: Api, image: bytes, role: str = "admin", app_id: str = "A1",
          media: str = "image/png") -> Any:  # fmt: skip
    headers = {**api.as_(role), "Content-Type": media}
    return api.client.post(f"/v1/id-cards/{app_id}", content=image, headers=headers)


@pytest.fixture
def cards(live: Api) -> tuple[Api, FakeEngine]:
    engine = FakeEngine()
    live.client.app.state.ocr = OcrPool(1, engine=engine)  # type: ignore[attr-defined]
    _apply(live, name="张伟明", address="江苏省苏州市吴中区东吴北路88号")
    return live, engine


def _rows(api: Api) -> tuple[int, int]:
    store = api.client.app.state.store  # type: ignore[attr-defined]
    with store.session() as s:
        checks = s.execute(select(func.count()).select_from(IdCardCheck)).scalar_one()
        ledger = s.execute(
            select(func.count()).select_from(LedgerRow).where(LedgerRow.kind == "id_card.check")
        ).scalar_one()
    return checks, ledger


def test_a_card_is_cross_checked_stored_without_the_image_and_read_back(cards) -> None:
    api, _engine = cards
    image = png()
    r = _send(api, image)
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["ok"]
    assert out["problems"] == []
    assert not out["replayed"]
    assert out["fields"] == dict.fromkeys(
        ("name", "id_number", "birth_date", "gender", "address"), "matched"
    )
    assert out["confidence"] == pytest.approx(0.9)
    assert "张伟明" not in r.text
    assert CARD_ID not in r.text
    got = api.client.get("/v1/id-cards/A1", headers=api.as_("read-only"))
    assert got.status_code == 200
    assert got.json()["id"] == out["id"]
    store = api.client.app.state.store  # type: ignore[attr-defined]
    with store.session() as s:
        row = s.execute(select(IdCardCheck)).scalar_one()
        stored = repr({c.name: getattr(row, c.name) for c in IdCardCheck.__table__.columns})
        assert "张伟明" not in stored
        assert CARD_ID not in stored
        assert "江苏" not in stored
        assert row.image_hmac is not None
        assert len(row.image_hmac) == 64
        import hashlib

        assert row.image_hmac != hashlib.sha256(image).hexdigest()  # keyed, not a bare hash
        assert verify(s).ok
    assert _rows(api) == (1, 1)


def test_a_repeated_image_replays_and_another_adds_a_check(cards) -> None:
    api, engine = cards
    first = _send(api, png())
    again = _send(api, png())
    assert again.status_code == 200
    assert again.json()["replayed"]
    assert again.json()["id"] == first.json()["id"]
    assert _rows(api) == (1, 1)
    # another number on the card: not the application's, nor the printed birth date's and sex's
    engine.lines = [*LINES[:5], "公民身份号码 11010519491231002X"]
    other = _send(api, png(colour=(200, 210, 220)))
    assert other.status_code == 201
    assert other.json()["problems"] == [
        "OCR_BIRTH_MISMATCH",
        "OCR_GENDER_MISMATCH",
        "OCR_ID_MISMATCH",
    ]
    assert other.json()["fields"]["id_number"] == "mismatched"
    assert _rows(api) == (2, 2)
    assert (
        api.client.get("/v1/id-cards/A1", headers=api.as_("admin")).json()["id"]
        == (other.json()["id"])
    )
    assert api.client.get("/v1/audit/verify", headers=api.as_("admin")).json()["ok"]


def test_mismatches_and_what_the_application_does_not_declare(cards) -> None:
    api, engine = cards
    _apply(api, "A2", name="李雷", gender="female")
    out = _send(api, png(), app_id="A2").json()
    assert out["problems"] == ["OCR_GENDER_MISMATCH", "OCR_NAME_MISMATCH"]
    assert out["fields"]["address"] == "not_declared"
    engine.lines = ["姓名 张伟明"]
    out = _send(api, png(colour=(1, 2, 3)), app_id="A2").json()
    assert out["problems"] == ["OCR_ID_UNREADABLE", "OCR_NAME_MISMATCH"]
    assert out["fields"]["id_number"] == "unread"


@pytest.mark.parametrize(
    ("media", "status"),
    [("application/json", 415), ("multipart/form-data; boundary=x", 415), ("text/plain", 415),
     ("image/gif", 415), ("image/png; charset=binary", 201), ("IMAGE/JPEG", 422)],
)  # fmt: skip
def test_the_content_type(cards, media: str, status: int) -> None:
    api, _ = cards
    r = _send(api, png(), media=media)  # a PNG sent as JPEG is still a PNG: read by its bytes
    if media == "IMAGE/JPEG":
        status = 201
    assert r.status_code == status, r.text
    if status == 415:
        assert "image/png or image/jpeg" in r.json()["detail"]


def test_no_content_type_and_no_file(cards) -> None:
    api, engine = cards
    r = api.client.post("/v1/id-cards/A1", content=png(), headers=api.as_("admin"))
    assert r.status_code == 415
    assert "got none" in r.json()["detail"]
    for body in (None, b""):
        r = api.client.post(
            "/v1/id-cards/A1",
            content=body,
            headers={**api.as_("admin"), "Content-Type": "image/png"},
        )
        assert r.status_code == 422, r.text
        assert r.json()["detail"].startswith("image: empty"), r.text
    assert engine.calls == 0
    assert _rows(api) == (0, 0)


def test_an_oversized_image_is_refused_before_it_is_read(cards) -> None:
    api, engine = cards
    big = b"\x89PNG" + b"\0" * (20 << 20)
    r = _send(api, big)
    assert r.status_code == 413
    assert "5,242,880" in r.json()["detail"]
    assert "MAX_IMAGE_BYTES" in r.json()["detail"]

    def chunks():  # no Content-Length: counted as it streams in
        for _ in range(40):
            yield b"\0" * (1 << 19)

    r = api.client.post("/v1/id-cards/A1", content=chunks(),
                        headers={**api.as_("admin"), "Content-Type": "image/png"})  # fmt: skip
    assert r.status_code == 413
    assert engine.calls == 0
    assert _rows(api) == (0, 0)


def test_bytes_that_are_no_image_and_a_decompression_bomb(cards) -> None:
    api, engine = cards
    for junk in (b"not an image at all", b"\x89PNG\r\n\x1a\n" + b"\0" * 100, b"GIF89a" + b"\0" * 50,
                 png()[:60]):  # fmt: skip
        r = _send(api, junk)
        assert r.status_code == 422, r.text
        assert r.json()["detail"].startswith("image: not a"), r.text
    bomb = bomb_png()
    assert len(bomb) < 200
    r = _send(api, bomb)
    assert r.status_code == 422
    assert r.json()["detail"] == "image: more than 40,000,000 pixels (refused before decoding)"
    r = _send(api, bomb_png(8000, 6000))  # a 48-megapixel header: ours, not Pillow's, refuses
    assert r.json()["detail"] == (
        "image: 8000 x 6000 pixels is more than 40,000,000 (refused before decoding)"
    )
    assert engine.calls == 0
    assert _rows(api) == (0, 0)


def test_unknown_applications_and_roles(cards) -> None:
    api, _ = cards
    r = _send(api, png(), app_id="nobody")
    assert r.status_code == 404
    assert "nobody" in r.json()["detail"]
    assert api.client.get("/v1/id-cards/nobody", headers=api.as_("admin")).status_code == 404
    r = api.client.get("/v1/id-cards/A1", headers=api.as_("admin"))
    assert r.status_code == 404
    assert "no ID card was checked" in r.json()["detail"]
    for role in ("analyst", "read-only"):
        r = _send(api, png(), role=role)
        assert r.status_code == 403
        assert r.json()["detail"] == (
            f"role {role!r} may not check ID cards (needs one of: admin, underwriter)"
        )
    assert _send(api, png(), role="underwriter").status_code == 201
    r = api.client.post("/v1/id-cards/A1", content=png(), headers={"Content-Type": "image/png"})
    assert r.status_code == 401


def test_without_the_ocr_extra_and_when_busy(cards, monkeypatch) -> None:
    api, _engine = cards
    monkeypatch.setattr(_id_cards, "ocr_installed", lambda: False)
    r = _send(api, png())
    assert r.status_code == 501
    assert "creditfactory[ocr]" in r.json()["detail"]
    monkeypatch.undo()
    pool = api.client.app.state.ocr  # type: ignore[attr-defined]
    pool.waiting = pool.workers * 9
    r = _send(api, png())
    assert r.status_code == 503
    assert r.headers["retry-after"] == "1"
    pool.waiting = 0
    assert _send(api, png()).status_code == 201


def test_a_hash_only_service_matches_identifiers_by_their_keyed_hash(
    db_url: str, strategy_yaml: str
) -> None:
    from fastapi.testclient import TestClient

    settings = Settings(database_url=db_url, admin_key=ADMIN, list_secret="list-secret",
                        qc_rate=0.0, engine_process=False)  # fmt: skip
    app = create_app(settings)
    headers = {"X-API-Key": ADMIN}
    try:
        with TestClient(app) as client:
            api = Api(client, {"admin": headers})
            client.post("/v1/strategies", json={"source": strategy_yaml, "activate": True},
                        headers=headers)  # fmt: skip
            app.state.ocr = OcrPool(1, engine=FakeEngine())
            _apply(api, name="张伟明", address="江苏省苏州市吴中区东吴北路88号")
            out = _send(api, png()).json()
            assert out["ok"], out
            assert out["fields"]["id_number"] == "matched"
            assert out["fields"]["name"] == "matched"
            _apply(api, "A2", name="李雷")
            assert _send(api, png(), app_id="A2").json()["problems"] == ["OCR_NAME_MISMATCH"]
    finally:
        app.state.store.dispose()


@pytest.mark.slow
def test_a_drawn_card_through_the_real_ocr(live: Api, request) -> None:
    if "postgresql" in request.node.name:
        pytest.skip("the OCR is the same on both databases: read once")
    if importlib.util.find_spec("rapidocr_onnxruntime") is None:
        pytest.skip("ID-card OCR needs the optional extra: pip install 'creditfactory[ocr]'")
    if not FONT.is_file():
        pytest.skip(f"drawing a card needs a CJK font: Debian package fonts-wqy-zenhei ({FONT})")
    out = io.BytesIO()
    draw_card().save(out, "JPEG", quality=90)
    _apply(live, name="张伟明", address="江苏省苏州市吴中区东吴北路88号")
    r = _send(live, out.getvalue(), media="image/jpeg")
    assert r.status_code == 201, r.text
    assert r.json()["ok"], r.json()
    assert r.json()["confidence"] > 0.8


def test_a_check_altered_behind_the_service_is_caught_by_the_ledger(cards) -> None:
    api, _ = cards
    assert _send(api, png()).status_code == 201
    store = api.client.app.state.store  # type: ignore[attr-defined]
    from sqlalchemy import text

    with store.session() as s:
        s.execute(text("UPDATE id_card_checks SET problems = '[]', ok = false"))
    with store.session() as s:
        verdict = verify(s)
        assert not verdict.ok
        assert any("id_card_check:" in str(p) for p in verdict.problems), verdict.problems
