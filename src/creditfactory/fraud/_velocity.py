"""Velocity (§3): counts and distinct counts per identifier over sliding windows.

Batch over a history with Polars (a self-join of each identifier's applications, filtered to the
window) and online, one application at a time, with :class:`VelocityState`. Both see the
applications in *arrival order* — ``applied_at``, ties broken by row order — and, at a point in
time, count only strictly earlier applications within the window ``(t - w, t]``; a distinct
count includes the application itself (``1`` means only this applicant). ``tests/fraud``
checks that the two forms agree on random histories.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import polars as pl

from creditfactory.exceptions import DataError

WINDOWS: dict[str, int] = {"1h": 3_600, "24h": 86_400, "7d": 7 * 86_400, "30d": 30 * 86_400}
"""Window name -> length in seconds."""
_SECONDS = tuple(WINDOWS.values())
_LONGEST = max(_SECONDS)


@dataclass(frozen=True)
class VelocitySpec:
    """One velocity family: per value of ``key``, count applications (``other`` None) or the
    distinct values of ``other`` in each window; columns are ``vel_{name}_{window}``."""

    name: str
    key: str
    other: str | None = None
    meaning: str = ""


SPECS: tuple[VelocitySpec, ...] = (
    VelocitySpec("device_apps", "device_id", None, "earlier applications from the device"),
    VelocitySpec("device_ids", "device_id", "id_number", "distinct ID numbers on the device"),
    VelocitySpec("phone_ids", "phone", "id_number", "distinct ID numbers with the phone"),
    VelocitySpec("id_devices", "id_number", "device_id", "distinct devices of the ID number"),
    VelocitySpec("ip_apps", "ip_address", None, "earlier applications from the IP address"),
    VelocitySpec("address_apps", "address_id", None, "earlier applications from the address"),
    VelocitySpec(
        "address_customers", "address_id", "customer_id", "distinct customers at the address"
    ),
    VelocitySpec(
        "subnet_customers", "ip_subnet", "customer_id", "distinct customers on the /24 subnet"
    ),
)
"""The velocity features: applications per device, distinct ID numbers per device and per
phone, distinct devices per ID number, applications per IP and per address, and distinct
customers per address and per /24 IP subnet (weak links: flats, offices, carriers' NAT)."""


def velocity_meanings(specs: tuple[VelocitySpec, ...] = SPECS) -> dict[str, str]:
    """Velocity column -> its meaning."""
    return {f"vel_{s.name}_{w}": f"{s.meaning} within {w}" for s in specs for w in WINDOWS}


def velocity_columns(specs: tuple[VelocitySpec, ...] = SPECS) -> list[str]:
    """Names of the velocity columns, in output order."""
    return [f"vel_{s.name}_{w}" for s in specs for w in WINDOWS]


def ip_subnet(ip: Any) -> str | None:
    """The /24 subnet ``a.b.c`` of an IPv4 address (None for anything else).

    >>> ip_subnet("36.12.7.201"), ip_subnet(None)
    ('36.12.7', None)
    """
    if not isinstance(ip, str) or ip.count(".") != 3:
        return None
    return ip.rsplit(".", 1)[0]


def _key_frame(frame: pd.DataFrame, t: np.ndarray, spec: VelocitySpec) -> pl.DataFrame:
    if spec.key == "ip_subnet":
        values = [ip_subnet(v) for v in _column(frame, "ip_address")]
    else:
        values = _column(frame, spec.key)
    key = pl.Series("key", values, dtype=pl.String)
    cols: dict[str, Any] = {"row": np.arange(len(frame)), "t": t, "key": key}
    if spec.other is not None:
        cols["other"] = pl.Series("other", _column(frame, spec.other), dtype=pl.String)
    return pl.DataFrame(cols).filter(pl.col("key").is_not_null())


def _column(frame: pd.DataFrame, name: str) -> list[str | None]:
    if name not in frame.columns:  # an identifier not collected links nothing
        return [None] * len(frame)
    values = frame[name].astype("string").to_numpy(dtype=object, na_value=None)
    return [None if v is None or v == "" else str(v) for v in values]


def velocity_batch(
    frame: pd.DataFrame,
    t: np.ndarray,
    *,
    point_in_time: bool = True,
    specs: tuple[VelocitySpec, ...] = SPECS,
) -> pd.DataFrame:
    """Velocity features of every application, row-aligned with ``frame``.

    ``t`` is each application's time in integer seconds and ``frame`` must already be in
    arrival order (``fraud_features`` sorts it). At a point in time an application counts the
    strictly earlier applications within each window; retro (``point_in_time=False``) counts
    every other application within the window either side of it.
    """
    n = len(frame)
    out: dict[str, np.ndarray] = {}
    longest = max(WINDOWS.values())
    for spec in specs:
        keyed = _key_frame(frame, t, spec)
        right = keyed.rename({"row": "row_j", "t": "t_j"})
        if spec.other is not None:
            right = right.rename({"other": "other_j"})
        pairs = keyed.join(right, on="key", how="inner")
        if point_in_time:
            pairs = pairs.filter(pl.col("row_j") <= pl.col("row"))
        pairs = pairs.with_columns((pl.col("t") - pl.col("t_j")).abs().alias("dt")).filter(
            pl.col("dt") < longest
        )
        aggs = []
        for w, secs in WINDOWS.items():
            inside = pl.col("dt") < secs
            if spec.other is None:
                aggs.append(((inside & (pl.col("row_j") != pl.col("row"))).sum()).alias(w))
            else:
                aggs.append(pl.col("other_j").filter(inside).drop_nulls().n_unique().alias(w))
        agg = pairs.group_by("row").agg(aggs).sort("row")
        rows = agg["row"].to_numpy()
        for w in WINDOWS:
            col = np.zeros(n, dtype=np.int64)
            col[rows] = agg[w].to_numpy()
            out[f"vel_{spec.name}_{w}"] = col
    return pd.DataFrame(out, index=frame.index)


def _value(application: Mapping[str, Any], name: str) -> str | None:
    if name == "ip_subnet":
        return ip_subnet(application.get("ip_address"))
    v = application.get(name)
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA or v == "":
        return None
    return str(v)


class VelocityState:
    """Online velocity: feed applications in arrival order, get each one's features.

    Holds, per identifier value, the last 30 days of its applications (time and the other
    identifier); a store-backed provider can keep the same state in indexed tables.

    >>> s = VelocityState()
    >>> row = {"applied_at": "2024-01-01 10:00", "device_id": "D1", "id_number": "X1"}
    >>> s.update(row)["vel_device_apps_24h"], s.update(row)["vel_device_apps_24h"]
    (0, 1)
    """

    def __init__(self, specs: tuple[VelocitySpec, ...] = SPECS) -> None:
        self.specs = specs
        self._events: list[dict[str, deque[tuple[int, str | None]]]] = [{} for _ in specs]
        self._last_t: int | None = None
        self._names = {s.name: [f"vel_{s.name}_{w}" for w in WINDOWS] for s in specs}

    def update(self, application: Mapping[str, Any], t: int | None = None) -> dict[str, int]:
        """Features of ``application`` (a mapping of column -> value) from the applications
        seen before it; then remember it. ``t`` (seconds) overrides ``applied_at``."""
        if t is None:
            stamp = pd.Timestamp(application.get("applied_at"))
            if pd.isna(stamp):
                raise DataError("application: 'applied_at' is missing or not a time")
            if stamp.tzinfo is not None:
                stamp = stamp.tz_convert("UTC").tz_localize(None)
            t = int(stamp.value // 1_000_000_000)
        values = {spec.key: _value(application, spec.key) for spec in self.specs}
        values.update({s.other: _value(application, s.other) for s in self.specs if s.other})
        return self.add(values, t)

    def add(self, values: Mapping[str, str | None], t: int) -> dict[str, int]:
        """:meth:`update` on prepared input: each identifier's text (or None) by its name —
        ``device_id``, ``id_number``, ``phone``, ``ip_address``, ``ip_subnet``, ``address_id``,
        ``customer_id`` — as given (the store's fraud links give keyed hashes: equal texts,
        equal hashes), and the time in seconds, not earlier than the previous one's."""
        if self._last_t is not None and t < self._last_t:
            raise DataError(
                "application: 'applied_at' is earlier than the previous application's; "
                "online velocity needs arrival order"
            )
        self._last_t = t
        out: dict[str, int] = {}
        for spec, events in zip(self.specs, self._events, strict=True):
            names = self._names[spec.name]
            key = values.get(spec.key)
            if key is None:
                out.update(dict.fromkeys(names, 0))
                continue
            other = values.get(spec.other) if spec.other else None
            dq = events.get(key)
            if dq is None:
                dq = events[key] = deque()
            while dq and t - dq[0][0] >= _LONGEST:
                dq.popleft()
            if not dq:  # the usual case: nothing earlier within 30 days
                one = 0 if spec.other is None else (0 if other is None else 1)
                out.update(dict.fromkeys(names, one))
            elif spec.other is None:
                for name, secs in zip(names, _SECONDS, strict=True):
                    out[name] = sum(1 for tj, _ in dq if t - tj < secs)
            else:
                for name, secs in zip(names, _SECONDS, strict=True):
                    seen = {o for tj, o in dq if t - tj < secs and o is not None}
                    if other is not None:
                        seen.add(other)
                    out[name] = len(seen)
            dq.append((t, other))
        return out
