"""Rings: components cross-checked with networkx; online == point-in-time batch."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from creditfactory.fraud import LINKS, RingState, components, link_edges
from creditfactory.fraud._rings import rings_point_in_time, rings_retro


def nx_groups(frame: pd.DataFrame) -> list[set[int]]:
    """Components by networkx over the full cliques: rows sharing any strong identifier (a
    phone and an emergency contact in one namespace) are adjacent."""
    g = nx.Graph()
    g.add_nodes_from(range(len(frame)))
    by_value: dict[str, list[int]] = {}
    for column, space in LINKS:
        if column not in frame.columns:
            continue
        for i, v in enumerate(frame[column]):
            if isinstance(v, str) and v:
                by_value.setdefault(space + v, []).append(i)
    for rows in by_value.values():
        g.add_edges_from((a, b) for a in rows for b in rows if a < b)
    return [set(c) for c in nx.connected_components(g)]


def _partition(labels: np.ndarray) -> set[frozenset[int]]:
    return {frozenset(np.flatnonzero(labels == k).tolist()) for k in np.unique(labels)}


def test_components_match_networkx_on_the_twin(book) -> None:
    apps = book.applications
    a, b = link_edges(apps)
    labels = components(len(apps), a, b)
    assert _partition(labels) == {frozenset(c) for c in nx_groups(apps)}
    # and the rings are found: most ring members share a group with another member
    truth = book.truth
    ring = truth["ring_id"].notna().to_numpy()
    sizes = np.bincount(labels)[labels]
    assert (sizes[ring] > 1).mean() > 0.8


rows = st.lists(
    st.tuples(
        st.sampled_from(["C1", "C2", "C3", "C4", "C5", "C6"]),
        st.sampled_from(["D1", "D2", "D3", "D4", None]),
        st.sampled_from(["P1", "P2", "P3", None]),
        st.sampled_from(["P1", "P4", "P5", None]),  # emergency contact: P1 links to a phone
        st.integers(0, 20 * 86_400),
    ),
    min_size=1,
    max_size=30,
)


@settings(max_examples=60, deadline=None)
@given(rows)
def test_point_in_time_groups_are_the_graph_of_earlier_applications(data) -> None:
    data = sorted(data, key=lambda r: r[-1])
    frame = pd.DataFrame(
        data, columns=["customer_id", "device_id", "phone", "emergency_contact_phone", "t"]
    )
    t = frame.pop("t").to_numpy(np.int64)
    valid = np.ones(len(frame), bool)
    pit = rings_point_in_time(frame, t, valid)
    state = RingState()
    for i, rec in enumerate(frame.astype(object).where(frame.notna(), None).to_dict("records")):
        online = state.update(rec, t=int(t[i]), id_valid=True)
        # networkx over the applications up to and including i
        group = next(c for c in nx_groups(frame.iloc[: i + 1]) if i in c)
        customers = frame["customer_id"].iloc[sorted(group)].nunique()
        assert online["ring_size"] == customers == pit["ring_size"].iloc[i]
        assert online["ring_apps"] == len(group) == pit["ring_apps"].iloc[i]
    retro = rings_retro(frame, t, valid)
    assert _partition(retro["ring_group"].to_numpy()) == {frozenset(c) for c in nx_groups(frame)}


def test_group_features_by_hand() -> None:
    day = 86_400
    frame = pd.DataFrame(
        {
            "customer_id": ["C1", "C2", "C3", "C1", "C4"],
            "device_id": ["D1", "D1", "D2", "D9", "D5"],
            "phone": ["P1", "P2", "P3", "P1", "P4"],
            "emergency_contact_phone": [None, "P3", None, None, None],
        }
    )
    t = np.array([0, 1 * day, 2 * day, 8 * day + day // 2, 30 * day])
    valid = np.array([True, False, True, True, True])
    pit = rings_point_in_time(frame, t, valid)
    # C2 shares C1's device; C3's phone is C2's emergency contact; C1 comes back on day 8.5
    assert pit["ring_size"].tolist() == [1, 2, 3, 3, 1]
    assert pit["ring_apps"].tolist() == [1, 2, 3, 4, 1]
    assert pit["ring_burst"].tolist() == [1, 2, 3, 1, 1]  # day 8.5: only C3 (day 2) within 7 d
    assert pit["ring_invalid_ids"].tolist() == [0, 1, 1, 1, 0]
    assert pit["ring_span_days"].tolist() == [0.0, 1.0, 2.0, 8.5, 0.0]
    retro = rings_retro(frame, t, valid)
    assert retro["ring_size"].tolist() == [3, 3, 3, 3, 1]
    assert retro["ring_burst"].tolist() == [3, 3, 3, 1, 1]
    assert retro["ring_span_days"].tolist() == [8.5, 8.5, 8.5, 8.5, 0.0]


def test_members_known_bad_only_count_once_known() -> None:
    day = 86_400
    frame = pd.DataFrame(
        {
            "customer_id": ["C1", "C2", "C3", "C1", "C4"],
            "device_id": ["D1", "D1", "D2", "D9", "D5"],
            "phone": ["P1", "P2", "P3", "P1", "P4"],
            "emergency_contact_phone": [None, "P3", None, None, None],
            # C1's first application is found bad a day and a half after it was made
            "known_bad_at": pd.to_datetime([day * 1.5, None, None, None, None], unit="s"),
        }
    )
    t = np.array([0, 1 * day, 2 * day, 8 * day + day // 2, 30 * day])
    valid = np.ones(5, bool)
    pit = rings_point_in_time(frame, t, valid)
    assert pit["ring_known_bad"].tolist() == [0, 0, 1, 1, 0]
    retro = rings_retro(frame, t, valid)
    assert retro["ring_known_bad"].tolist() == [0, 1, 1, 1, 0]
