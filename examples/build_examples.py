"""Rebuild the example files the README and docs use, from the portfolio twin (seed 7)::

    .venv/bin/python examples/build_examples.py

- ``loans.csv.gz``: the loans the incumbent booked out of 40,000 simulated applications, with the
  application characteristics a lender saw and the outcome ``bad`` (1 = went bad within 12 months
  on book, 0 = good); a training table for ``creditfactory scorecard fit --target bad``.
- ``application.json``: one application with every input of ``strategies/reference.yaml``, for
  ``creditfactory strategy decide`` and the service's ``POST /v1/applications``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from creditfactory.data import SimulationConfig, simulate

HERE = Path(__file__).parent
FEATURES = [
    "age", "monthly_income", "bureau_history_months", "inquiries_3m", "inquiries_6m",
    "delinquencies_24m", "open_accounts", "utilisation", "bureau_monthly_debt",
    "contacts_blacklisted_share", "loan_apps_installed", "form_fill_seconds", "ecommerce_spend",
    "third_party_score", "housing", "occupation", "education", "relationship", "channel",
    "city_tier", "phone_price_tier",
]  # fmt: skip
APPLICATION_FIELDS = [
    "application_id", "id_number", "phone", "device_id", "product", "channel",
    "amount_requested", "term_requested", "age", "monthly_income", "occupation", "education",
    "housing", "relationship", "city_tier", "thin_file", "bureau_history_months", "inquiries_3m",
    "inquiries_6m", "delinquencies_24m", "utilisation", "bureau_monthly_debt",
    "contacts_blacklisted_share", "gps_city_mismatch", "night_application",
    "loan_apps_installed", "form_fill_seconds", "phone_price_tier", "ecommerce_spend",
    "third_party_score",
]  # fmt: skip


def main(n: int = 40_000, seed: int = 7) -> list[Path]:
    book = simulate(SimulationConfig(n_applications=n, seed=seed))
    booked = book.incumbent_decisions["taken_up"].fillna(False).to_numpy(bool)
    loans = book.applications.loc[booked, ["application_id", *FEATURES]].copy()
    loans["bad"] = book.truth.loc[booked, "bad"].astype(int).to_numpy()
    loans_path = HERE / "loans.csv.gz"
    loans.to_csv(
        loans_path, index=False, float_format="%.6g", compression={"method": "gzip", "mtime": 0}
    )
    # an application with a full bureau file, from a channel and product the strategy serves
    apps = book.applications
    full = apps[apps[["bureau_history_months", "utilisation", "ecommerce_spend",
                      "third_party_score"]].notna().all(axis=1)]  # fmt: skip
    row = full.iloc[0][APPLICATION_FIELDS]
    application = {
        k: (v.item() if hasattr(v, "item") else v) for k, v in row.items() if not pd.isna(v)
    }
    app_path = HERE / "application.json"
    app_path.write_text(json.dumps(application, indent=2, ensure_ascii=False) + "\n", "utf-8")
    return [loans_path, app_path]


if __name__ == "__main__":
    for path in main():
        print(path)
