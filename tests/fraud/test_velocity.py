"""Velocity: batch (Polars) and online (VelocityState) agree, and both match a brute force."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from creditfactory.exceptions import DataError
from creditfactory.fraud import WINDOWS, VelocityState, velocity_columns
from creditfactory.fraud._velocity import SPECS, ip_subnet, velocity_batch

T0 = int(pd.Timestamp("2024-01-01").value // 10**9)


def brute_force(frame: pd.DataFrame, t: np.ndarray, point_in_time: bool) -> pd.DataFrame:
    """The definition, row by row with plain loops: earlier (or, retro, any other) rows with
    the same key within the window; distinct counts include the row itself."""
    out = {c: [] for c in velocity_columns()}
    rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
    for i, row in enumerate(rows):
        for spec in SPECS:
            col = "ip_address" if spec.key == "ip_subnet" else spec.key

            def key_of(r, col=col, subnet=spec.key == "ip_subnet"):
                v = r.get(col)
                return ip_subnet(v) if subnet else v

            k = key_of(row)
            for w, secs in WINDOWS.items():
                name = f"vel_{spec.name}_{w}"
                if k is None:
                    out[name].append(0)
                    continue
                others = [
                    j
                    for j in range(len(rows))
                    if j != i
                    and key_of(rows[j]) == k
                    and abs(int(t[i]) - int(t[j])) < secs
                    and (j < i or not point_in_time)
                ]
                if spec.other is None:
                    out[name].append(len(others))
                else:
                    seen = {rows[j][spec.other] for j in others} | {row[spec.other]}
                    out[name].append(len(seen - {None}))
    return pd.DataFrame(out)


history = st.lists(
    st.tuples(
        st.integers(0, 45 * 86_400),  # time offset, seconds
        st.sampled_from(["D1", "D2", "D3", None]),
        st.sampled_from(["P1", "P2", None]),
        st.sampled_from(["I1", "I2", "I3"]),
        st.sampled_from(["1.2.3.4", "1.2.3.9", "5.6.7.8", None]),
        st.sampled_from(["H1", "H2", None]),
        st.sampled_from(["C1", "C2", "C3"]),
    ),
    min_size=1,
    max_size=25,
)


def _frame(rows: list[tuple]) -> tuple[pd.DataFrame, np.ndarray]:
    rows = sorted(rows, key=lambda r: r[0])  # arrival order
    frame = pd.DataFrame(
        rows,
        columns=[
            "dt",
            "device_id",
            "phone",
            "id_number",
            "ip_address",
            "address_id",
            "customer_id",
        ],
    )
    t = T0 + frame.pop("dt").to_numpy(np.int64)
    frame.insert(0, "applied_at", pd.to_datetime(t, unit="s"))
    return frame, t


@settings(max_examples=60, deadline=None)
@given(history)
def test_online_equals_batch_and_brute_force_on_random_histories(rows) -> None:
    frame, t = _frame(rows)
    batch = velocity_batch(frame, t, point_in_time=True)
    state = VelocityState()
    online = pd.DataFrame(
        [state.update(r) for r in frame.to_dict("records")], columns=velocity_columns()
    )
    pd.testing.assert_frame_equal(batch.reset_index(drop=True), online, check_dtype=False)
    expected = brute_force(frame, t, point_in_time=True)
    pd.testing.assert_frame_equal(batch.reset_index(drop=True), expected, check_dtype=False)


@settings(max_examples=30, deadline=None)
@given(history)
def test_retro_matches_brute_force(rows) -> None:
    frame, t = _frame(rows)
    retro = velocity_batch(frame, t, point_in_time=False)
    expected = brute_force(frame, t, point_in_time=False)
    pd.testing.assert_frame_equal(retro.reset_index(drop=True), expected, check_dtype=False)


def test_a_hand_worked_history() -> None:
    # one device used by three ID numbers: 10:00, 10:30 and the next day 09:00
    frame = pd.DataFrame(
        {
            "applied_at": pd.to_datetime(
                ["2024-01-01 10:00", "2024-01-01 10:30", "2024-01-02 09:00"]
            ),
            "device_id": ["D1", "D1", "D1"],
            "id_number": ["I1", "I2", "I3"],
        }
    )
    state = VelocityState()
    got = [state.update(r) for r in frame.to_dict("records")]
    assert [g["vel_device_apps_1h"] for g in got] == [0, 1, 0]
    assert [g["vel_device_apps_24h"] for g in got] == [0, 1, 2]
    assert [g["vel_device_ids_24h"] for g in got] == [1, 2, 3]
    assert [g["vel_id_devices_30d"] for g in got] == [1, 1, 1]
    assert [g["vel_phone_ids_30d"] for g in got] == [0, 0, 0]  # no phone given


def test_online_refuses_time_going_backwards() -> None:
    state = VelocityState()
    state.update({"applied_at": "2024-01-02", "device_id": "D1"})
    with pytest.raises(DataError, match="applied_at"):
        state.update({"applied_at": "2024-01-01", "device_id": "D1"})
