"""ID-card OCR: parsing and cross-checks by hand; RapidOCR on drawn cards, straight and as a
rotated, noisy photo (skipped without the 'ocr' extra or Debian's fonts-wqy-zenhei)."""

from __future__ import annotations

import datetime as dt
import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from creditfactory.exceptions import DataError
from creditfactory.fraud import cross_check, parse_id_card_text, read_id_card

FONT = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
# 32058219900307451 + its check character, worked out by hand: the digits weighted by
# 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2 sum to 3*7+2*9+0+5*5+8*8+2*4+1*2+9*1+9*6+0+0+3*9+0+7*5
# +4*8+5*4+1*2 = 317; 317 mod 11 = 9 -> "10X98765432"[9] = "3"
CARD_ID = "320582199003074513"
LINES = [
    "姓名 张伟明",
    "性别 男 民族 汉",
    "出生 1990年3月7日",
    "住址 江苏省苏州市吴中区",
    "东吴北路88号",
    "公民身份号码 " + CARD_ID,
]


def test_parse_the_lines_of_a_card() -> None:
    f = parse_id_card_text(LINES)
    assert (f.name, f.gender, f.birth_date) == ("张伟明", "male", dt.date(1990, 3, 7))
    assert f.address == "江苏省苏州市吴中区东吴北路88号"
    assert f.id_number == CARD_ID
    blank = parse_id_card_text(["something else"])
    assert blank.id_number is None
    assert blank.name is None


def test_cross_check_known_answers() -> None:
    f = parse_id_card_text(LINES)
    assert cross_check(f, {"id_number": CARD_ID, "name": "张 伟明"})["ok"]
    other = cross_check(f, {"id_number": "11010519491231002X", "name": "李雷"})
    assert other["problems"] == ["OCR_ID_MISMATCH", "OCR_NAME_MISMATCH"]
    woman = parse_id_card_text([*LINES[:1], "性别 女", *LINES[2:]])
    assert cross_check(woman, {})["problems"] == ["OCR_GENDER_MISMATCH"]  # 451: odd, a man
    born = parse_id_card_text([*LINES[:2], "出生 1991年3月7日", *LINES[3:]])
    assert cross_check(born, {})["problems"] == ["OCR_BIRTH_MISMATCH"]
    forged = parse_id_card_text([*LINES[:5], "公民身份号码 320582199003074510"])
    assert cross_check(forged, {})["problems"] == ["OCR_ID_INVALID"]
    assert cross_check(parse_id_card_text([]), {})["problems"] == ["OCR_ID_UNREADABLE"]


def _engine():
    if importlib.util.find_spec("rapidocr_onnxruntime") is None:
        pytest.skip("ID-card OCR needs the optional extra: pip install 'creditfactory[ocr]'")
    if not FONT.is_file():
        pytest.skip(f"drawing a card needs a CJK font: Debian package fonts-wqy-zenhei ({FONT})")
    from creditfactory.fraud import ocr_engine

    return ocr_engine()


def draw_card(*, rotate: float = 0.0, noise: float = 0.0) -> Any:
    """The front of :data:`LINES`' ID card as a PIL image (needs :data:`FONT`), optionally
    rotated and noisy like a phone's photo; tests/api/test_id_cards.py sends it through HTTP."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(str(FONT), 28)
    big = ImageFont.truetype(str(FONT), 34)
    img = Image.new("RGB", (856, 540), (236, 240, 232))
    draw = ImageDraw.Draw(img)
    for k, line in enumerate(LINES[:4]):
        draw.text((60, 60 + 60 * k), line.replace(" ", "  "), font=font, fill=(20, 20, 20))
    draw.text((130, 280), LINES[4], font=font, fill=(20, 20, 20))
    draw.text((60, 420), LINES[5].replace(" ", "  "), font=big, fill=(20, 20, 20))
    if rotate:
        img = img.rotate(rotate, expand=True, fillcolor=(90, 90, 90))
    if noise:
        rng = np.random.default_rng(0)
        arr = np.asarray(img).astype(float) + rng.normal(0, noise, (img.size[1], img.size[0], 3))
        img = Image.fromarray(np.clip(arr, 0, 255).astype("uint8"))
    return img


def _card(path: Path, *, rotate: float = 0.0, noise: float = 0.0) -> Path:
    draw_card(rotate=rotate, noise=noise).save(path)
    return path


def test_fields_come_back_from_a_drawn_card_and_a_rotated_noisy_photo(tmp_path) -> None:
    engine = _engine()
    for path in (
        _card(tmp_path / "card.png"),
        _card(tmp_path / "photo.png", rotate=7.0, noise=12.0),
    ):
        f = read_id_card(path, engine=engine)
        assert f.id_number == CARD_ID, f.lines
        assert (f.name, f.gender, f.birth_date) == ("张伟明", "male", dt.date(1990, 3, 7))
        assert f.address == "江苏省苏州市吴中区东吴北路88号"
        assert cross_check(f, {"id_number": CARD_ID})["ok"]


def test_an_unreadable_image_is_a_clear_error(tmp_path) -> None:
    engine = _engine()
    with pytest.raises(DataError, match="no file"):
        read_id_card(tmp_path / "missing.png", engine=engine)
