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
    # paired, same rows: the scorecard ranks about as well as the observable true index. Seeds
    # 3-6: scorecard minus index -0.024, +0.039, +0.010, -0.013 (mean 0.003, sd 0.027); it was
    # +0.03 to +0.06 while single fields gave fraud away (a fifth of the bads among approved are
    # fraud, which the index leaves out and which now hides)
    assert observable - 3 * 0.027 < a < oracle
    # ~8,800 test rows, ~260 bads: Hanley-McNeil se of an AUC near 0.68 is 0.019 (seeds 3-6
    # gave 0.653, 0.677, 0.690, 0.684: sd 0.017); 3 se around their mean 0.676. It was 0.726
    # before the incumbent's score cut-off bit again (a narrower approved range: the observable
    # index fell from about 0.70 to 0.67 on the same seeds)
    assert a == pytest.approx(0.676, abs=3 * 0.019)
    assert len(sc.selected_features_) >= 5
