"""Blacklists drawn from the twin: the identifiers of fraud a lender would have confirmed."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from creditfactory.exceptions import DataError

BLACKLIST_FIELDS: tuple[str, ...] = ("id_number", "phone", "device_id")
"""Application fields whose values go on the blacklist (those the example strategies check)."""


def confirmed_fraud_identifiers(
    portfolio: object,
    before: dt.date | str,
    *,
    fields: tuple[str, ...] = BLACKLIST_FIELDS,
    confirmation_days: int = 60,
) -> pd.DataFrame:
    """Identifiers of fraud confirmed before ``before``, as a lender would have listed them.

    A booked fraudulent loan that missed its first instalment is confirmed as fraud
    ``confirmation_days`` after that due date (investigation takes time); the investigators
    then follow the ring's shared identifiers, so every member of the same ring who had applied
    by the confirmation date is listed too. Fraud that was declined, or that paid its first
    instalment, is never confirmed. Only the truth of a simulated book can say which loans were
    fraudulent, so this needs a portfolio with its ``truth`` table.

    Returns one row per listed value (the earliest confirmation wins): ``field``, ``value``,
    ``application_id`` (the application it came from) and ``confirmed_at``, sorted by
    ``confirmed_at`` then ``field`` and ``value``.

    Examples
    --------
    >>> from creditfactory.data import SimulationConfig, simulate
    >>> book = simulate(SimulationConfig(n_applications=20_000, seed=7))
    >>> listed = confirmed_fraud_identifiers(book, before="2025-01-01")
    >>> sorted(set(listed["field"])), bool((listed["confirmed_at"] < "2025-01-01").all())
    (['device_id', 'id_number', 'phone'], True)
    """
    tables = {}
    for name in ("applications", "truth", "loans"):
        table = getattr(portfolio, name, None)
        if not isinstance(table, pd.DataFrame):
            raise DataError(
                f"portfolio: no {name!r} table; needs a simulated Portfolio (applications, "
                "truth and loans)"
            )
        tables[name] = table
    apps, truth, loans = tables["applications"], tables["truth"], tables["loans"]
    unknown = [f for f in fields if f not in apps.columns]
    if unknown:
        raise DataError(f"fields: {unknown} are not application columns")
    if confirmation_days < 0:
        raise DataError(f"confirmation_days: must be >= 0, got {confirmation_days}")
    try:
        cutoff = pd.Timestamp(before)
    except (TypeError, ValueError) as exc:
        raise DataError(f"before: {before!r} is not a date") from exc
    if pd.isna(cutoff):
        raise DataError(f"before: {before!r} is not a date")

    frame = apps[["application_id", "applied_at", *fields]].merge(
        truth[["application_id", "is_fraud", "ring_id", "fpd"]], on="application_id"
    )
    booked = loans[["application_id", "first_due_date"]]
    caught = frame.merge(booked, on="application_id")
    caught = caught[caught["is_fraud"] & caught["fpd"]]
    caught = caught.assign(
        confirmed_at=caught["first_due_date"] + pd.Timedelta(days=confirmation_days)
    )
    caught = caught[caught["confirmed_at"] < cutoff]
    # the ring is rolled up from its first confirmed member
    ring_found = caught.dropna(subset=["ring_id"]).groupby("ring_id")["confirmed_at"].min()
    fraud = frame[frame["is_fraud"]]
    members = fraud[fraud["ring_id"].isin(ring_found.index)]
    members = members.assign(confirmed_at=members["ring_id"].map(ring_found))
    members = members[members["applied_at"] <= members["confirmed_at"]]
    keep = ["application_id", "confirmed_at", *fields]
    listed = pd.concat([caught[keep], members[keep]], ignore_index=True)
    long = listed.melt(
        id_vars=["application_id", "confirmed_at"], value_vars=list(fields), var_name="field"
    ).dropna(subset=["value"])
    long["value"] = long["value"].astype(str)
    long = long.sort_values(["confirmed_at", "field", "value", "application_id"], kind="stable")
    long = long.drop_duplicates(subset=["field", "value"], keep="first")
    out = long[["field", "value", "application_id", "confirmed_at"]].reset_index(drop=True)
    out["confirmed_at"] = out["confirmed_at"].astype("datetime64[s]")
    return out


def blacklist_lines(listed: pd.DataFrame, header: str = "") -> str:
    """The values of :func:`confirmed_fraud_identifiers` as a strategy list file: ``#``
    comment lines from ``header``, then one value per line."""
    comments = "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines())
    return comments + "".join(f"{v}\n" for v in np.asarray(listed["value"], dtype=str))
