"""Rebuild ``models/application_scorecard.json``, the scorecard the reference strategy calls.

Simulates a book, fits a scorecard on the loans the incumbent policy booked (the only outcomes a
lender observes) and writes its scoring spec (``creditfactory.scoring_spec`` JSON: bins, points,
scaling and, per characteristic, the type and domain it was fitted on, which ``strategy check``
holds the strategy's declarations to; no pickles)::

    .venv/bin/python examples/strategies/build_reference_model.py
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

from creditfactory.data import SimulationConfig, simulate
from creditfactory.scorecard import Scorecard, ScorecardWarning, to_scoring_spec

FEATURES = [
    "age", "monthly_income", "bureau_history_months", "inquiries_3m", "inquiries_6m",
    "delinquencies_24m", "open_accounts", "utilisation", "bureau_monthly_debt",
    "contacts_blacklisted_share", "loan_apps_installed", "form_fill_seconds", "ecommerce_spend",
    "third_party_score", "housing", "occupation", "education", "relationship", "channel",
    "city_tier", "phone_price_tier",
]  # fmt: skip
OUT = Path(__file__).parent / "models" / "application_scorecard.json"


def main(n: int = 50_000, seed: int = 7) -> Path:
    pf = simulate(SimulationConfig(n_applications=n, seed=seed))
    # booked: approved by the incumbent and taken up by the applicant
    booked = pf.incumbent_decisions["taken_up"].fillna(False).to_numpy(bool)
    apps = pf.applications[booked]
    bad = pf.truth["bad"][booked]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScorecardWarning)
        sc = Scorecard().fit(apps[FEATURES], bad)
    spec = to_scoring_spec(sc)
    spec["trained_on"] = {
        "simulator_seed": seed,
        "n_applications": n,
        "n_booked": int(booked.sum()),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(spec, indent=1) + "\n", encoding="utf-8")
    return OUT


if __name__ == "__main__":
    print(main())
