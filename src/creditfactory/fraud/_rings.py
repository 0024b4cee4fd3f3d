"""Fraud rings (§4): applications linked by strong shared identifiers, grouped and scored.

Two applications are linked when they share a device, a phone number (as applicant's phone or
emergency contact: one namespace), an ID number or a customer. A shared IP address or home
address alone is weak evidence (flats, offices, carriers' NAT) and never links; it enters the
score through the weak-link velocity counts instead. A *group* is a connected component of
that graph; its size is the number of distinct customers in it (a customer's repeat
applications do not make a ring).

Union-find does the grouping: :class:`RingState` adds one application at a time (online, and
the point-in-time batch, which replays the history through the same object so both agree by
construction); :func:`rings_retro` labels the whole history at once with SciPy's
``connected_components`` over the same links (``benchmarks/bench_fraud.py`` measures it
against networkx and the Python union-find; ``tests/fraud`` cross-checks the components with
networkx).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from creditfactory.exceptions import DataError

BURST_SECONDS = 7 * 86_400
"""A group's *burst*: its customers who first applied within this long of the application."""

LINKS: tuple[tuple[str, str], ...] = (
    ("device_id", "d"),
    ("phone", "p"),
    ("emergency_contact_phone", "p"),
    ("id_number", "i"),
    ("customer_id", "c"),
)
"""Strong links: column -> namespace (a phone and an emergency contact share one)."""

RING_COLUMNS: tuple[str, ...] = (
    "ring_size",
    "ring_apps",
    "ring_burst",
    "ring_invalid_ids",
    "ring_known_bad",
    "ring_span_days",
)


def _text(v: Any) -> str | None:
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)) or v == "":
        return None
    return str(v)


def customer_key(application: Mapping[str, Any]) -> str | None:
    """Who applied: ``customer_id``, else the ID number, else unknown (None)."""
    return _text(application.get("customer_id")) or _text(application.get("id_number"))


class RingState:
    """Online ring grouping: feed applications in arrival order; each update links the new
    application to earlier ones sharing a strong identifier and returns its group's features
    as of that moment.

    >>> s = RingState()
    >>> s.update({"customer_id": "C1", "device_id": "D1"}, t=0, id_valid=True)["ring_size"]
    1
    >>> s.update({"customer_id": "C2", "device_id": "D1"}, t=60, id_valid=False)["ring_size"]
    2
    """

    def __init__(self) -> None:
        self._parent: list[int] = []
        self._customers: list[int] = []  # per root: distinct customers
        self._apps: list[int] = []  # per root: applications
        self._invalid: list[int] = []  # per root: applications with an invalid ID number
        self._bad: list[list[int]] = []  # per root: times members became known bad
        self._first: list[int] = []  # per root: earliest time
        self._joined: list[list[int]] = []  # per root: each customer's first time
        self._owner: dict[str, int] = {}  # namespaced identifier -> a node using it

    def _find(self, x: int) -> int:
        parent = self._parent
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:  # path compression
            parent[x], x = root, parent[x]
        return root

    def _union(self, a: int, b: int) -> int:
        ra, rb = self._find(a), self._find(b)
        if ra == rb:
            return ra
        if len(self._joined[ra]) < len(self._joined[rb]):  # small into large
            ra, rb = rb, ra
        self._parent[rb] = ra
        self._customers[ra] += self._customers[rb]
        self._apps[ra] += self._apps[rb]
        self._invalid[ra] += self._invalid[rb]
        if self._bad[rb]:
            self._bad[ra].extend(self._bad[rb])
            self._bad[rb] = []
        self._first[ra] = min(self._first[ra], self._first[rb])
        self._joined[ra].extend(self._joined[rb])
        self._joined[rb] = []
        return ra

    def update(
        self,
        application: Mapping[str, Any],
        *,
        t: int,
        id_valid: bool,
        known_bad_at: int | None = None,
    ) -> dict[str, Any]:
        """Add ``application`` (column -> value) made at ``t`` (seconds); return its group's
        ``ring_size``, ``ring_apps``, ``ring_burst``, ``ring_invalid_ids``, ``ring_known_bad``
        (other members known bad — declined as fraud, defaulted on the first payment — before
        ``t``; ``known_bad_at`` is when this application became known bad, seconds, if it
        did), ``ring_span_days`` and ``ring_group`` (a node id of the group, stable only until
        the next merge)."""
        keys = []
        for column, space in LINKS:
            value = _text(application.get(column))
            if value is not None:
                keys.append(space + value)
        feats = self.add(keys, customer_key(application), t, id_valid, known_bad_at)
        return dict(zip((*RING_COLUMNS, "ring_group"), feats, strict=True))

    def add(
        self,
        keys: list[str],
        customer: str | None,
        t: int,
        id_valid: bool,
        known_bad_at: int | None,
    ) -> tuple[int, int, int, int, int, float, int]:
        """:meth:`update` on prepared input: the namespaced identifiers (``"d"`` + device ...)
        and the customer key; returns the values of ``RING_COLUMNS`` and the group node."""
        node = len(self._parent)
        new_customer = customer is None or ("c" + customer) not in self._owner
        self._parent.append(node)
        self._customers.append(1 if new_customer else 0)
        self._apps.append(1)
        self._invalid.append(0 if id_valid else 1)
        self._bad.append([] if known_bad_at is None else [known_bad_at])
        self._first.append(t)
        self._joined.append([t] if new_customer else [])
        root = node
        owner = self._owner
        for key in keys:
            other = owner.get(key)
            if other is None:
                owner[key] = node
            else:
                root = self._union(root, other)
        own_bad = known_bad_at is not None and known_bad_at < t
        return (
            self._customers[root],
            self._apps[root],
            sum(1 for j in self._joined[root] if t - j < BURST_SECONDS),
            self._invalid[root],
            sum(1 for b in self._bad[root] if b < t) - own_bad,
            (t - self._first[root]) / 86_400.0,
            root,
        )


def link_edges(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Edges (i, j) of the strong-link graph over ``frame``'s rows: each application linked to
    the previous one sharing each identifier (a chain has the components of the full clique)."""
    keys: list[np.ndarray] = []
    rows: list[np.ndarray] = []
    for column, space in LINKS:
        if column not in frame.columns:
            continue
        values = frame[column].astype("string")
        ok = values.notna() & (values != "")
        keys.append((space + values[ok]).to_numpy(dtype=object))
        rows.append(np.flatnonzero(ok.to_numpy(bool)))
    if not keys:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    key = pd.factorize(np.concatenate(keys))[0]
    row = np.concatenate(rows)
    order = np.lexsort((row, key))
    k, r = key[order], row[order]
    same = np.flatnonzero(k[1:] == k[:-1])
    a, b = r[same], r[same + 1]
    keep = a != b
    return a[keep].astype(np.int64), b[keep].astype(np.int64)


def components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Connected-component label of each of ``n`` nodes given edges ``a``-``b`` (SciPy)."""
    graph = coo_matrix((np.ones(len(a), np.int8), (a, b)), shape=(n, n))
    return connected_components(graph, directed=False)[1].astype(np.int64)


def known_bad_seconds(frame: pd.DataFrame) -> np.ndarray | None:
    """The optional ``known_bad_at`` column as seconds (-1 where never known bad), or None."""
    if "known_bad_at" not in frame.columns:
        return None
    try:
        stamps = pd.to_datetime(frame["known_bad_at"])
    except (ValueError, TypeError) as exc:
        raise DataError(f"applications: column 'known_bad_at' is not a timestamp ({exc})") from exc
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    seconds = stamps.to_numpy("datetime64[s]").astype(np.int64)
    return np.where(stamps.isna().to_numpy(), -1, seconds)


def rings_retro(frame: pd.DataFrame, t: np.ndarray, id_valid: np.ndarray) -> pd.DataFrame:
    """Group features over the whole history (investigation, retro-scans), row-aligned with
    ``frame``: each application gets its complete group's size, applications, invalid IDs and
    time span, and ``ring_burst`` — the group's customers who first applied within
    :data:`BURST_SECONDS` either side of it."""
    n = len(frame)
    a, b = link_edges(frame)
    label = components(n, a, b)
    cust = pd.Series(pd.NA, index=frame.index, dtype="string")
    for column in ("id_number", "customer_id"):  # customer_id first, as customer_key()
        if column in frame.columns:
            values = frame[column].astype("string")
            cust = values.where(values.notna() & (values != ""), cust)
    codes = pd.factorize(cust)[0]
    codes = np.where(codes < 0, codes.max(initial=-1) + 1 + np.arange(n), codes)
    _, first_rows = np.unique(codes, return_index=True)
    first = np.zeros(n, dtype=bool)
    first[first_rows] = True  # frame is in arrival order: a customer's first application
    size = np.bincount(label, weights=first, minlength=n).astype(np.int64)
    apps = np.bincount(label, minlength=n)
    invalid = np.bincount(label, weights=~id_valid, minlength=n).astype(np.int64)
    bad_at = known_bad_seconds(frame)
    is_bad = np.zeros(n, bool) if bad_at is None else bad_at >= 0
    known_bad = np.bincount(label, weights=is_bad, minlength=n).astype(np.int64)[label] - is_bad
    t_min = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(t_min, label, t)
    t_max = np.full(n, np.iinfo(np.int64).min)
    np.maximum.at(t_max, label, t)
    # burst: the group's customers' first times within BURST_SECONDS either side
    span = np.int64(2**40)
    joined = np.sort(label[first] * span + t[first])
    here = label * span + t
    burst = np.searchsorted(joined, here + BURST_SECONDS - 1, side="right") - np.searchsorted(
        joined, here - BURST_SECONDS + 1, side="left"
    )
    return pd.DataFrame(
        {
            "ring_size": size[label],
            "ring_apps": apps[label],
            "ring_burst": burst.astype(np.int64),
            "ring_invalid_ids": invalid[label],
            "ring_known_bad": known_bad,
            "ring_span_days": (t_max[label] - t_min[label]) / 86_400.0,
            "ring_group": label,
        },
        index=frame.index,
    )


def rings_point_in_time(
    frame: pd.DataFrame, t: np.ndarray, id_valid: np.ndarray, progress: Any = None
) -> pd.DataFrame:
    """Group features of each application as of its arrival (``frame`` in arrival order),
    replaying the history through one :class:`RingState`."""
    state = RingState()
    n = len(frame)
    bad_at = known_bad_seconds(frame)
    bads: list[int | None] = (
        [None] * n if bad_at is None else [None if b < 0 else int(b) for b in bad_at]
    )
    columns: list[list[str | None]] = []
    for column, space in LINKS:
        if column in frame.columns:
            values = frame[column].astype("string")
            keyed = (space + values).where(values.notna() & (values != ""), None)
            columns.append(keyed.to_numpy(dtype=object, na_value=None).tolist())
    if columns:
        keys = [[k for k in row if k is not None] for row in zip(*columns, strict=True)]
    else:
        keys = [[] for _ in range(n)]
    cust = pd.Series(pd.NA, index=frame.index, dtype="string")
    for column in ("id_number", "customer_id"):  # customer_id first, as customer_key()
        if column in frame.columns:
            values = frame[column].astype("string")
            cust = values.where(values.notna() & (values != ""), cust)
    customers = cust.to_numpy(dtype=object, na_value=None).tolist()
    rows: list[tuple[int, int, int, int, int, float, int]] = []
    step = max(n // 100, 1)
    add = state.add
    for i, (k, c, ti, ok, bad) in enumerate(
        zip(keys, customers, t.tolist(), id_valid.tolist(), bads, strict=True)
    ):
        rows.append(add(k, c, ti, ok, bad))
        if progress is not None and i % step == step - 1:
            progress((i + 1) / n)
    out = pd.DataFrame(rows, columns=[*RING_COLUMNS, "ring_group"], index=frame.index)
    ints = {c: "int64" for c in (*RING_COLUMNS, "ring_group") if c != "ring_span_days"}
    out = out.astype({**ints, "ring_span_days": "float64"})
    # a stable group label: the first application of the group as finally merged
    out["ring_group"] = np.asarray([state._find(g) for g in out["ring_group"]], dtype=np.int64)
    return out
