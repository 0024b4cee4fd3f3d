"""Issue 16 §7: would a retro re-flag help small rings? Not built; measured.

At a point in time the first member of a ring has nothing earlier to link to. A *re-flag* would
flag an application again when a later application of its group (the strong-link group as it
grew) is flagged within a window after it — in the service that would put the earlier
decision into review before its loan is paid out. This measures, on the twin (25,000
applications, seed 23: default settings and rings of 3-4), how many ring members and honest
applicants would be flagged at their time or re-flagged within 24 h, 72 h and 7 days.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from creditfactory.data import SimulationConfig, simulate
from creditfactory.fraud import evaluate, fraud_features

SETTINGS = {"default": {}, "rings of 3-4": {"ring_size_min": 3, "ring_size_max": 4}}
WINDOWS_H = (24, 72, 168)


def reflagged(features: pd.DataFrame, applied_at: np.ndarray, hours: int) -> np.ndarray:
    """``fraud_flag``, or a later member of the same group flagged within ``hours``."""
    flag = features["fraud_flag"].to_numpy(bool)
    out = flag.copy()
    window = np.timedelta64(hours, "h")
    groups = pd.Series(features["ring_group"].to_numpy()).groupby(features["ring_group"].to_numpy())
    for idx in groups.indices.values():
        if len(idx) < 2:
            continue
        t, f = applied_at[idx], flag[idx]
        for a, row in enumerate(idx):
            if not f[a] and (f & (t > t[a]) & (t <= t[a] + window)).any():
                out[row] = True
    return out


def _row(name: str, how: str, m: Any) -> list[str]:
    return [
        name, how, f"{m.ring_member_recall:.1%}", f"{m.honest_flagged:.2%}",
        f"{m.rings_mostly_flagged:.1%}",
    ]  # fmt: skip


def run(quick: bool = False) -> dict:
    n = 10_000 if quick else 25_000
    metrics: dict[str, float] = {}
    table = [["twin", "flagged", "ring members", "honest", "rings 80%+ flagged"]]
    for name, extra in SETTINGS.items():
        book = simulate(SimulationConfig(n_applications=n, seed=23, **extra))
        feats = fraud_features(book.applications)
        at = pd.to_datetime(book.applications["applied_at"]).to_numpy()
        base = evaluate(feats, book.truth)
        key = name.replace(" ", "_").replace("-", "_")
        metrics[f"{key}_pit_ring_recall"] = base.ring_member_recall
        metrics[f"{key}_pit_honest"] = base.honest_flagged
        table.append(_row(name, "at the time", base))
        for hours in WINDOWS_H:
            m = evaluate(feats.assign(fraud_flag=reflagged(feats, at, hours)), book.truth)
            metrics[f"{key}_reflag_{hours}h_ring_recall"] = m.ring_member_recall
            metrics[f"{key}_reflag_{hours}h_honest"] = m.honest_flagged
            table.append(_row(name, f"or re-flagged within {hours} h", m))
    return {
        "name": "fraud_reflag",
        "metrics": metrics,
        "table": table,
        "notes": "a re-flag is not built: see the module's docstring and docs/fraud.md",
    }
