"""Personal identifiers in stored applications: keyed hashes, AES-GCM, masks.

The engine decides on the clear application in memory; what is stored (and digested by the
ledger) is the application with every personal identifier replaced by one text **envelope**::

    pii:v1:<key id>:<hmac>:<base64 of nonce + ciphertext + tag>

- ``hmac`` is the identifier's keyed hash, computed exactly as the hashed lists compute theirs
  (:func:`~creditfactory.store.hash_identifier`: the field name and the value trimmed and
  lower-cased, HMAC-SHA256 keyed by the list secret), so that a stored identifier can be matched
  against list entries and across applications without decrypting anything;
- the last part is the value's canonical JSON encrypted with AES-256-GCM (``cryptography``) under
  the key ``key id``, a fresh 96-bit nonce each time, the envelope's head (version, key id, field
  name, hmac) as associated data: an altered ciphertext, hmac or key id, or an envelope moved to
  another field, does not decrypt.

Without an encryption key the envelope keeps only the hash (``pii:v1:-:<hmac>:``) and without a
hash key either, nothing (``pii:v1:-:-:``): identifiers are then not recoverable, never stored in
clear. Several keys may be configured (newest first): the first encrypts, any decrypts.

Which fields are identifiers: :data:`DEFAULT_PII_FIELDS` (the simulator's column names and the
usual ones), or the names given; a name matches a key at any depth of the application, and every
value below a matching key (a list of phones, an address object) is protected.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
from base64 import b64encode
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from creditfactory.exceptions import ConfigError, DataError
from creditfactory.fraud import identifier_text

DEFAULT_PII_FIELDS: tuple[str, ...] = (
    "address",
    "address_id",
    "bank_account",
    "bank_card",
    "device_id",
    "email",
    "emergency_contact",
    "emergency_contact_name",
    "emergency_contact_phone",
    "emergency_contacts",
    "full_name",
    "id_number",
    "ip",
    "ip_address",
    "name",
    "passport_number",
    "phone",
)
"""Field names treated as personal identifiers unless ``CREDITFACTORY_PII_FIELDS`` says
otherwise (the simulator's ``id_number``, ``phone``, ``device_id``, ``ip_address``,
``address_id``, ``emergency_contact_phone``, and common names of the same things)."""

PREFIX = "pii:v1:"
MASK = "****"  # what is shown of a value that cannot (or may not) be decrypted
_NONCE = 12
_KID = re.compile(r"[A-Za-z0-9_-]{1,32}")
_NUMBERISH = re.compile(r"\+?\d{6,}[\dXx]?")
_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)
_encode_str = json.encoder.encode_basestring  # json.dumps of a str with ensure_ascii=False
_HASH_INFO = b"creditfactory pii hash key"
_REQUEST_INFO = b"creditfactory request digest"


@dataclass(frozen=True)
class PiiKey:
    """One AES-256 key and its id (the id is written in each envelope it encrypts)."""

    kid: str
    key: bytes

    def __repr__(self) -> str:  # never the key itself
        return f"PiiKey(kid={self.kid!r})"


def key_id(key: bytes) -> str:
    """The default id of a key: 8 hex digits of a SHA-256 of it (not a secret).

    >>> key_id(bytes(32))
    '0c3e1962'
    """
    return hashlib.sha256(b"creditfactory pii key id\x00" + key).hexdigest()[:8]


def parse_keys(text: str | None) -> tuple[PiiKey, ...]:
    """The keys of a ``CREDITFACTORY_PII_KEY`` value: ``[id:]base64`` items separated by commas,
    newest first (it encrypts; all decrypt). Each key is 32 bytes (AES-256) in standard base64.

    Raises
    ------
    ConfigError
        An item is not base64 of 32 bytes, an id is not 1-32 letters, digits, ``_`` or ``-``,
        or two keys have one id (the message never shows a key).

    Examples
    --------
    >>> [k.kid for k in parse_keys("k2:" + "A" * 43 + "=, k1:" + "B" * 43 + "=")]
    ['k2', 'k1']
    """
    keys: list[PiiKey] = []
    for n, item in enumerate((text or "").split(","), start=1):
        item = item.strip()
        if not item:
            continue
        kid, _, b64 = item.rpartition(":")
        try:
            key = base64.b64decode(b64, validate=True)
        except (binascii.Error, ValueError):
            key = b""
        if len(key) != 32:
            raise ConfigError(
                f"pii_key: item {n} is not a base64-encoded 32-byte key (CREDITFACTORY_PII_KEY "
                "takes '[id:]base64' items, newest first)"
            )
        kid = kid or key_id(key)
        if not _KID.fullmatch(kid):
            raise ConfigError(
                f"pii_key: item {n}: key id {kid!r} must be 1-32 letters, digits, '_' or '-'"
            )
        if any(k.kid == kid for k in keys):
            raise ConfigError(f"pii_key: key id {kid!r} is given twice")
        keys.append(PiiKey(kid, key))
    return tuple(keys)


def new_key(kid: str | None = None) -> str:
    """A fresh random key as a ``CREDITFACTORY_PII_KEY`` item (``id:base64``).

    >>> len(parse_keys(new_key("k1"))[0].key)
    32
    """
    key = os.urandom(32)
    return f"{kid or key_id(key)}:{base64.b64encode(key).decode()}"


def parse_fields(text: str | None) -> frozenset[str]:
    """The field names of a ``CREDITFACTORY_PII_FIELDS`` value (comma-separated); empty or
    ``None`` gives :data:`DEFAULT_PII_FIELDS`, a leading ``+`` adds names to them.

    >>> sorted(parse_fields("phone, id_number"))
    ['id_number', 'phone']
    >>> "email2" in parse_fields("+email2") and "phone" in parse_fields("+email2")
    True
    """
    text = (text or "").strip()
    if not text:
        return frozenset(DEFAULT_PII_FIELDS)
    extra = text.startswith("+")
    names = {n.strip() for n in text.lstrip("+").split(",") if n.strip()}
    return frozenset(names | set(DEFAULT_PII_FIELDS)) if extra else frozenset(names)


def mask(value: Any) -> str | None:
    """What a role other than admin sees of an identifier: a number-like value (ID numbers,
    phones, cards; 7 characters or more) keeps its first 3 and last 4 characters, anything else
    its first character only.

    >>> mask("110101199001011234"), mask("13812345678"), mask("10.0.0.7"), mask(None)
    ('110***********1234', '138****5678', '1*******', None)
    """
    if value is None:
        return None  # nothing to hide
    text = value if isinstance(value, str) else _ENCODER.encode(value)
    n = len(text)
    if n >= 7 and _NUMBERISH.fullmatch(text):
        return text[:3] + "*" * (n - 7) + text[-4:]
    if n <= 1:
        return "*"
    return text[0] + "*" * min(n - 1, 8)


class Protector:
    """Protects the identifiers of an application before it is stored, and reveals them.

    Parameters
    ----------
    keys : sequence of PiiKey
        Encryption keys, newest first (:func:`parse_keys`); none: identifiers are kept as
        hashes only (not recoverable).
    hash_secret : str, optional
        The HMAC key of the hashes (the list secret, so that stored identifiers match list
        entries). Without it the hash key is derived from the newest encryption key; without
        either, no hash is kept.
    fields : iterable of str
        The identifier field names (:data:`DEFAULT_PII_FIELDS` by default).

    Examples
    --------
    >>> p = Protector(parse_keys(new_key("k1")), hash_secret="s")
    >>> stored = p.protect({"phone": "13812345678", "age": 30})
    >>> stored["phone"].startswith("pii:v1:k1:"), stored["age"]
    (True, 30)
    >>> p.reveal(stored, "admin")["phone"], p.reveal(stored, "read-only")["phone"]
    ('13812345678', '138****5678')
    """

    def __init__(
        self,
        keys: Sequence[PiiKey] = (),
        hash_secret: str | None = None,
        fields: Iterable[str] = DEFAULT_PII_FIELDS,
    ):
        self.keys = tuple(keys)
        self.fields = frozenset(fields)
        self._by_id = {k.kid: AESGCM(k.key) for k in self.keys}
        newest = self.keys[0] if self.keys else None
        self._aead = None if newest is None else self._by_id[newest.kid]
        self._kid = "-" if newest is None else newest.kid
        if hash_secret:
            self.hash_secret: str | None = hash_secret
        elif newest is not None:
            self.hash_secret = hmac.new(newest.key, _HASH_INFO, hashlib.sha256).hexdigest()
        else:
            self.hash_secret = None
        self._mac = (
            None if not self.hash_secret else hmac.new(self.hash_secret.encode(), None, "sha256")
        )
        # the key of request digests (idempotency): never a bare SHA-256 of a clear body
        base = self.hash_secret.encode() if self.hash_secret else None
        self._request_key = None if base is None else hmac.new(base, _REQUEST_INFO, "sha256")

    @classmethod
    def configured(
        cls, keys: str | None, hash_secret: str | None = None, fields: str | None = None
    ) -> Protector:
        """The protector of the settings' texts: ``CREDITFACTORY_PII_KEY``
        (:func:`parse_keys`), the list secret, ``CREDITFACTORY_PII_FIELDS``
        (:func:`parse_fields`).

        Raises
        ------
        ConfigError
            A key is malformed (the message never shows it).
        """
        return cls(parse_keys(keys), hash_secret, parse_fields(fields))

    @property
    def mode(self) -> str:
        """``encrypt`` (recoverable), ``hash`` (hash only) or ``redact`` (nothing kept)."""
        if self._aead is not None:
            return "encrypt"
        return "hash" if self.hash_secret else "redact"

    # ------------------------------------------------------------------- protecting
    def protect(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """The application as it is stored: identifiers replaced by envelopes (a new dict;
        ``payload`` itself when it is a dict holding none)."""
        out: dict[str, Any] | None = None
        fields = self.fields
        for name in fields.intersection(payload):
            value = payload[name]
            if value is not None:
                if out is None:
                    out = dict(payload)
                out[name] = self._seal_tree(name, value)
        if dict not in (kinds := set(map(type, payload.values()))) and list not in kinds:
            items: Any = ()  # a flat payload (the usual case): nothing nested to walk
        else:
            items = payload.items()
        for name, value in items:  # identifiers nested in other fields
            kind = type(value)
            if (kind is dict or kind is list) and name not in fields:
                new = self._walk(value)
                if new is not value:
                    if out is None:
                        out = dict(payload)
                    out[name] = new
        if out is None:
            return payload if type(payload) is dict else dict(payload)
        return out

    def seal_fields(self, payload: dict[str, Any], names: Iterable[str]) -> dict[str, Any]:
        """``payload`` (a flat application: no nested object or list) with its identifier
        fields ``names`` sealed, a new dict: what :meth:`protect` gives for it, without looking
        for the names again or for nested identifiers (the caller found there are none)."""
        out = dict(payload)
        seal = self.seal
        for name in names:
            value = out[name]
            if value is not None:
                out[name] = seal(name, value)
        return out

    def _walk(self, value: Any) -> Any:
        """``value`` with the identifiers below it sealed (the same object when none)."""
        if type(value) is dict:
            changed = {
                k: (self._seal_tree(k, v) if k in self.fields else self._walk(v))
                for k, v in value.items()
            }
            return value if all(changed[k] is value[k] for k in value) else changed
        if type(value) is list:
            items = [self._walk(v) for v in value]
            return value if all(a is b for a, b in zip(items, value, strict=True)) else items
        return value

    def _seal_tree(self, field: str, value: Any) -> Any:
        if value is None:
            return None
        if type(value) is dict:
            return {k: self._seal_tree(k, v) for k, v in value.items()}
        if type(value) is list:
            return [self._seal_tree(field, v) for v in value]
        return self.seal(field, value)

    def seal(self, field: str, value: Any) -> str:
        """One identifier's envelope (``value`` a JSON scalar)."""
        if self._mac is None:
            digest = "-"
        else:  # hash_identifier(hash_secret, field, value), from the keyed state
            mac = self._mac.copy()
            mac.update(identifier_text(field, value))
            digest = mac.hexdigest()
        if self._aead is None:
            return f"{PREFIX}{self._kid}:{digest}:"
        nonce = os.urandom(_NONCE)
        plain = _encode_str(value) if type(value) is str else _ENCODER.encode(value)
        sealed = self._aead.encrypt(nonce, plain.encode(), _aad(self._kid, field, digest))
        return f"{PREFIX}{self._kid}:{digest}:{b64encode(nonce + sealed).decode()}"

    def request_digest(self, text: str) -> str:
        """The digest telling an idempotent retry from a different request: HMAC-SHA256 of the
        request's canonical text keyed from the hash key (a bare SHA-256 of a body whose other
        fields are stored in clear would let anyone holding the row test guesses of its
        identifiers); SHA-256 of the text with its identifiers redacted when there is no key."""
        if self._request_key is None:
            redacted = Protector(fields=self.fields).protect(json.loads(text))
            return hashlib.sha256(_ENCODER.encode(redacted).encode("utf-8")).hexdigest()
        mac = self._request_key.copy()
        mac.update(text.encode("utf-8"))
        return mac.hexdigest()

    # ------------------------------------------------------------------- revealing
    def open(self, envelope: str, field: str = "value", leaf: str | None = None) -> Any:
        """The clear value of an envelope sealed under the field name ``leaf`` (by default
        ``field``, which error messages name).

        Raises
        ------
        DataError
            (naming ``field``) The envelope is malformed, holds no ciphertext (hash-only), was
            encrypted with a key id not configured, or does not decrypt (altered, or moved from
            another field).
        """
        parts = envelope.split(":") if envelope.startswith(PREFIX) else []
        if len(parts) != 5:
            raise DataError(f"{field}: not a protected value")
        kid, digest, blob = parts[2], parts[3], parts[4]
        if not blob:
            raise DataError(f"{field}: only a hash of the value is stored (not recoverable)")
        aead = self._by_id.get(kid)
        if aead is None:
            raise DataError(
                f"{field}: encrypted with key id {kid!r}, which CREDITFACTORY_PII_KEY does not hold"
            )
        try:
            raw = base64.b64decode(blob, validate=True)
            aad = _aad(kid, field if leaf is None else leaf, digest)
            return json.loads(aead.decrypt(raw[:_NONCE], raw[_NONCE:], aad).decode("utf-8"))
        except (InvalidTag, binascii.Error, ValueError) as exc:
            raise DataError(
                f"{field}: the protected value does not decrypt with key {kid!r} (altered, or "
                "moved from another field)"
            ) from exc

    def reveal(self, payload: Mapping[str, Any], role: str) -> dict[str, Any]:
        """A stored application (or a decision's values) as ``role`` may see it: admin the clear
        values, every other role masks (:func:`mask`; ``"****"`` where nothing is recoverable).
        Identifier fields stored in clear (rows written before protection) are masked for other
        roles too.

        Raises
        ------
        DataError
            (admin only) An envelope does not open; the message names the field.
        """
        admin = role == "admin"
        return {k: self._reveal(k, k, v, admin, k in self.fields) for k, v in payload.items()}

    def _reveal(self, path: str, leaf: str, value: Any, admin: bool, inside: bool) -> Any:
        """``value`` at ``path`` revealed; ``inside``: below an identifier field."""
        kind = type(value)
        if kind is dict:
            return {
                k: self._reveal(f"{path}.{k}", k, v, admin, inside or k in self.fields)
                for k, v in value.items()
            }
        if kind is list:
            return [
                self._reveal(f"{path}[{i}]", leaf, v, admin, inside) for i, v in enumerate(value)
            ]
        if not inside or value is None:
            return value
        if not (kind is str and value.startswith(PREFIX)):
            return value if admin else mask(value)  # stored before protection
        if admin:
            if value.endswith(":"):  # hash only: nothing to decrypt
                return MASK
            return self.open(value, path, leaf)
        try:
            return mask(self.open(value, path, leaf))
        except DataError:
            return MASK

    def rekey(self, stored: Mapping[str, Any]) -> dict[str, Any] | None:
        """``stored`` with every identifier under the newest key: envelopes of older keys
        decrypted and sealed again, identifiers stored in clear (before protection) sealed;
        ``None`` when nothing changes (hash-only envelopes stay as they are).

        Raises
        ------
        DataError
            An envelope does not open (names the field).
        """
        if self._aead is None:
            return None
        changed = [False]

        def again(path: str, leaf: str, value: Any, inside: bool) -> Any:
            kind = type(value)
            if kind is dict:
                return {
                    k: again(f"{path}.{k}", k, v, inside or k in self.fields)
                    for k, v in value.items()
                }
            if kind is list:
                return [again(f"{path}[{i}]", leaf, v, inside) for i, v in enumerate(value)]
            if not inside or value is None:
                return value
            if kind is str and value.startswith(PREFIX):
                parts = value.split(":")
                if len(parts) == 5 and (parts[2] == self._kid or not parts[4]):
                    return value  # current, or hash only
                value = self.open(value, path, leaf)
            changed[0] = True
            return self.seal(leaf, value)

        out = {k: again(k, k, v, k in self.fields) for k, v in stored.items()}
        return out if changed[0] else None


def _aad(kid: str, field: str, digest: str) -> bytes:
    return f"{PREFIX}{kid}:{field}:{digest}".encode()
