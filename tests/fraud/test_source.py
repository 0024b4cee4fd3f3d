"""The fraud source of the look-ups: ``fraud:<feature>`` names, online == batch, and a strategy
deciding on provided fraud inputs the same way in both modes."""

from __future__ import annotations

import math

import pandas as pd
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from creditfactory.decision import Strategy
from creditfactory.exceptions import ConfigError, StrategyError
from creditfactory.fraud import (
    FraudSource,
    HashedLists,
    Lookups,
    fraud_feature,
    fraud_features,
    keyed_hasher,
)

NAMES = tuple(
    fraud_feature(c)
    for c in (
        "id_valid",
        "id_problem",
        "ring_size",
        "ring_score",
        "ring_burst",
        "fraud_flag",
        "fraud_points",
        "fraud_reasons",
        "vel_device_ids_24h",
        "vel_phone_ids_7d",
        "vel_address_customers_7d",
    )
)
# valid and forged ID numbers (GB 11643 check digits: 11010519491231002X is the standard's
# example; the last differs only in its check digit)
IDS = ["11010519491231002X", "440106196211290339", "130602199812089510", "110105194912310021"]


@st.composite
def histories(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(1, 25))
    minutes = draw(st.lists(st.integers(0, 60 * 24 * 10), min_size=n, max_size=n))
    pick = st.integers(0, 3)
    rows = []
    for i in range(n):
        rows.append(
            {
                "application_id": f"A{i}",
                "applied_at": pd.Timestamp("2024-03-01") + pd.Timedelta(minutes=minutes[i]),
                "customer_id": f"C{draw(st.integers(0, 6))}",
                "id_number": IDS[draw(pick)],
                "device_id": draw(st.sampled_from(["D0", "D1", "D2", None])),
                "phone": draw(st.sampled_from(["13800000000", "13900000001", "18600000002"])),
                "address_id": f"AD{draw(pick)}",
                "ip_address": f"10.0.{draw(pick)}.{draw(pick)}",
                # contacts: strangers, and the phones of other applicants (rings name each other)
                "emergency_contact_phone": draw(
                    st.sampled_from(["15000000000", "13800000000", "18600000002", None])
                ),
                "emergency_contacts": draw(
                    st.one_of(
                        st.none(),
                        st.lists(
                            st.sampled_from(["13900000001", "15000000000", "13800000000"]),
                            max_size=2,
                        ),
                    )
                ),
                "form_fill_seconds": float(draw(st.integers(20, 900))),
            }
        )
    return pd.DataFrame(rows)


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)
    return a == b


@settings(max_examples=60, deadline=None)
@given(histories())
def test_online_equals_batch_on_random_histories(apps: pd.DataFrame) -> None:
    batch = FraudSource().frame(NAMES, pl.from_pandas(apps)).to_dicts()
    online = FraudSource()
    # online, applications arrive in time order (ties in row order, as the batch breaks them)
    for i in apps.sort_values("applied_at", kind="stable").index:
        got = online.row(NAMES, apps.loc[i].to_dict())
        for name in NAMES:
            assert _same(got[name], batch[i][name]), (name, got[name], batch[i][name])


@settings(max_examples=40, deadline=None)
@given(histories(), st.lists(st.integers(1, 6), min_size=1, max_size=10))
def test_processes_sharing_stored_links_equal_batch(apps: pd.DataFrame, turns: list[int]) -> None:
    """Two engine processes (two sources, keyed hashes) take turns deciding batches; each
    stores its links (a list here, the store's fraud_links in the service) and reads the others'
    before its next batch, as the factory does: every answer is the batch's."""
    batch = FraudSource().frame(NAMES, pl.from_pandas(apps)).to_dicts()
    procs = [FraudSource(hasher=keyed_hasher("k")), FraudSource(hasher=keyed_hasher("k"))]
    stored: list[tuple[object, ...]] = []  # (seq, application id, *link)
    order = list(apps.sort_values("applied_at", kind="stable").index)
    k = 0
    while order:
        proc = procs[k % 2]
        size, k = turns[k % len(turns)], k + 1
        proc.absorb([r for r in stored if int(r[0]) > proc.high_water])  # type: ignore[call-overload]
        for i in order[:size]:
            app = apps.loc[i].to_dict()
            got = proc.row(NAMES, app)
            for name in NAMES:
                assert _same(got[name], batch[i][name]), (name, got[name], batch[i][name])
            link = proc.link(app)
            assert link is not None
            assert proc.link({**app}) is link  # until stored
            stored.append((len(stored) + 1, len(stored) + 1, *link))
            proc.stored(link, len(stored))
            assert proc.link(app) is None  # stored: a retry stores nothing more
        order = order[size:]
    for proc in procs:
        proc.absorb([r for r in stored if int(r[0]) > proc.high_water])  # type: ignore[call-overload]
        assert proc.seen == len(apps)
    hashed = {v for r in stored for v in r[5:] if v is not None}
    assert hashed.isdisjoint(set(apps.astype(str).to_numpy().ravel()))  # nothing in clear


def test_values_are_fraud_features_point_in_time(book) -> None:  # type: ignore[no-untyped-def]
    apps = book.applications.head(3000)
    got = FraudSource().frame(NAMES, pl.from_pandas(apps))
    want = fraud_features(apps, point_in_time=True)
    for name in NAMES:
        column = name.split(":", 1)[1]
        expected = want[column].astype(object).where(want[column].notna(), None).tolist()
        assert got[name].to_list() == expected, name


def test_a_retried_application_is_counted_once() -> None:
    src = FraudSource()
    a1 = {"application_id": "A1", "applied_at": "2024-03-01 10:00",
          "id_number": IDS[0], "customer_id": "C1", "device_id": "D1"}  # fmt: skip
    a2 = {**a1, "application_id": "A2", "customer_id": "C2", "id_number": IDS[1]}
    names = (fraud_feature("ring_size"), fraud_feature("vel_device_apps_24h"))
    assert src.row(names, a1) == {"fraud:ring_size": 1, "fraud:vel_device_apps_24h": 0}
    first = src.row(names, a2)
    assert first == {"fraud:ring_size": 2, "fraud:vel_device_apps_24h": 1}
    assert src.row(names, a2) == first  # a retry: the same answer, not a third application
    assert src.seen == 2


def test_warmed_history_counts_in_both_modes() -> None:
    history = [
        {"application_id": f"H{i}", "applied_at": f"2024-03-01 0{i}:00", "id_number": IDS[i + 1],
         "customer_id": f"C{i}", "device_id": "D1"}
        for i in range(3)
    ]  # fmt: skip
    new = {"application_id": "N1", "applied_at": "2024-03-01 09:00", "id_number": IDS[1],
           "customer_id": "C9", "device_id": "D1"}  # fmt: skip
    names = (fraud_feature("ring_size"), fraud_feature("ring_invalid_ids"))
    online, offline = FraudSource(), FraudSource()
    assert online.warm(history) == 3
    assert offline.warm(history) == 3
    row = online.row(names, new)
    frame = offline.frame(names, pl.DataFrame([new])).to_dicts()[0]
    assert row == frame == {"fraud:ring_size": 4, "fraud:ring_invalid_ids": 1}


def test_unknown_feature_names_are_refused() -> None:
    src = FraudSource()
    with pytest.raises(ConfigError, match="fraud:ring_sise"):
        src.row(("fraud:ring_sise",), {"application_id": "A"})
    with pytest.raises(ConfigError, match="no source of kind 'fraud'"):
        Lookups({"list": HashedLists.empty()}).row(("fraud:ring_size",), {})


STRATEGY = """
strategy: fraudy
version: "1"
inputs:
  application_id: str
  id_valid: {type: bool, provided: "fraud:id_valid"}
  ring_burst: {type: int, provided: "fraud:ring_burst"}
  fraud_flag: {type: bool, provided: "fraud:fraud_flag"}
flow:
  - rules:
      name: fraud
      rules:
        - {name: forged, when: "not id_valid", action: decline, reason: FR_ID_INVALID}
        - {name: ring, when: "fraud_flag and ring_burst >= 3", action: decline, reason: FR_RING}
        - {name: flag, when: "fraud_flag", action: refer, reason: FR_FLAG}
"""


def test_a_strategy_decides_on_provided_fraud_inputs_alike_online_and_in_batch(
    book,  # type: ignore[no-untyped-def]
) -> None:
    strategy = Strategy.from_yaml(STRATEGY)
    apps = book.applications.sort_values("applied_at", kind="stable").head(4000)
    apps = apps.reset_index(drop=True)
    batch = strategy.decide_batch(pl.from_pandas(apps))
    lookups = Lookups({"list": HashedLists.empty(), "fraud": FraudSource()})
    online = [strategy.decide(r, lookups) for r in apps.to_dict("records")]
    assert [d.decision for d in online] == batch["decision"].to_list()
    assert [d.reasons for d in online] == batch["reasons"].to_list()
    # forged ID numbers are declined (the twin's truth, not the module's own verdict)
    truth = book.truth.set_index("application_id").loc[apps["application_id"]]
    forged = truth["id_forged"].to_numpy(bool)
    decisions = batch["decision"].to_numpy()
    assert forged.any()
    assert (decisions[forged] == "decline").all()
    # ring members are stopped far more often than honest applicants
    ring = truth["ring_id"].notna().to_numpy() & ~forged
    honest = ~truth["is_fraud"].to_numpy(bool)
    stopped = decisions != "approve"
    fired = pd.Series([("FR_RING" in r or "FR_FLAG" in r) for r in batch["reasons"].to_list()])
    assert fired[ring].mean() > 0.5 > 0.05 > fired[honest].mean()
    assert stopped[ring].mean() > stopped[honest].mean()


def test_a_provided_input_must_name_a_feature() -> None:
    bad = STRATEGY.replace('provided: "fraud:id_valid"', "provided: true")
    with pytest.raises(StrategyError, match=r"id_valid.*provided must name a feature"):
        Strategy.from_yaml(bad)


def test_online_an_application_stamped_out_of_order_counts_as_arriving_now() -> None:
    src = FraudSource()
    names = (fraud_feature("vel_device_apps_1h"), fraud_feature("ring_size"))
    base = {"id_number": IDS[0], "device_id": "D1"}
    src.row(names, {**base, "application_id": "A1", "customer_id": "C1",
                    "applied_at": "2024-03-01 10:30"})  # fmt: skip
    # stamped 20 minutes before A1 by its client: not refused, counted after A1
    late = src.row(names, {**base, "application_id": "A2", "customer_id": "C2",
                           "applied_at": "2024-03-01 10:10"})  # fmt: skip
    assert late == {"fraud:vel_device_apps_1h": 1, "fraud:ring_size": 2}
    # the frame has no arrival order but its stamps: there A2 comes first
    frame = FraudSource().frame(names, pl.DataFrame([
        {**base, "application_id": "A1", "customer_id": "C1", "applied_at": "2024-03-01 10:30"},
        {**base, "application_id": "A2", "customer_id": "C2", "applied_at": "2024-03-01 10:10"},
    ])).to_dicts()  # fmt: skip
    assert frame[1] == {"fraud:vel_device_apps_1h": 0, "fraud:ring_size": 1}
