"""ID-card OCR (§6): read the front of a resident ID card and cross-check it with the application.

The text is read by RapidOCR (``rapidocr-onnxruntime``, whose wheel ships the PP-OCR Chinese
models, so nothing is downloaded at run time), an optional extra: ``pip install
creditfactory[ocr]``. Parsing the recognised lines into fields and the cross-check are plain
functions, usable with any OCR engine's lines.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from creditfactory.exceptions import ConfigError, DataError
from creditfactory.fraud._identity import check_id_arrays

_LABELS = ("姓名", "性别", "民族", "出生", "住址", "公民身份号码")
_ID = re.compile(r"([1-9]\d{16}[\dXx])")
_BIRTH = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日")

OCR_REASONS: dict[str, str] = {
    "OCR_ID_UNREADABLE": "no ID number could be read from the card / 证件号码无法识别",
    "OCR_ID_INVALID": "the card's ID number fails the GB 11643 checks / 证件号码校验失败",
    "OCR_ID_MISMATCH": "the card's ID number differs from the application's / 证件号码与申请不符",
    "OCR_BIRTH_MISMATCH": "the card's birth date differs from its ID number's / 出生日期与号码不符",
    "OCR_GENDER_MISMATCH": "the card's gender differs from its ID number's / 性别与号码不符",
    "OCR_NAME_MISMATCH": "the card's name differs from the application's / 姓名与申请不符",
    "OCR_ADDRESS_MISMATCH": "the card's address differs from the application's / 住址与申请不符",
}
"""Reason codes of the ID-card cross-check, in English and Chinese."""


@dataclass(frozen=True)
class IdCardFields:
    """Fields read from the front of a resident ID card (None where not found)."""

    name: str | None
    gender: str | None  # "male" or "female"
    birth_date: dt.date | None
    address: str | None
    id_number: str | None
    lines: tuple[str, ...]
    confidence: float | None = None  # the OCR engine's mean score of the lines (0 to 1)


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def parse_id_card_text(lines: Sequence[str]) -> IdCardFields:
    """Fields of an ID card's front from its recognised text lines, top to bottom.

    >>> f = parse_id_card_text(["姓名 张伟明", "性别 男 民族 汉", "出生 1990年3月7日",
    ...                         "住址 江苏省苏州市", "东吴北路88号",
    ...                         "公民身份号码 32058219900307451X"])
    >>> f.name, f.gender, f.birth_date.isoformat(), f.address, f.id_number
    ('张伟明', 'male', '1990-03-07', '江苏省苏州市东吴北路88号', '32058219900307451X')
    """
    squashed = [_squash(line) for line in lines]
    name = gender = address = id_number = None
    birth: dt.date | None = None
    address_parts: list[str] | None = None
    for line in squashed:
        starts = next((label for label in _LABELS if line.startswith(label)), None)
        if address_parts is not None and starts is None and not _ID.search(line):
            address_parts.append(line)  # the address runs over several lines
            continue
        if address_parts is not None:
            address = "".join(address_parts) or None
            address_parts = None
        if starts == "姓名":
            name = line.removeprefix("姓名") or None
        if "性别" in line:
            after = line.split("性别", 1)[1][:1]
            gender = {"男": "male", "女": "female"}.get(after)
        if "出生" in line and (m := _BIRTH.search(line)):
            try:
                birth = dt.date(int(m[1]), int(m[2]), int(m[3]))
            except ValueError:
                birth = None
        if starts == "住址":
            address_parts = [line.removeprefix("住址")]
        if (m := _ID.search(line)) and (starts == "公民身份号码" or id_number is None):
            id_number = m[1].upper()
    if address_parts is not None:
        address = "".join(address_parts) or None
    return IdCardFields(name, gender, birth, address, id_number, tuple(lines))


IMAGE_FORMATS: dict[str, str] = {"PNG": "image/png", "JPEG": "image/jpeg"}
"""The image formats an ID-card photo may come in (Pillow's name -> media type)."""
MAX_IMAGE_PIXELS = 40_000_000
"""The most pixels an ID-card image may have (a 48-megapixel phone photo is 8000 x 6000;
checked from the header, before anything is decoded: a decompression bomb is refused unread)."""
MAX_OCR_SIDE = 2000
"""Images are scaled down to at most this many pixels on their longer side before the OCR
(a card needs far fewer; the OCR's time grows with the pixels)."""


def decode_card_image(data: bytes, *, max_pixels: int = MAX_IMAGE_PIXELS) -> np.ndarray:
    """An encoded PNG or JPEG as an RGB array for the OCR, scaled down to
    :data:`MAX_OCR_SIDE`; a clear :class:`DataError` naming ``image`` for anything else.

    The format and the dimensions are read from the header first: an image of more than
    ``max_pixels`` pixels (a decompression bomb: a small file that would decode into gigabytes)
    is refused before it is decoded.

    >>> decode_card_image(b"GIF89a...")
    Traceback (most recent call last):
    ...
    creditfactory.exceptions.DataError: image: not a PNG or JPEG image
    """
    from PIL import Image, UnidentifiedImageError

    if not data:
        raise DataError("image: empty (no bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=list(IMAGE_FORMATS))
            width, height = img.size
            if width < 1 or height < 1:
                raise DataError("image: has no pixels")
            if width * height > max_pixels:
                raise DataError(
                    f"image: {width} x {height} pixels is more than {max_pixels:,} (refused "
                    "before decoding)"
                )
            img.draft("RGB", (MAX_OCR_SIDE, MAX_OCR_SIDE))  # JPEG: decode at a smaller scale
            rgb = img.convert("RGB")
            rgb.thumbnail((MAX_OCR_SIDE, MAX_OCR_SIDE))
    except DataError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise DataError(
            f"image: more than {max_pixels:,} pixels (refused before decoding)"
        ) from None
    except UnidentifiedImageError:
        raise DataError("image: not a PNG or JPEG image") from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:  # truncated or corrupt data
        raise DataError(f"image: not a readable image ({type(exc).__name__})") from None
    return np.asarray(rgb)


def read_id_card(image: str | Path | bytes | np.ndarray, *, engine: Any = None) -> IdCardFields:
    """OCR the front of an ID card (a file path, encoded image bytes or an RGB array) and
    parse its fields. ``engine`` is a RapidOCR instance to reuse (loading one takes seconds).
    Bytes are decoded by :func:`decode_card_image` (PNG or JPEG, bounded in pixels)."""
    if engine is None:
        engine = ocr_engine()
    source: Any = str(image) if isinstance(image, Path) else image
    if isinstance(source, str) and not Path(source).is_file():
        raise DataError(f"image: no file at {source}")
    if isinstance(source, str):
        source = Path(source).read_bytes()
    if isinstance(source, bytes | bytearray):
        source = decode_card_image(bytes(source))
    try:
        result, _ = engine(source)
    except Exception as exc:  # the engine raises several unrelated types on unreadable images
        raise DataError(f"image: not a readable image ({exc})") from exc
    boxes = result or []
    # top to bottom by each box's upper-left corner
    ordered = sorted(boxes, key=lambda r: (float(r[0][0][1]), float(r[0][0][0])))
    fields = parse_id_card_text([str(r[1]) for r in ordered])
    scores = [float(r[2]) for r in ordered if len(r) > 2]
    confidence = round(sum(scores) / len(scores), 4) if scores else None
    return IdCardFields(
        fields.name, fields.gender, fields.birth_date, fields.address, fields.id_number,
        fields.lines, confidence,
    )  # fmt: skip


def ocr_engine() -> Any:
    """A RapidOCR engine (``ConfigError`` naming the extra when it is not installed)."""
    try:
        from rapidocr_onnxruntime import RapidOCR
    except ImportError as exc:
        raise ConfigError(
            "ID-card OCR needs the optional extra: pip install 'creditfactory[ocr]' "
            "(rapidocr-onnxruntime)"
        ) from exc
    return RapidOCR()


CHECKED_FIELDS: tuple[str, ...] = ("name", "id_number", "birth_date", "gender", "address")
"""The card's fields the cross-check compares with the application."""
FIELD_STATUSES = ("matched", "mismatched", "unread", "not_declared")
"""What the cross-check says of each field: the card's value matches the application's, differs,
could not be read from the card, or the application holds nothing to compare it with."""

Equal = Callable[[str, str, Any], bool]
"""``equal(field, card_value, declared_value)``: whether a card's value is the application's."""

_GENDERS = {"male": "male", "m": "male", "男": "male", "1": "male",
            "female": "female", "f": "female", "女": "female", "2": "female"}  # fmt: skip


def same_value(field: str, card: str, declared: Any) -> bool:
    """The cross-check's default comparison: blanks and case ignored; an address matches when
    one holds the other (an application may give only the district, a card the full line).

    >>> same_value("address", "江苏省苏州市吴中区东吴北路88号", "苏州市吴中区")
    True
    >>> same_value("name", "张伟明", "张 伟明"), same_value("name", "张伟明", "张伟")
    (True, False)
    """
    a, b = _squash(str(card)).upper(), _squash(str(declared)).upper()
    if field == "address":
        return bool(a) and bool(b) and (a in b or b in a)
    return a == b


def cross_check(
    fields: IdCardFields, application: Mapping[str, Any], *, equal: Equal | None = None
) -> dict[str, Any]:
    """Cross-check an ID card's fields with themselves (birth date and gender against its ID
    number) and with the application: ``id_number``, ``name`` (or ``full_name``), the birth
    date and gender of the application's ID number (a declared ``gender`` first), ``address``.

    ``equal`` compares a card's value with a declared one (:func:`same_value` by default; the
    service passes one that also matches a keyed hash of a stored identifier). Returns ``ok``
    (no problem), ``problems`` (reason codes of :data:`OCR_REASONS`), ``fields`` (each of
    :data:`CHECKED_FIELDS`: one of :data:`FIELD_STATUSES`), ``confidence`` and the fields read.

    >>> card = parse_id_card_text(["姓名 张伟明", "公民身份号码 320582199003074513"])
    >>> out = cross_check(card, {"id_number": "320582199003074513", "name": "李雷"})
    >>> out["problems"], out["fields"]["id_number"], out["fields"]["birth_date"]
    (['OCR_NAME_MISMATCH'], 'matched', 'unread')
    """
    same = equal or same_value
    problems: list[str] = []
    status: dict[str, str] = {}

    def compare(field: str, card_value: Any, declared: Any, problem: str | None) -> None:
        if card_value is None:
            status[field] = "unread"
        elif declared is None or declared == "":
            status[field] = "not_declared"
        elif same(field, card_value, declared):
            status[field] = "matched"
        else:
            status[field] = "mismatched"
            if problem is not None and problem not in problems:
                problems.append(problem)

    card_id = fields.id_number
    card_parts = _id_parts(card_id)
    birth = fields.birth_date.isoformat() if fields.birth_date else None
    if card_id is None:
        problems.append("OCR_ID_UNREADABLE")
    elif card_parts is None:
        problems.append("OCR_ID_INVALID")
    else:  # the card against itself: what is printed against what its number says
        if birth is not None and birth != card_parts[0]:
            problems.append("OCR_BIRTH_MISMATCH")
        if fields.gender is not None and fields.gender != card_parts[1]:
            problems.append("OCR_GENDER_MISMATCH")
    declared_id = application.get("id_number")
    compare("id_number", card_id, declared_id, "OCR_ID_MISMATCH")
    # the birth date and gender the application stands for: its own ID number's when it can be
    # read (clear text), else the card's when the card's number is the application's (or the
    # application gives none); a declared gender first
    declared_parts = _id_parts(declared_id)
    if declared_parts is None and status["id_number"] in ("matched", "not_declared"):
        declared_parts = card_parts
    # a birth date differing from the application's is its ID number's mismatch: no code of its own
    compare("birth_date", birth, declared_parts and declared_parts[0], None)
    gender = application.get("gender")
    norm = _GENDERS.get(str(gender).strip().lower()) if gender is not None else None
    if norm is not None:
        compare("gender", fields.gender, norm, "OCR_GENDER_MISMATCH")
    else:
        compare("gender", fields.gender, declared_parts and declared_parts[1], None)
    declared_name = application.get("name", application.get("full_name"))
    compare("name", fields.name, declared_name, "OCR_NAME_MISMATCH")
    compare("address", fields.address, application.get("address"), "OCR_ADDRESS_MISMATCH")
    return {
        "ok": not problems,
        "problems": problems,
        "fields": {f: status[f] for f in CHECKED_FIELDS},
        "confidence": fields.confidence,
        "name": fields.name,
        "gender": fields.gender,
        "birth_date": birth,
        "address": fields.address,
        "id_number": card_id,
    }


def _id_parts(id_number: Any) -> tuple[str, str] | None:
    """``(birth date ISO, gender)`` of a valid resident ID number; None otherwise."""
    if not isinstance(id_number, str):
        return None
    checked = check_id_arrays(np.array([id_number.strip().upper()], dtype=object))
    if not checked["id_valid"][0]:
        return None
    birth = checked["id_birth_date"][0].astype(dt.date)
    return birth.isoformat(), "male" if bool(checked["id_male"][0]) else "female"
