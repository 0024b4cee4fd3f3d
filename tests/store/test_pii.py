"""Personal identifiers: the envelope (round trip, tamper, rotation), masks, the real AES-GCM,
and what the decision service stores."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select

from creditfactory.exceptions import ConfigError, DataError
from creditfactory.store import (
    DEFAULT_PII_FIELDS,
    Application,
    Protector,
    Store,
    activate,
    add_strategy,
    hash_identifier,
    mask,
    new_key,
    parse_fields,
    parse_keys,
    rekey,
    verify,
)

ID, PHONE = "110101199001011234", "13812345678"
APP: dict[str, Any] = {
    "application_id": "A1",
    "id_number": ID,
    "phone": PHONE,
    "age": 35,
    "emergency_contacts": [{"name": "Li Lei", "phone": "13900001111"}],
    "address": {"street": "1 Chang'an Ave", "city": "Beijing"},
    "device_id": None,
}


def protector(*items: str, secret: str | None = "list-secret") -> Protector:
    return Protector(parse_keys(",".join(items)), secret)


def test_round_trip_keeps_values_and_types_and_hides_them() -> None:
    p = protector(new_key("k1"))
    app = {**APP, "phone": 13812345678, "ip_address": "10.0.0.7"}
    stored = p.protect(app)
    text = json.dumps(stored)
    for clear in (ID, "13812345678", "13900001111", "Li Lei", "Chang'an", "Beijing", "10.0.0.7"):
        assert clear not in text
    assert stored["age"] == 35
    assert stored["application_id"] == "A1"
    assert stored["device_id"] is None  # nothing to protect
    assert stored["id_number"].startswith("pii:v1:k1:")
    assert p.reveal(stored, "admin") == app  # the int phone comes back an int
    assert p.protect({"age": 1}) == {"age": 1}
    # a fresh nonce each time: the same value never gives the same ciphertext
    assert p.seal("id_number", ID) != p.seal("id_number", ID)


def test_hash_matches_the_list_hashing() -> None:
    p = protector(new_key("k1"))
    kid, digest = p.seal("phone", f" {PHONE} ").split(":")[2:4]
    assert kid == "k1"
    assert digest == hash_identifier("list-secret", "phone", PHONE)
    nested = p.protect(APP)["emergency_contacts"][0]["phone"]
    assert nested.split(":")[3] == hash_identifier("list-secret", "phone", "13900001111")


def test_aes_gcm_is_the_real_one() -> None:
    """Decrypt an envelope with cryptography's AESGCM directly, from the documented format."""
    item = new_key("k9")
    key = base64.b64decode(item.split(":")[1])
    envelope = protector(item).seal("id_number", ID)
    _, _, kid, digest, blob = envelope.split(":")
    raw = base64.b64decode(blob)
    aad = f"pii:v1:{kid}:id_number:{digest}".encode()
    assert json.loads(AESGCM(key).decrypt(raw[:12], raw[12:], aad)) == ID
    assert len(raw) == 12 + len(json.dumps(ID)) + 16  # nonce, ciphertext, 128-bit tag


@pytest.mark.parametrize(
    "change",
    [
        lambda e: e[:-6] + ("AAAA" if e[-6:-2] != "AAAA" else "BBBB") + e[-2:],  # ciphertext
        lambda e: e.replace(e.split(":")[3], "0" * 64),  # the hash beside it
    ],
    ids=["ciphertext", "hash"],
)
def test_tampering_is_an_error_naming_the_field(change: Any) -> None:
    p = protector(new_key("k1"))
    stored = p.protect(APP)
    stored["id_number"] = change(stored["id_number"])
    with pytest.raises(DataError, match=r"^id_number: the protected value does not decrypt"):
        p.reveal(stored, "admin")
    assert p.reveal(stored, "analyst")["id_number"] == "****"  # other roles: no error, no value


def test_an_envelope_moved_to_another_field_does_not_open() -> None:
    p = protector(new_key("k1"))
    stored = p.protect(APP)
    stored["emergency_contacts"][0]["name"] = stored["emergency_contacts"][0]["phone"]
    with pytest.raises(DataError, match=r"^emergency_contacts\[0\]\.name: .* does not decrypt"):
        p.reveal(stored, "admin")


def test_rotation_old_key_decrypts_new_key_encrypts() -> None:
    old, new = new_key("2025"), new_key("2026")
    before = protector(old).protect(APP)
    rotated = protector(new, old)  # the new key first
    after = rotated.protect(APP)
    assert after["id_number"].startswith("pii:v1:2026:")
    assert rotated.reveal(before, "admin") == APP  # old rows stay readable
    assert rotated.reveal(after, "admin") == APP
    # the hash does not depend on the encryption key (it is the list secret's)
    assert before["phone"].split(":")[3] == after["phone"].split(":")[3]
    with pytest.raises(DataError, match=r"^id_number: encrypted with key id '2026'"):
        protector(old).reveal(after, "admin")  # the new key dropped: named, not garbled


def test_without_a_key_nothing_recoverable_is_stored() -> None:
    hashed = Protector(hash_secret="list-secret").protect(APP)
    assert hashed["id_number"] == f"pii:v1:-:{hash_identifier('list-secret', 'id_number', ID)}:"
    redacted = Protector().protect(APP)
    assert redacted["id_number"] == "pii:v1:-:-:"
    assert Protector().mode == "redact"
    assert Protector(hash_secret="s").mode == "hash"
    for stored in (hashed, redacted):
        assert Protector().reveal(stored, "admin")["id_number"] == "****"
    with pytest.raises(DataError, match="only a hash"):
        Protector().open(hashed["id_number"], "id_number")


def test_masks_per_role() -> None:
    p = protector(new_key("k1"))
    stored = p.protect({**APP, "ip_address": "10.0.0.7"})
    for role in ("analyst", "underwriter", "read-only", "anything-else"):
        seen = p.reveal(stored, role)
        assert seen["id_number"] == "110***********1234"
        assert seen["phone"] == "138****5678"
        assert seen["emergency_contacts"] == [{"name": "L*****", "phone": "139****1111"}]
        assert seen["address"] == {"street": "1********", "city": "B******"}
        assert seen["ip_address"] == "1*******"
        assert seen["age"] == 35
    # identifiers stored in clear before protection: masked for other roles too
    legacy = {"id_number": ID, "age": 3}
    assert p.reveal(legacy, "read-only") == {"id_number": "110***********1234", "age": 3}
    assert p.reveal(legacy, "admin") == legacy
    assert mask("X") == "*"
    assert mask(12345678901) == "123****8901"


def test_keys_and_fields_settings() -> None:
    k = new_key()
    assert parse_keys(k)[0].kid == k.split(":")[0]
    assert parse_keys(k.split(":")[1])[0].kid == k.split(":")[0]  # the id defaults to a print
    assert parse_keys(None) == ()
    assert parse_keys(" ") == ()
    with pytest.raises(ConfigError, match="item 2 is not a base64-encoded 32-byte key") as err:
        parse_keys(f"{k},k2:c2hvcnQ=")
    assert "c2hvcnQ" not in str(err.value)  # never the key
    with pytest.raises(ConfigError, match="given twice"):
        parse_keys(f"{k},{k}")
    with pytest.raises(ConfigError, match="key id 'a b'"):
        parse_keys("a b:" + k.split(":")[1])
    assert parse_fields("") == frozenset(DEFAULT_PII_FIELDS)
    assert parse_fields("a, b") == {"a", "b"}
    assert parse_fields("+a") == {"a", *DEFAULT_PII_FIELDS}
    assert "k1" in repr(parse_keys(new_key("k1"))[0])
    assert "key=" not in repr(parse_keys(k)[0])


def test_request_digest_is_keyed() -> None:
    text = json.dumps(APP, sort_keys=True)
    a, b = protector(new_key("k1")), Protector(hash_secret="other")
    assert a.request_digest(text) == a.request_digest(text)
    assert a.request_digest(text) != b.request_digest(text)
    import hashlib

    assert a.request_digest(text) != hashlib.sha256(text.encode()).hexdigest()
    # no key: a digest of the body with its identifiers redacted (no oracle of them)
    other = json.dumps({**APP, "id_number": "x"}, sort_keys=True)
    assert Protector().request_digest(text) == Protector().request_digest(other)


STRATEGY = """
strategy: pii_test
version: "1"
key: application_id
inputs:
  application_id: str
  id_number: str
  phone: str
  age: {type: int, min: 18}
flow:
  - rules:
      name: knockouts
      rules:
        - {name: young, when: "age < 21", action: decline, reason: KO_AGE}
  - assign:
      name: offer
      set:
        limit: "1000"
        apr: "0.2"
        term: "12"
outputs: [phone]
"""


def test_the_service_decides_on_clear_values_and_stores_envelopes(
    store: Store, make_service: Any
) -> None:
    with store.session() as s:
        activate(s, add_strategy(s, STRATEGY, "t").id, "t")
    p = protector(new_key("k1"))
    service = make_service(store, pii=p)
    try:
        out = service.decide({**APP, "age": 30}, "t", idempotency_key="i1")
        assert out.decision.decision == "approve"
        replay = service.decide({**APP, "age": 30}, "t", idempotency_key="i1")
        assert replay.replayed
        assert replay.decision.id == out.decision.id
    finally:
        service.close()
    with store.sessions() as s:
        row = s.get(Application, out.application.id)
        assert row is not None
        assert row.payload["id_number"].startswith("pii:v1:k1:")
        assert p.reveal(row.payload, "admin") == {**APP, "age": 30}
        assert len(row.request_sha256) == 64
    assert out.decision.values["phone"].startswith("pii:v1:k1:")  # an output echoing an input
    assert p.reveal(out.decision.values, "admin") == {"phone": PHONE}


def test_rekey_moves_every_record_to_the_newest_key_and_the_ledger_stays_intact(
    make_service: Any, store: Store, monkeypatch: pytest.MonkeyPatch, db_url: str
) -> None:
    from typer.testing import CliRunner

    from creditfactory.cli import app

    with store.session() as s:
        activate(s, add_strategy(s, STRATEGY, "t").id, "t")
    old, new = new_key("old"), new_key("new")
    for pii in (None, protector(old)):  # one row from before protection, one under the old key
        service = make_service(store, pii=pii)
        try:
            service.decide({**APP, "age": 30, "application_id": f"A{pii is None}"}, "t")
        finally:
            service.close()
    rotated = protector(new, old)
    report = rekey(store, rotated)
    assert (report.checked, report.changed, report.entries) == (4, 4, 2)
    with store.sessions() as s:
        assert verify(s).ok
        rows = list(s.execute(select(Application)).scalars())
        for row in rows:
            assert row.payload["id_number"].startswith("pii:v1:new:")
            assert protector(new).reveal(row.payload, "admin")["id_number"] == ID
    assert rekey(store, rotated).changed == 0  # nothing left to do
    # the command, from the settings
    monkeypatch.setenv("CREDITFACTORY_PII_KEY", f"{new_key('newer')},{new},{old}")
    monkeypatch.setenv("CREDITFACTORY_LIST_SECRET", "list-secret")
    done = CliRunner().invoke(app, ["pii", "rekey", "--database-url", db_url])
    assert done.exit_code == 0, done.output
    assert "4 of 4 records sealed again" in " ".join(done.output.split())
    monkeypatch.setenv("CREDITFACTORY_PII_KEY", new)  # 'newer' dropped: named, nothing written
    failed = CliRunner().invoke(app, ["pii", "rekey", "--database-url", db_url])
    assert failed.exit_code == 2
    assert "encrypted with key id 'newer'" in " ".join(failed.output.split())
    with store.sessions() as s:
        assert verify(s).ok


def test_cli_new_key_prints_a_usable_key_and_refuses_a_bad_id() -> None:
    from typer.testing import CliRunner

    from creditfactory.cli import app

    made = CliRunner().invoke(app, ["pii", "new-key", "--id", "2026-12"])
    assert made.exit_code == 0, made.output
    (key,) = parse_keys(made.output.strip())
    assert (key.kid, len(key.key)) == ("2026-12", 32)
    bad = CliRunner().invoke(app, ["pii", "new-key", "--id", "a b"])
    assert bad.exit_code != 0
    assert "--id" in bad.output
    assert "Traceback" not in bad.output


def test_flat_and_nested_identifiers_get_the_keyed_hash_of_their_field_and_value() -> None:
    # a flat payload skips the walk for nested identifiers: a nested one is still sealed, and
    # the same text under another field (or another type) gets its own hash
    from creditfactory.fraud import hash_identifier

    p = Protector(hash_secret="s")
    for _ in range(3):  # sealed again and again (payload, values, retries)
        out = p.protect({"phone": "13800000000", "id_number": "13800000000", "x": {"phone": 7}})
    assert out["phone"].split(":")[3] == hash_identifier("s", "phone", "13800000000")
    assert out["id_number"].split(":")[3] == hash_identifier("s", "id_number", "13800000000")
    assert out["x"]["phone"].split(":")[3] == hash_identifier("s", "phone", 7)
    assert p.protect({"phone": 13800000000})["phone"].split(":")[3] == hash_identifier(
        "s", "phone", 13800000000
    )
    for k in range(50):
        assert p.seal("phone", f"1{k:010d}").split(":")[3] == hash_identifier(
            "s", "phone", f"1{k:010d}"
        )


def test_seal_fields_is_protect_for_a_flat_application() -> None:
    p = Protector(hash_secret="s")
    app = {"phone": "13800000000", "id_number": None, "device_id": 7, "age": 30}
    names = p.fields.intersection(app)
    sealed = p.seal_fields(app, names)
    assert sealed == p.protect(app)
    assert sealed is not app
    assert app["phone"] == "13800000000"
