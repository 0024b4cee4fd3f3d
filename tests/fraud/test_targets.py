"""Issue §7's targets at the recommended threshold, on twins with varied fraud settings, so
the detector is not tuned to one book. Figures on 25,000 applications are noisy (a few dozen
rings); the benchmark measures the default book at 1,000,000."""

from __future__ import annotations

import pytest

from creditfactory.data import SimulationConfig, simulate
from creditfactory.fraud import evaluate, fraud_features

SETTINGS = {
    "default": {},
    "big_rings": {"ring_size_min": 10, "ring_size_max": 40},
    "most_fraud_in_rings": {"ring_share": 0.9},
    "slow_bursts": {"ring_burst_days": 20.0},
    "fast_bursts": {"ring_burst_days": 0.5},
    "few_tells": {"fraud_tell_rate": 0.2},
}


@pytest.mark.parametrize("name", list(SETTINGS))
def test_targets_hold_on_varied_twins(name: str) -> None:
    book = simulate(SimulationConfig(n_applications=25_000, seed=23, **SETTINGS[name]))
    pit = evaluate(fraud_features(book.applications), book.truth)
    retro = evaluate(fraud_features(book.applications, point_in_time=False), book.truth)
    assert pit.ring_member_recall >= 0.80, pit
    assert pit.honest_flagged <= 0.02, pit
    assert retro.ring_member_recall >= 0.95, retro
    assert retro.honest_flagged <= 0.02, retro
    assert pit.forged_caught == 1.0
    assert pit.valid_rejected == 0


def test_small_rings_are_the_hard_case() -> None:
    """Rings of 3-4: the first member of each (about 3 in 10 members) has nothing earlier to
    link to, so at a point in time only its behaviour can give it away; the target is missed
    here (measured about 74%) and the retro-scan catches most of what was missed."""
    book = simulate(
        SimulationConfig(n_applications=25_000, seed=23, ring_size_min=3, ring_size_max=4)
    )
    pit = evaluate(fraud_features(book.applications), book.truth)
    retro = evaluate(fraud_features(book.applications, point_in_time=False), book.truth)
    assert 0.6 <= pit.ring_member_recall < retro.ring_member_recall
    assert retro.ring_member_recall >= 0.88
    assert pit.honest_flagged <= 0.02
