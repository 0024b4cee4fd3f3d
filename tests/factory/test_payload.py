"""The application encoded once as stored (identifiers sealed) is what the two-step path gives."""

from __future__ import annotations

import pytest

from creditfactory.decision import InputError
from creditfactory.factory import canonical_payload
from creditfactory.factory._payload import CANONICAL, protected_payload
from creditfactory.store import Protector

PII = Protector(hash_secret="s")


def test_the_stored_text_is_the_canonical_text_of_the_protected_application() -> None:
    app = {"phone": "13800000000", "id_number": "110101199001011234", "age": 30, "x": 1.5,
           "note": "é \" \\ 中文", "none": None}  # fmt: skip
    clear, stored, text = protected_payload(app, PII)  # type: ignore[misc]
    assert clear == app
    assert clear is not app
    assert stored == PII.protect(app)
    assert stored["phone"] != app["phone"]
    assert text == CANONICAL.encode(PII.protect(canonical_payload(app)[0]))


@pytest.mark.parametrize(
    "app",
    [
        {"age": 30},  # nothing to seal: the one text is canonical_payload's
        {"phone": "138", "nested": {"phone": "139"}},  # nested: left to the full path
    ],
)
def test_other_applications_take_the_full_path(app: dict) -> None:
    assert protected_payload(app, PII) is None


@pytest.mark.parametrize(
    ("app", "field"),
    [
        ({"phone": "138\ud800", "age": 1}, "phone"),  # an unpaired surrogate in an identifier
        ({"phone": "138\x00", "age": 1}, "phone"),
        ({"phone": "138", "note": "a\x00b"}, "note"),
        ({"phone": "138", "n\ud800te": "x"}, "n\ud800te"),
    ],
)
def test_unstorable_text_is_refused_as_by_the_full_path(app: dict, field: str) -> None:
    with pytest.raises(InputError) as full:
        canonical_payload(app)
    with pytest.raises(InputError) as once:
        protected_payload(app, PII)
    assert str(once.value) == str(full.value)
    assert field in str(once.value) or repr(field)[1:-1] in str(once.value)


@pytest.mark.parametrize(
    "app",
    [
        {"phone": None, "age": 1},  # an identifier that is null stays null
        {"phone": 13800000000, "device_id": True, "ip_address": 1.5, "age": 1},  # not text
        {"phone": "  138 ", "id_number": "11010119900101123X"},
    ],
)
def test_identifiers_of_every_json_kind_are_sealed_as_by_the_full_path(app: dict) -> None:
    _clear, stored, text = protected_payload(app, PII)  # type: ignore[misc]
    assert stored == PII.protect(app)
    assert text == CANONICAL.encode(PII.protect(canonical_payload(app)[0]))


@pytest.mark.parametrize(
    "app",
    [
        {"phone": float("nan"), "age": 1},  # no JSON form: canonical_payload says what it is
        {"phone": ("138",), "age": 1},
        {"phone": b"138", "age": 1},
    ],
)
def test_an_identifier_that_is_no_json_scalar_takes_the_full_path(app: dict) -> None:
    assert protected_payload(app, PII) is None
