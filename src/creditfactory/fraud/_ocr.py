"""ID-card OCR (§6): read the front of a resident ID card and cross-check it with the application.

The text is read by RapidOCR (``rapidocr-onnxruntime``, whose wheel ships the PP-OCR Chinese
models, so nothing is downloaded at run time), an optional extra: ``pip install
creditfactory[ocr]``. Parsing the recognised lines into fields and the cross-check are plain
functions, usable with any OCR engine's lines.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
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


def read_id_card(image: str | Path | bytes | np.ndarray, *, engine: Any = None) -> IdCardFields:
    """OCR the front of an ID card (a file path, encoded image bytes or an RGB array) and
    parse its fields. ``engine`` is a RapidOCR instance to reuse (loading one takes seconds)."""
    if engine is None:
        engine = ocr_engine()
    source: Any = str(image) if isinstance(image, Path) else image
    if isinstance(source, str) and not Path(source).is_file():
        raise DataError(f"image: no file at {source}")
    try:
        result, _ = engine(source)
    except Exception as exc:  # the engine raises several unrelated types on unreadable images
        raise DataError(f"image: not a readable image ({exc})") from exc
    boxes = result or []
    # top to bottom by each box's upper-left corner
    ordered = sorted(boxes, key=lambda r: (float(r[0][0][1]), float(r[0][0][0])))
    return parse_id_card_text([str(r[1]) for r in ordered])


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


def cross_check(fields: IdCardFields, application: Mapping[str, Any]) -> dict[str, Any]:
    """Cross-check an ID card's fields with themselves (birth date and gender against its ID
    number) and with the application (``id_number``, ``name`` when given).

    Returns ``ok`` (no problem), ``problems`` (reason codes of :data:`OCR_REASONS`) and the
    fields read.
    """
    problems: list[str] = []
    card_id = fields.id_number
    if card_id is None:
        problems.append("OCR_ID_UNREADABLE")
    else:
        checked = check_id_arrays(np.array([card_id], dtype=object))
        if not checked["id_valid"][0]:
            problems.append("OCR_ID_INVALID")
        else:
            birth = checked["id_birth_date"][0].astype(dt.date)
            if fields.birth_date is not None and fields.birth_date != birth:
                problems.append("OCR_BIRTH_MISMATCH")
            male = bool(checked["id_male"][0])
            if fields.gender is not None and (fields.gender == "male") != male:
                problems.append("OCR_GENDER_MISMATCH")
        declared = application.get("id_number")
        if isinstance(declared, str) and declared.upper() != card_id:
            problems.append("OCR_ID_MISMATCH")
    declared_name = application.get("name")
    named = isinstance(declared_name, str) and fields.name is not None
    if named and _squash(str(declared_name)) != fields.name:
        problems.append("OCR_NAME_MISMATCH")
    return {
        "ok": not problems,
        "problems": problems,
        "name": fields.name,
        "gender": fields.gender,
        "birth_date": fields.birth_date.isoformat() if fields.birth_date else None,
        "address": fields.address,
        "id_number": card_id,
    }
