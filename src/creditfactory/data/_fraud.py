"""Fraud rings: who belongs to which ring, what they share and when they strike."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from creditfactory.data._random import ids

SHARED_KINDS: tuple[str, ...] = ("device", "phone", "address", "contact")
# how often a ring shares each kind of identifier
_SHARE_P = np.array([0.75, 0.4, 0.45, 0.55])


@dataclass(frozen=True)
class FraudLayout:
    """Ring membership of the fraudulent applications (index 0..n_fraud-1)."""

    ring: np.ndarray  # ring number per fraudulent application, -1 for lone fraud
    ring_ids: np.ndarray  # 'R00001' per ring number
    shares: np.ndarray  # (n_rings, 4) bool: which identifiers each ring shares
    start_day: np.ndarray  # per ring, day offset (float) into the history where the burst starts
    burst_days: np.ndarray  # per ring, how many days its applications spread over (its speed)

    @property
    def n_rings(self) -> int:
        return len(self.ring_ids)


def layout_rings(
    n_fraud: int,
    *,
    ring_share: float,
    size_min: int,
    size_max: int,
    history_days: float,
    burst_days: float,
    rng: np.random.Generator,
) -> FraudLayout:
    """Split ``n_fraud`` fraudulent applications into rings (sizes between ``size_min`` and
    ``size_max``, skewed small) and lone fraud."""
    n_ring_apps = round(n_fraud * ring_share)
    sizes: list[int] = []
    while sum(sizes) < n_ring_apps:
        span = size_max - size_min + 1
        sizes.append(size_min + min(int(rng.geometric(3.0 / (span + 2))) - 1, span - 1))
    if sizes and sum(sizes) > n_ring_apps:
        sizes[-1] -= sum(sizes) - n_ring_apps
        if sizes[-1] < size_min:  # fold a too-small remainder into the previous ring
            tail = sizes.pop()
            if sizes:
                sizes[-1] += tail
            else:
                sizes.append(tail)
    sizes = [s for s in sizes if s > 0]
    ring = np.full(n_fraud, -1, dtype=np.int64)
    ring[:n_ring_apps] = np.repeat(np.arange(len(sizes)), sizes)
    shares = rng.random((len(sizes), len(SHARED_KINDS))) < _SHARE_P
    none = ~shares.any(axis=1)
    shares[none, rng.integers(0, len(SHARED_KINDS), none.sum())] = True
    start = rng.random(len(sizes)) * max(history_days - burst_days, 1.0)
    # some rings strike within hours, others spread over the whole burst window
    speed = burst_days * rng.uniform(0.1, 1.0, len(sizes))
    return FraudLayout(ring, ids("R", len(sizes), width=5), shares, start, speed)


def ring_identifiers(
    layout: FraudLayout, own: dict[str, np.ndarray], rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Overwrite the identifiers of ring members with values from their ring's small shared
    pool, for the kinds of identifier the ring shares. ``own`` maps 'device', 'phone',
    'address', 'contact' to arrays over the fraudulent applications. A ring that shares contacts
    names each other: a member's emergency contact is the phone one of the ring's first members
    applies with (another member's, never its own, unless the ring has one member)."""
    out = {k: v.copy() for k, v in own.items()}
    members = layout.ring >= 0
    ring = layout.ring[members]
    for k, kind in enumerate(SHARED_KINDS):
        pool_size = {"device": 3, "phone": 2, "address": 1, "contact": 2}[kind]
        # each member takes one of its ring's few shared values: the first members' own values
        slot = rng.integers(0, pool_size, len(ring))
        first = np.searchsorted(ring, np.arange(layout.n_rings))  # rings are contiguous
        sizes = np.bincount(ring, minlength=layout.n_rings)
        donor = first[ring] + np.minimum(slot, sizes[ring] - 1)
        values = out[kind][members]
        if kind == "contact" and "phone" in out:
            # a ring that shares contacts names each other (互为紧急联系人): the emergency
            # contact is the phone one of the first members applies with, never one's own
            position = np.arange(len(ring))
            self_named = (donor == position) & (sizes[ring] > 1)
            donor[self_named] = first[ring][self_named] + (
                donor[self_named] == first[ring][self_named]
            ).astype(np.int64)
            donor_values = out["phone"][members][donor]
        else:
            donor_values = own[kind][members][donor]
        use = layout.shares[ring, k]
        values[use] = donor_values[use]
        out[kind][members] = values
    return out
