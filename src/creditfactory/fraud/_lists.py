"""Identifier lists (blacklist, greylist, whitelist ...) in hashed form: the one form every list
back-end shares, and the look-up source of kind ``list``.

An identifier is never kept in clear: a list holds the keyed hash (HMAC-SHA256) of the field
name and the trimmed, lower-cased value (:func:`hash_identifier`). The store's lists
(``/v1/lists``, :class:`creditfactory.store.ListCache`), a file and a frame all end up as one
:class:`HashedLists`, and the strategy's ``lists`` step screens through it online (one row) and
in batch (a frame), so the service, the batch factory and the simulation screen alike by
construction.

A feature of this source is named ``list:<list>:<field>`` (:func:`list_feature`): whether the
application's ``field`` is on ``list``. One more, ``list:contacts_listed_share``
(:data:`CONTACTS_LISTED_SHARE`), is the share of the application's declared contact phones
(``emergency_contact_phone``, ``emergency_contacts``) on the blacklist or the greylist of
``phone`` (0.0 when it declares none).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from creditfactory.exceptions import ConfigError, DataError
from creditfactory.fraud._contacts import CONTACT_FIELDS, declared_contacts

KIND = "list"
CONTACTS_LISTED_SHARE = "list:contacts_listed_share"
"""The feature: share of the declared contact phones on the blacklist or greylist of phones."""
_SCREENED = (("blacklist", "phone"), ("greylist", "phone"))  # what a listed contact is on


def identifier_text(field: str, value: Any) -> bytes:
    """What :func:`hash_identifier` hashes: the field name and the value trimmed and
    lower-cased (one definition for the lists and for stored identifiers).

    >>> identifier_text("phone", " 138X ")
    b'phone\\x1f138x'
    """
    return f"{field}\x1f{str(value).strip().lower()}".encode()


def hash_identifier(secret: str, field: str, value: Any) -> str:
    """HMAC-SHA256 of an identifier, keyed by ``secret`` (hex).

    >>> h = hash_identifier("s3cret", "phone", "13800000000")
    >>> h == hash_identifier("s3cret", "phone", " 13800000000 "), len(h)
    (True, 64)
    """
    return hmac.digest(secret.encode("utf-8"), identifier_text(field, value), "sha256").hex()


def list_feature(list_name: str, field: str) -> str:
    """The feature name of "``field`` is on ``list_name``".

    >>> list_feature("blacklist", "phone")
    'list:blacklist:phone'
    """
    return f"{KIND}:{list_name}:{field}"


def parse_list_feature(name: str) -> tuple[str, str]:
    """``(list, field)`` of a ``list:<list>:<field>`` feature name.

    Raises
    ------
    ConfigError
        ``name`` is not a list feature.
    """
    kind, _, rest = name.partition(":")
    list_name, _, field = rest.partition(":")
    if kind != KIND or not list_name or not field:
        raise ConfigError(f"feature {name!r}: a list feature is named 'list:<list>:<field>'")
    return list_name, field


def _blank(value: Any) -> bool:
    return value is None or value == ""


class HashedLists:
    """Identifier lists in hashed form, looked up one application or a whole frame at a time.

    A look-up source of kind ``list`` (see :class:`creditfactory.fraud.Provider`): feature
    ``list:<list>:<field>`` is True when the application's ``field`` (null or empty: never
    listed) hashes to an entry of ``list``; a list or field without entries answers False.

    Parameters
    ----------
    secret : str
        The HMAC key the entries were hashed with (the service's ``CREDITFACTORY_LIST_SECRET``
        for its lists; any key for lists built from clear values).
    entries : mapping
        ``{(list, field): hashes}``.

    Examples
    --------
    >>> lists = HashedLists.from_values("k", {("blacklist", "phone"): ["13800000000"]})
    >>> lists.row(["list:blacklist:phone", "list:greylist:phone"], {"phone": " 13800000000"})
    {'list:blacklist:phone': True, 'list:greylist:phone': False}
    >>> frame = pl.DataFrame({"phone": ["13800000000", "13900000000", None]})
    >>> lists.frame(["list:blacklist:phone"], frame)["list:blacklist:phone"].to_list()
    [True, False, False]
    """

    kind = KIND

    def __init__(self, secret: str, entries: Mapping[tuple[str, str], Iterable[str]]):
        self.secret = secret
        # the keyed state, copied per identifier: the same HMAC as hash_identifier, cheaper
        self._mac = hmac.new(secret.encode("utf-8"), digestmod=hashlib.sha256)
        self._index: dict[tuple[str, str], frozenset[str]] = {}
        for key, hashes in entries.items():
            found = frozenset(hashes)
            if found:
                self._index[key] = found
        self._keys: dict[str, tuple[str, str]] = {}  # feature name -> (list, field), parsed once
        self._fingerprint: str | None = None

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_values(
        cls, secret: str, values: Mapping[tuple[str, str], Iterable[Any]]
    ) -> HashedLists:
        """Lists given in clear (``{(list, field): identifiers}``), hashed with ``secret``."""
        return cls(
            secret,
            {
                (n, f): [hash_identifier(secret, f, v) for v in vs if not _blank(v)]
                for (n, f), vs in values.items()
            },
        )

    @classmethod
    def from_frame(cls, frame: Any, secret: str) -> HashedLists:
        """Lists from a frame (Polars or pandas) with columns ``list``, ``field`` and either
        ``value_hash`` (entries already hashed with ``secret``, e.g. exported from the store)
        or ``value`` (clear identifiers, hashed here).

        Raises
        ------
        DataError
            A column is missing, or a list or field name is empty.
        """
        df = frame if isinstance(frame, pl.DataFrame) else pl.from_pandas(frame)
        for col in ("list", "field"):
            if col not in df.columns:
                raise DataError(f"lists: column {col!r} is missing (list, field, value)")
        hashed = "value_hash" in df.columns
        if not hashed and "value" not in df.columns:
            raise DataError("lists: needs a 'value' column (clear) or a 'value_hash' column")
        if hashed and not secret:
            raise DataError("lists: 'value_hash' entries need the secret they were hashed with")
        column = "value_hash" if hashed else "value"
        rows = df.select(
            pl.col("list").cast(pl.String), pl.col("field").cast(pl.String),
            pl.col(column).cast(pl.String),
        )  # fmt: skip
        entries: dict[tuple[str, str], set[str]] = {}
        for i, (name, field, value) in enumerate(rows.iter_rows()):
            if not name or not field:
                what = "list" if not name else "field"
                raise DataError(f"lists: column {what!r}, row {i}: empty")
            if _blank(value):
                continue
            h = str(value).strip().lower() if hashed else hash_identifier(secret, field, value)
            entries.setdefault((name, field), set()).add(h)
        return cls(secret, entries)

    @classmethod
    def from_file(cls, path: str | Path, secret: str) -> HashedLists:
        """Lists from a CSV or Parquet file with the columns :meth:`from_frame` reads.

        Raises
        ------
        DataError
            The file cannot be read, or its columns are not a list's.
        """
        path = Path(path)
        try:
            if path.suffix.lower() == ".parquet":
                df = pl.read_parquet(path)
            else:
                df = pl.read_csv(path, infer_schema=False)
        except (OSError, pl.exceptions.PolarsError) as exc:
            raise DataError(f"{path}: not a readable list file: {exc}") from exc
        return cls.from_frame(df, secret)

    @classmethod
    def empty(cls) -> HashedLists:
        """No entries on any list (what a strategy screens against without a provider)."""
        return cls("", {})

    # ------------------------------------------------------------------ content
    def entries(self) -> dict[tuple[str, str], frozenset[str]]:
        """``{(list, field): hashes}`` of every non-empty list."""
        return dict(self._index)

    def __len__(self) -> int:
        return sum(len(h) for h in self._index.values())

    def fingerprint(self) -> str:
        """A digest of the entries and the key (a resumed batch must screen against the same
        lists); computed once."""
        if self._fingerprint is None:
            h = hashlib.sha256()
            h.update(hashlib.sha256(self.secret.encode()).digest())
            for (name, field), hashes in sorted(self._index.items()):
                h.update(f"\x1e{name}\x1f{field}".encode())
                for value in sorted(hashes):
                    h.update(b"\x1f" + value.encode())
            self._fingerprint = h.hexdigest()
        return self._fingerprint

    def _hash(self, field: str, value: Any) -> str:
        """:func:`hash_identifier` with this lists' secret."""
        mac = self._mac.copy()
        mac.update(identifier_text(field, value))
        return mac.hexdigest()

    def _key(self, name: str) -> tuple[str, str]:
        key = self._keys.get(name)
        if key is None:
            key = self._keys[name] = parse_list_feature(name)
        return key

    # ------------------------------------------------------------------ look-ups
    def _listed_phones(self) -> frozenset[str]:
        return frozenset().union(*(self._index.get(k, frozenset()) for k in _SCREENED))

    def _contacts_share(self, contacts: Sequence[str], listed: frozenset[str]) -> float:
        if not contacts or not listed:
            return 0.0
        hits = sum(self._hash("phone", c) in listed for c in contacts)
        return hits / len(contacts)

    def row(self, names: Sequence[str], application: Mapping[str, Any]) -> dict[str, Any]:
        """Each feature of ``names`` for one application (a field absent counts as null)."""
        if not self._index:  # no entries at all (a service without lists): nothing to hash
            return {n: 0.0 if n == CONTACTS_LISTED_SHARE else False for n in names}
        out: dict[str, Any] = {}
        digests: dict[str, str] = {}  # field -> hash, one HMAC per field at most
        for name in names:
            if name == CONTACTS_LISTED_SHARE:
                contacts = declared_contacts(application)
                out[name] = self._contacts_share(contacts, self._listed_phones())
                continue
            key = self._key(name)
            hashes = self._index.get(key)
            if hashes is None:
                out[name] = False
                continue
            field = key[1]
            h = digests.get(field)
            if h is None:
                value = application.get(field)
                h = digests[field] = "" if _blank(value) else self._hash(field, value)
            out[name] = h in hashes
        return out

    def frame(self, names: Sequence[str], applications: pl.DataFrame) -> pl.DataFrame:
        """Each feature of ``names`` for every row of ``applications``: a Boolean column per
        name, row-aligned (a column absent counts as null). Each distinct value of a field is
        hashed once."""
        listed: dict[tuple[str, str], list[str]] = {}  # (list, field) -> listed clear values
        digests: dict[str, dict[str, str]] = {}  # field -> clear value -> hash
        columns: list[pl.Series] = []
        for name in names:
            if name == CONTACTS_LISTED_SHARE:
                columns.append(self._contacts_frame(applications).alias(name))
                continue
            key = self._key(name)
            hashes = self._index.get(key)
            field = key[1]
            if hashes is None or field not in applications.columns:
                columns.append(pl.Series(name, [False] * applications.height, pl.Boolean))
                continue
            text = applications[field].cast(pl.String)
            if key not in listed:
                known = digests.get(field)
                if known is None:
                    known = digests[field] = {
                        v: self._hash(field, v)
                        for v in text.unique().drop_nulls().to_list()
                        if v != ""
                    }
                listed[key] = [v for v, h in known.items() if h in hashes]
            hit = text.is_in(pl.Series(listed[key], dtype=pl.String).implode())
            columns.append(hit.fill_null(False).alias(name))
        return pl.DataFrame(columns)

    def _contacts_frame(self, applications: pl.DataFrame) -> pl.Series:
        """:data:`CONTACTS_LISTED_SHARE` of every row (each distinct contact hashed once)."""
        listed = self._listed_phones()
        has = [c for c in CONTACT_FIELDS if c in applications.columns]
        if not listed or not has:
            return pl.Series([0.0] * applications.height, dtype=pl.Float64)
        known: dict[str, bool] = {}
        out: list[float] = []
        for app in applications.select(has).iter_rows(named=True):
            contacts = declared_contacts(app)
            if not contacts:
                out.append(0.0)
                continue
            hits = 0
            for c in contacts:
                hit = known.get(c)
                if hit is None:
                    hit = known[c] = self._hash("phone", c) in listed
                hits += hit
            out.append(hits / len(contacts))
        return pl.Series(out, dtype=pl.Float64)
