"""Integration: default Scorecard on the simulator's approved applications."""

from __future__ import annotations

import numpy as np
import pytest

from creditfactory import data
from creditfactory.data._risk import true_log_odds
from creditfactory.scorecard import Scorecard, auc, ks

CONFIG = data.SimulationConfig(n_applications=40_000, seed=3)
ID_COLUMNS = [
    "application_id", "customer_id", "device_id", "phone", "ip_address", "address_id",
    "emergency_contact_phone", "id_number", "applied_at",
]  # fmt: skip


@pytest.fixture(scope="module")
def approved():
    pf = data.simulate(CONFIG)
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
    # what the observable data allow, on the same rows: the observable part of the simulator's
    # true log-odds (its unobservable part set to 0). docs/data.md puts it at about 0.76 on all
    # genuine applications; on approved ones only (a narrower range of risk) it is lower.
    z = true_log_odds(test, np.zeros(len(test)), CONFIG)
    observable = auc(test["bad"], z)
    print(f"AUC {a:.4f} KS {ks(test['bad'], p):.4f} obs. {observable:.4f} oracle {oracle:.4f}")
    # paired, same rows: the scorecard ranks at least as well as the observable true index
    # (it also sees fraud signals the index leaves out); seeds 3-6: margin 0.030-0.060
    assert observable < a < oracle
    # ~8,800 test rows, ~230 bads: Hanley-McNeil se of an AUC near 0.73 is 0.019 (seeds 3-6
    # gave 0.738, 0.699, 0.741, 0.726: sd 0.019); 3 se around their mean 0.726
    assert a == pytest.approx(0.726, abs=3 * 0.019)
    assert len(sc.selected_features_) >= 5
