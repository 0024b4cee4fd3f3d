"""Integration: default Scorecard on the simulator's approved applications."""

from __future__ import annotations

import pytest

from creditfactory import data
from creditfactory.scorecard import Scorecard, auc, ks

ID_COLUMNS = [
    "application_id", "customer_id", "device_id", "phone", "ip_address", "address_id",
    "emergency_contact_phone", "id_number", "applied_at",
]  # fmt: skip


@pytest.fixture(scope="module")
def approved():
    pf = data.simulate(data.SimulationConfig(n_applications=40_000, seed=3))
    a = pf.applications.merge(pf.truth[["application_id", "bad", "pd_true"]]).merge(
        pf.incumbent_decisions[["application_id", "decision"]]
    )
    return a[a["decision"] == "approve"].reset_index(drop=True)


def test_default_scorecard_is_near_what_the_data_allow(approved):
    train = approved.sample(frac=0.6, random_state=0)
    test = approved.drop(train.index)
    X = train.drop(columns=[*ID_COLUMNS, "bad", "pd_true", "decision"])
    sc = Scorecard().fit(X, train["bad"])
    p = sc.predict_proba(test)[:, 1]
    a = auc(test["bad"], p)
    oracle = auc(test["bad"], test["pd_true"])
    print(f"AUC {a:.4f} KS {ks(test['bad'], p):.4f} oracle {oracle:.4f}")
    assert a > 0.68
    assert a < oracle
    assert len(sc.selected_features_) >= 5
