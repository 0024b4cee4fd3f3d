"""fraud_features: the contract, no look-ahead, online == batch, clear errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from creditfactory.exceptions import DataError
from creditfactory.fraud import FEATURES, FraudState, fraud_features


@pytest.fixture(scope="module")
def apps(book) -> pd.DataFrame:
    return book.applications.iloc[:4000].copy()


def test_contract_columns_and_types(apps) -> None:
    got = fraud_features(apps)
    assert got.columns[0] == "application_id"
    assert list(got.columns) == list(FEATURES)
    assert got["application_id"].tolist() == apps["application_id"].tolist()
    assert got["id_valid"].dtype == bool
    assert got["fraud_flag"].dtype == bool
    assert np.issubdtype(got["ring_size"].dtype, np.integer)
    assert np.issubdtype(got["ring_score"].dtype, np.floating)
    assert got["ring_score"].between(0, 1).all()
    assert got["id_problem"].isna().eq(got["id_valid"]).all()
    assert (got["ring_size"] >= 1).all()


def test_input_order_does_not_matter(apps) -> None:
    shuffled = apps.sample(frac=1.0, random_state=3)
    a = fraud_features(apps).set_index("application_id")
    b = fraud_features(shuffled)
    assert b["application_id"].tolist() == shuffled["application_id"].tolist()
    b = b.set_index("application_id").loc[a.index]
    pd.testing.assert_frame_equal(a.drop(columns="ring_group"), b.drop(columns="ring_group"))


def test_point_in_time_never_looks_ahead(apps) -> None:
    cut = apps["applied_at"].quantile(0.5)
    early = apps[apps["applied_at"] < cut]
    whole = fraud_features(apps, point_in_time=True).set_index("application_id")
    part = fraud_features(early, point_in_time=True).set_index("application_id")
    cols = [c for c in part.columns if c != "ring_group"]
    pd.testing.assert_frame_equal(part[cols], whole.loc[part.index, cols])
    # retro does look ahead: some early applications' groups grow with later ones
    retro = fraud_features(apps, point_in_time=False).set_index("application_id")
    assert (retro.loc[part.index, "ring_size"] >= part["ring_size"]).all()


def test_online_state_gives_the_batch_values(apps) -> None:
    rows = apps.sort_values("applied_at", kind="stable").iloc[:200]
    batch = fraud_features(rows).set_index("application_id")
    state = FraudState()
    records = rows.astype(object).where(rows.notna(), None).to_dict("records")
    online = pd.DataFrame([state.update(r) for r in records]).set_index("application_id")
    cols = [c for c in batch.columns if c != "ring_group"]

    def plain(frame: pd.DataFrame) -> pd.DataFrame:  # None and NaN alike in text columns
        return frame[cols].astype(object).where(frame[cols].notna(), None)

    pd.testing.assert_frame_equal(plain(online), plain(batch), check_dtype=False)


def test_the_book_flags_rings_and_spares_honest_applicants(book) -> None:
    got = fraud_features(book.applications)
    truth = book.truth
    honest = ~truth["is_fraud"].to_numpy(bool)
    ring = truth["ring_id"].notna().to_numpy()
    assert got["fraud_flag"].to_numpy()[honest].mean() < 0.02
    assert got["fraud_flag"].to_numpy()[ring].mean() > 0.8
    assert (got["ring_size"].to_numpy()[ring] >= 2).mean() > 0.6


def test_bad_input_is_a_clear_error(apps) -> None:
    with pytest.raises(DataError, match="DataFrame"):
        fraud_features(apps.to_dict("records"))  # type: ignore[arg-type]
    with pytest.raises(DataError, match="id_number"):
        fraud_features(apps.drop(columns="id_number"))
    dup = pd.concat([apps.iloc[:2], apps.iloc[:1]])
    with pytest.raises(DataError, match="application_id"):
        fraud_features(dup)
    bad_time = apps.iloc[:3].assign(applied_at=["2024-01-01", "soon", "2024-01-02"])
    with pytest.raises(DataError, match="applied_at"):
        fraud_features(bad_time)


def test_only_the_required_columns_and_an_empty_id() -> None:
    apps = pd.DataFrame(
        {
            "application_id": ["A1", "A2"],
            "applied_at": pd.to_datetime(["2024-01-01 10:00", "2024-01-02 10:00"]),
            "id_number": ["11010519491231002X", None],
        }
    )
    got = fraud_features(apps)
    assert got["id_problem"].tolist()[1] == "ID_MISSING"
    assert got["fraud_flag"].tolist() == [False, True]
    state = FraudState()
    online = [state.update(r) for r in apps.astype(object).to_dict("records")]
    assert [o["fraud_flag"] for o in online] == [False, True]
    assert fraud_features(apps.iloc[:0]).shape == (0, len(FEATURES))
    with pytest.raises(DataError, match="id_number"):
        FraudState().update({"application_id": "A3", "applied_at": "2024-01-03"})


def test_contacts_known_applicants_known_answers() -> None:
    # A1 (C1) applies with phone P1; A2 (C2) names P1 and a stranger; A3 (C1 again) names P1,
    # its own phone: not another applicant's; A4 (C3) names P2, which C2 uses only later (A5)
    p1, p2, stranger = "13800000001", "13900000002", "15000000009"
    apps = pd.DataFrame({
        "application_id": ["A1", "A2", "A3", "A4", "A5"],
        "applied_at": pd.to_datetime(["2024-03-01 10:00", "2024-03-01 11:00", "2024-03-01 12:00",
                                      "2024-03-01 13:00", "2024-03-01 14:00"]),
        "customer_id": ["C1", "C2", "C1", "C3", "C2"],
        "id_number": ["11010519491231002X"] * 5,
        "phone": [p1, "13700000003", p1, "13600000004", p2],
        "emergency_contact_phone": [None, stranger, p1, None, None],
        "emergency_contacts": [None, [{"name": "李雷", "phone": p1}, stranger], None, [p2], []],
    })  # fmt: skip
    pit = fraud_features(apps)["contacts_known_applicants"].tolist()
    assert pit == [0, 1, 0, 0, 0]
    retro = fraud_features(apps, point_in_time=False)["contacts_known_applicants"].tolist()
    assert retro == [0, 1, 0, 1, 0]
    with pytest.raises(DataError, match="emergency_contacts: expected a list"):
        fraud_features(apps.assign(emergency_contacts=[1, 2, 3, 4, 5]))
