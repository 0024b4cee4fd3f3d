"""Fraud features as a provider source: ``fraud:<feature>`` names, the same values online and in
batch.

A strategy declares an input as *provided* (``ring_size: {type: int, provided:
fraud:ring_size}``) and the look-ups answer it through :class:`FraudSource`, the source of kind
``fraud`` of a :class:`~creditfactory.fraud.Lookups`. The name after ``fraud:`` is a column of
:func:`~creditfactory.fraud.fraud_features` (:data:`~creditfactory.fraud.FEATURES`):
``fraud:id_valid``, ``fraud:ring_size``, ``fraud:fraud_flag``, ``fraud:vel_device_ids_24h`` ...

- In batch and simulation (:meth:`FraudSource.frame`) the history is the frame itself: each
  application's features are computed point in time, from the applications of the frame that
  arrived before it (``applied_at``, ties in row order), plus whatever the source was warmed
  with.
- Online (:meth:`FraudSource.row`) the source holds the history in memory (velocity windows and
  union-find groups over each application's *link*: its time, ID validity and identifiers,
  kept through the source's hasher): each application asked about is added to it (once: asking
  again about the same ``application_id`` gives the same answer) and its features are those of
  the applications seen before it; the identity checks and the score of the one application
  are computed in plain Python (:mod:`creditfactory.fraud._online`). Arrival order is the
  history's order: an application stamped earlier than one already seen counts as arriving at
  that one's time. The service stores each decided application's link
  (:meth:`FraudSource.link`, keyed hashes) with its decision and adds the links other engine
  processes stored (:meth:`FraudSource.absorb`), so every process, and a restarted one, sees
  every decision (:mod:`creditfactory.factory._fraud`).

The two give the same values when they see the same applications in the same order
(``tests/fraud/test_source.py`` checks it on random histories, also with two sources sharing
their links as two processes do).
"""

from __future__ import annotations

import hashlib
import hmac
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import polars as pl

from creditfactory.exceptions import ConfigError, DataError
from creditfactory.fraud._features import FEATURES, REQUIRED, fraud_features, known_bad_seconds
from creditfactory.fraud._online import check_id, identity_row, score_row
from creditfactory.fraud._rings import RING_COLUMNS, RingState, _text
from creditfactory.fraud._velocity import VelocityState, ip_subnet

KIND = "fraud"
"""The kind of the fraud features' names (``fraud:<column>``)."""

PROVIDED: tuple[str, ...] = tuple(c for c in FEATURES if c not in ("application_id", "ring_group"))
"""The columns a strategy may ask for (``ring_group`` is a label, not a value to decide on)."""


def fraud_feature(column: str) -> str:
    """The provider name of a fraud feature column.

    >>> fraud_feature("ring_size")
    'fraud:ring_size'
    """
    return f"{KIND}:{column}"


def parse_fraud_feature(name: str) -> str:
    """The column of a ``fraud:<column>`` name; a clear error for anything else.

    >>> parse_fraud_feature("fraud:id_valid")
    'id_valid'
    """
    kind, _, column = name.partition(":")
    if kind != KIND or column not in PROVIDED:
        raise ConfigError(
            f"feature {name!r}: not a fraud feature (fraud:<column>, a column of "
            f"creditfactory.fraud.FEATURES other than application_id and ring_group)"
        )
    return column


Hasher = Callable[[str], str]
"""How an identifier's text is kept in the history: the text itself (offline), or a keyed hash
(:func:`keyed_hasher`, the service: the store's fraud links hold only hashes)."""

Link = tuple[Any, ...]
"""What the history keeps of one application (the store's fraud link row, ``LINK_COLS``):
``(t, id_valid, known_bad_at, customer, device, phone, contact, id_number, ip, subnet,
address)`` — the time in seconds, whether the ID number is valid, when it became known bad
(seconds or None) and each identifier's text through the source's hasher (or None)."""


def keyed_hasher(secret: str) -> Hasher:
    """A keyed hash of identifiers' texts (BLAKE2b keyed by ``secret``, 128 bits as hex): equal
    texts give equal hashes, which is all grouping and distinct counts need, and nothing in the
    store can be read back or guessed without the secret.

    >>> h = keyed_hasher("s3cret")
    >>> h("13800000000") == h("13800000000") != keyed_hasher("other")("13800000000"), len(h("x"))
    (True, 32)
    """
    key = hmac.digest(secret.encode("utf-8"), b"creditfactory fraud links", "sha256")

    def digest(text: str) -> str:
        return hashlib.blake2b(text.encode("utf-8"), key=key, digest_size=16).hexdigest()

    return digest


def _same(text: str) -> str:
    return text


class _History:
    """The velocity and group state over links (the order they are added is arrival order)."""

    def __init__(self) -> None:
        self.velocity = VelocityState()
        self.rings = RingState()
        self.last_t: int | None = None

    def add(self, link: Link, velocity: bool = True) -> tuple[dict[str, int], tuple[Any, ...]]:
        t, ok, bad, customer, device, phone, contact, id_number, ip, subnet, address = link
        if self.last_t is not None and t < self.last_t:
            t = self.last_t  # stored by another process meanwhile: it arrives now
        self.last_t = t
        vel: dict[str, int] = {}
        if velocity:
            vel = self.velocity.add(
                {"device_id": device, "id_number": id_number, "phone": phone, "ip_address": ip,
                 "ip_subnet": subnet, "address_id": address, "customer_id": customer},
                t,
            )  # fmt: skip
        pairs = (("d", device), ("p", phone), ("p", contact), ("i", id_number), ("c", customer))
        keys = [space + value for space, value in pairs if value is not None]
        ring = self.rings.add(keys, customer or id_number, t, bool(ok), bad)
        return vel, ring


class FraudSource:
    """The ``fraud`` source of the look-ups (see the module's docstring).

    Parameters
    ----------
    cache : int, default 10000
        How many recent applications' answers :meth:`row` remembers, so that a retried
        application is not counted twice.
    clock : callable, optional
        ``clock()`` gives the arrival time of an application that carries no ``applied_at``
        (the service passes its clock); without it such an application is an error.
    hasher : callable, optional
        How identifiers are kept in the history (:func:`keyed_hasher`; by default as they are).
        The service keys it so that the links it stores (:meth:`link`) and reads back from
        other processes (:meth:`absorb`) hold no clear identifier.

    Examples
    --------
    >>> src = FraudSource()
    >>> app = {"application_id": "A1", "applied_at": "2024-03-01 10:00",
    ...        "id_number": "110105194912310021", "device_id": "D1"}
    >>> src.row(("fraud:id_valid", "fraud:ring_size"), app)
    {'fraud:id_valid': False, 'fraud:ring_size': 1}
    """

    def __init__(
        self,
        cache: int = 10_000,
        clock: Callable[[], Any] | None = None,
        hasher: Hasher | None = None,
    ) -> None:
        self.clock = clock
        self.hash = _same if hasher is None else hasher
        self.state = _History()
        self._history: list[dict[str, Any]] = []  # what warmed the state (batch sees it too)
        self._answers: OrderedDict[Any, dict[str, Any]] = OrderedDict()
        self._cache = cache
        self._digest = hashlib.sha256()
        self.seen = 0
        self._last_t: int | None = None  # the latest arrival time seen (seconds)
        self._prepared: pd.DataFrame | None = None  # a whole history's features (prepare)
        self._fresh: dict[Any, Link] = {}  # links added here and not yet stored
        self._fresh_keys: dict[int, Any] = {}  # id(link) -> its application's key
        self._own: set[int] = set()  # stored ids of links added here, not yet read back
        self.high_water = 0  # the last stored link read (its seq)

    def warm(self, applications: Iterable[Mapping[str, Any]]) -> int:
        """Feed earlier applications into the state, in ``applied_at`` order; returns how many
        (one without a readable ``applied_at`` is left out)."""
        timed = [(_stamp(a.get("applied_at")), dict(a)) for a in applications]
        rows = sorted(((t, a) for t, a in timed if t is not None), key=lambda ta: ta[0].value)
        for _, app in rows:  # an application without a readable time is left out
            self._see(app)
            self._history.append(app)
        self._fresh.clear()
        self._fresh_keys.clear()
        return len(rows)

    # ------------------------------------------------------------------ the store's links
    def link(self, application: Mapping[str, Any]) -> Link | None:
        """The link to store with ``application`` (:data:`Link`): the one :meth:`row` added to
        the history if it has not been stored yet, else (an application this source was not
        asked about) one made now and not added (it comes back through :meth:`absorb`); None
        for an application asked about and stored before (a retry)."""
        key = application.get("application_id")
        fresh = self._fresh.get(key)
        if fresh is not None:
            return fresh
        if key in self._answers:
            return None
        raw = application.get("applied_at")
        if raw is None and self.clock is not None:
            raw = self.clock()
        t = _seconds(raw)
        if t is None:
            return None  # no time: never in the history (the features said why)
        if self._last_t is not None and t < self._last_t:
            t = self._last_t
        ok = check_id(application.get("id_number"))[0]
        try:
            bad = known_bad_seconds(application)
        except DataError:
            bad = None
        return self._link_of(application, t, ok, bad)

    def stored(self, link: Link, application_id: int) -> None:
        """``link`` was stored with the application of store id ``application_id``: when
        :meth:`absorb` reads it back it is not added twice."""
        key = self._fresh_keys.pop(id(link), None)
        if key is not None:
            self._fresh.pop(key, None)
            self._own.add(application_id)

    def absorb(self, rows: Sequence[tuple[Any, ...]]) -> int:
        """Add stored links read back from the store, ``(seq, application_id, *link)`` in
        ``seq`` order (other processes' decisions; this one's own are skipped); returns how
        many were added. Links older than the velocity windows before the newest one are added
        to the groups only (they count in no window of a later application)."""
        added = 0
        newest = max((r[2] for r in rows), default=0)
        cutoff = newest - _LONGEST
        own, state = self._own, self.state
        for row in rows:
            seq, app_id, link = row[0], row[1], row[2:]
            self.high_water = seq
            if app_id in own:
                own.discard(app_id)
                continue
            state.add(link, velocity=link[0] > cutoff)
            added += 1
        if added:
            self.seen += added
            self._digest.update(f"stored:{self.high_water}\x1e".encode())
            last = state.last_t
            if last is not None and (self._last_t is None or last > self._last_t):
                self._last_t = last
        return added

    def _link_of(self, application: Mapping[str, Any], t: int, ok: bool, bad: int | None) -> Link:
        h = self.hash
        get = application.get
        values = []
        for name in ("customer_id", "device_id", "phone", "emergency_contact_phone",
                     "id_number", "ip_address"):  # fmt: skip
            text = _text(get(name))
            values.append(None if text is None else h(text))
        subnet = ip_subnet(get("ip_address"))
        address = _text(get("address_id"))
        return (
            t, ok, bad, *values, None if subnet is None else h(subnet),
            None if address is None else h(address),
        )  # fmt: skip

    # ------------------------------------------------------------------ deciding
    def _see(self, application: Mapping[str, Any]) -> dict[str, Any]:
        key = application.get("application_id")
        found = self._answers.get(key)
        if found is not None:
            return found
        if self.clock is not None and application.get("applied_at") is None:
            application = {**application, "applied_at": self.clock()}
        t = _seconds(application.get("applied_at"))
        if t is not None and self._last_t is not None and t < self._last_t:
            # arrived after a later-stamped one (clients' clocks, concurrent requests): online,
            # the order of arrival is the order of the history
            t = self._last_t
        feats, link = self._features_of(application, t)
        if t is not None and (self._last_t is None or t > self._last_t):
            self._last_t = t
        self.seen += 1
        self._digest.update(f"{key}\x1e".encode())
        self._answers[key] = feats
        if len(self._answers) > self._cache:
            self._answers.popitem(last=False)
        fresh = self._fresh
        fresh[key] = link
        self._fresh_keys[id(link)] = key
        if len(fresh) > self._cache:  # never stored (no store: batch, tests): forgotten
            self._fresh_keys.pop(id(fresh.pop(next(iter(fresh)))), None)
        return feats

    def _features_of(
        self, application: Mapping[str, Any], t: int | None
    ) -> tuple[dict[str, Any], Link]:
        """Every feature of ``application`` made at ``t`` (seconds) from the history before it,
        and its link (added)."""
        missing = [c for c in REQUIRED if c not in application]
        if missing:
            raise DataError(f"application: required field(s) {missing} missing")
        if application["application_id"] is None:
            raise DataError("application: field 'application_id' is empty")
        if t is None:
            raise DataError("application: field 'applied_at' is not a time")
        ident = identity_row(application, t)
        link = self._link_of(application, t, ident["id_valid"], known_bad_seconds(application))
        vel, ring = self.state.add(link)
        feats: dict[str, Any] = {"application_id": application["application_id"], **ident, **vel}
        feats.update(zip(_RING_NAMES, ring, strict=True))
        feats.update(score_row(application, feats))
        return {c: feats[c] for c in FEATURES if c in feats}, link

    def row(self, names: Sequence[str], application: Mapping[str, Any]) -> dict[str, Any]:
        columns = [parse_fraud_feature(n) for n in names]
        feats = self._see(application)
        return {n: feats[c] for n, c in zip(names, columns, strict=True)}

    def prepare(self, applications: pl.DataFrame) -> None:
        """Compute the features of a whole history at once (a file decided in chunks): a later
        :meth:`frame` of some of its applications answers from it, so that each chunk sees
        the whole history before its rows, not only the chunk."""
        feats = self._features(applications)
        self._prepared = feats.set_index("application_id", drop=False)
        for key in feats["application_id"]:
            self._digest.update(f"{key}\x1e".encode())
        self.seen += len(feats)

    def frame(self, names: Sequence[str], applications: pl.DataFrame) -> pl.DataFrame:
        columns = [parse_fraud_feature(n) for n in names]
        prepared = self._prepared
        if prepared is not None and "application_id" in applications.columns:
            ids = applications.get_column("application_id").to_list()
            if prepared.index.is_unique and all(i in prepared.index for i in ids):
                return _as_frame(names, columns, prepared.loc[ids])
        return _as_frame(names, columns, self._features(applications))

    def _features(self, applications: pl.DataFrame) -> pd.DataFrame:
        apps = applications.to_pandas()
        if "applied_at" in apps.columns and not pd.api.types.is_datetime64_any_dtype(
            apps["applied_at"]
        ):
            try:
                apps["applied_at"] = pd.to_datetime(apps["applied_at"])
            except (ValueError, TypeError) as exc:
                raise DataError(f"applications: column 'applied_at' is not a time ({exc})") from exc
        n_hist = len(self._history)
        if n_hist:
            hist = pd.DataFrame(self._history)
            hist["applied_at"] = pd.to_datetime(hist["applied_at"])
            apps = pd.concat([hist, apps], ignore_index=True)
        return fraud_features(apps, point_in_time=True).iloc[n_hist:]

    def fingerprint(self) -> str:
        return f"fraud:{self.seen}:{self._digest.hexdigest()}"


def _as_frame(names: Sequence[str], columns: Sequence[str], feats: pd.DataFrame) -> pl.DataFrame:
    data = {}
    for name, column in zip(names, columns, strict=True):
        values = feats[column]
        data[name] = values.astype(object).where(values.notna(), None).tolist()
    return pl.DataFrame(data, strict=False)


_LONGEST = 30 * 86_400  # the longest velocity window (seconds)
_RING_NAMES = (*RING_COLUMNS, "ring_group")


def _scalar(value: Any) -> Any:
    item = getattr(value, "item", None)
    return item() if callable(item) and not isinstance(value, str) else value


_EPOCH = datetime(1970, 1, 1)


def _seconds(value: Any) -> int | None:
    """``value`` as whole seconds since 1970 UTC (a naive time is UTC), or None when it is no
    time: ``_stamp``'s, without pandas for the usual datetimes and ISO-8601 texts."""
    if value is pd.NaT:  # a datetime too, as pandas' Timestamp
        return None
    if isinstance(value, pd.Timestamp):  # its nanoseconds, as _stamp's
        return int(value.value // 1_000_000_000)
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        since = value - _EPOCH
        return since.days * 86_400 + since.seconds
    if isinstance(value, str):
        try:
            return _seconds(datetime.fromisoformat(value))
        except ValueError:
            pass  # pandas reads more forms
    stamp = _stamp(value)
    return None if stamp is None else int(stamp.value // 1_000_000_000)


def _stamp(value: Any) -> pd.Timestamp | None:
    """``value`` as a naive UTC timestamp, or None when it is no time (the state says why)."""
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError):
        return None
    if pd.isna(stamp):
        return None
    return stamp.tz_convert("UTC").tz_localize(None) if stamp.tzinfo is not None else stamp
