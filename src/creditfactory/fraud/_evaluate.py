"""Measure fraud flags against a simulated book's truth (the twin's ``truth`` table)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from creditfactory.exceptions import DataError


@dataclass(frozen=True)
class FraudMeasures:
    """How the flags fare against the truth, at the application and at the ring level."""

    applications: int
    flagged: int
    precision: float  # share of flagged applications that are fraud
    recall: float  # share of fraudulent applications flagged
    ring_member_recall: float  # share of ring members flagged
    lone_recall: float  # share of lone fraudsters flagged
    honest_flagged: float  # share of honest applications flagged
    rings: int
    rings_detected: float  # share of rings with at least one member flagged
    rings_mostly_flagged: float  # share of rings with at least 80% of members flagged
    forged_ids: int
    forged_caught: float  # share of forged ID numbers with id_valid False
    valid_rejected: int  # genuine ID numbers with id_valid False

    def as_dict(self) -> dict[str, float | int]:
        """The measures as a plain dict (JSON, tables)."""
        return asdict(self)


def _share(hit: np.ndarray, among: np.ndarray) -> float:
    return float(hit[among].mean()) if among.any() else float("nan")


def evaluate(features: pd.DataFrame, truth: pd.DataFrame) -> FraudMeasures:
    """Compare ``fraud_flag`` and ``id_valid`` of ``features`` with the twin's ``truth``
    (``application_id``, ``is_fraud``, ``ring_id``, ``id_forged``), matched on
    ``application_id``."""
    need = ("application_id", "is_fraud", "ring_id", "id_forged")
    missing = [c for c in need if c not in truth.columns]
    if missing:
        raise DataError(f"truth: column(s) {missing} missing")
    merged = features[["application_id", "fraud_flag", "id_valid"]].merge(
        truth[list(need)], on="application_id", how="inner", validate="one_to_one"
    )
    if len(merged) != len(features):
        raise DataError("truth: does not cover every application (matched on application_id)")
    flag = merged["fraud_flag"].to_numpy(bool)
    fraud = merged["is_fraud"].to_numpy(bool)
    ring = merged["ring_id"].notna().to_numpy() & fraud
    forged = merged["id_forged"].to_numpy(bool)
    invalid = ~merged["id_valid"].to_numpy(bool)
    per_ring = pd.Series(flag[ring]).groupby(merged["ring_id"].to_numpy()[ring]).mean()
    return FraudMeasures(
        applications=len(merged),
        flagged=int(flag.sum()),
        precision=_share(fraud, flag),
        recall=_share(flag, fraud),
        ring_member_recall=_share(flag, ring),
        lone_recall=_share(flag, fraud & ~ring),
        honest_flagged=_share(flag, ~fraud),
        rings=len(per_ring),
        rings_detected=float((per_ring > 0).mean()) if len(per_ring) else float("nan"),
        rings_mostly_flagged=float((per_ring >= 0.8).mean()) if len(per_ring) else float("nan"),
        forged_ids=int(forged.sum()),
        forged_caught=_share(invalid, forged),
        valid_rejected=int((invalid & ~forged).sum()),
    )
