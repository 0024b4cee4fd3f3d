"""Delinquent account-months as a collector sees them at the start of a month.

One row per row of the book's ``collections`` table that is still before charge-off: what the
account owes that month, its balance, its loan, the borrower's application data and its own
collection history up to (not including) that month. The outcomes of the month (``cured``,
``paid``) are the targets of the collection scores; they are known only for months already
past, and the plan never reads them.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from creditfactory.exceptions import DataError

BUCKETS: tuple[str, ...] = ("M1", "M2", "M3", "M4", "M5", "M6+")
"""Buckets a collection action is taken in (after charge-off the agency and the debt buyer
take over, outside the plan)."""

APPLICATION_FEATURES: tuple[str, ...] = (
    "age",
    "monthly_income",
    "thin_file",
    "delinquencies_24m",
    "inquiries_6m",
    "utilisation",
    "third_party_score",
    "loan_apps_installed",
)
"""What the lender knew of the borrower when it lent (from ``applications``)."""

HISTORY_FEATURES: tuple[str, ...] = (
    "prior_delinquent_months",
    "prior_cures",
    "prior_partials",
    "prior_contacts",
    "prior_promises_kept",
    "months_in_episode",
)
"""The account's own collection history before the month."""

FEATURES: tuple[str, ...] = (
    "bucket_number",
    "mob",
    "amount_due",
    "balance",
    "instalment",
    "principal",
    "term",
    "apr",
    "product",
    *HISTORY_FEATURES,
    *APPLICATION_FEATURES,
)
"""Every characteristic the collection scores may use."""

_NEEDED = {
    "collections": ("loan_id", "month", "mob", "bucket", "outcome", "amount_recovered"),
    "performance": (
        "loan_id",
        "mob",
        "amount_due",
        "arrears",
        "penalty_interest",
        "penalty_outstanding",
        "principal_outstanding",
    ),
    "loans": ("loan_id", "application_id", "principal", "term", "apr", "product"),
}


def _table(portfolio: object, name: str) -> pd.DataFrame:
    frame = getattr(portfolio, name, None)
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"book: no {name} table")
    missing = [c for c in _NEEDED.get(name, ()) if c not in frame.columns]
    if missing:
        raise DataError(f"{name}: missing column(s) {missing}")
    return frame


def month_start(value: object) -> dt.date:
    """The first day of the calendar month of ``value`` (``"2025-11"``, a date, a timestamp).

    >>> month_start("2025-11")
    datetime.date(2025, 11, 1)
    """
    text = str(value).strip()
    try:
        stamp = pd.Timestamp(text + "-01" if len(text) == 7 else text)
    except (TypeError, ValueError) as exc:
        raise DataError(f"as_of: {value!r} is not a month (YYYY-MM)") from exc
    if pd.isna(stamp):
        raise DataError(f"as_of: {value!r} is not a month (YYYY-MM)")
    return dt.date(stamp.year, stamp.month, 1)


def last_month(portfolio: object) -> dt.date:
    """The book's last calendar month with delinquent accounts before charge-off."""
    coll = _table(portfolio, "collections")
    live = coll[coll["bucket"].astype(str).isin(BUCKETS)]
    if live.empty:
        raise DataError("collections: the book has no delinquent account-months")
    return month_start(pd.Timestamp(live["month"].max()).date())


def account_months(portfolio: object) -> pd.DataFrame:
    """Every delinquent account-month of the book before charge-off, with its features.

    Parameters
    ----------
    portfolio : Portfolio
        A book with ``collections``, ``performance``, ``loans`` and ``applications`` tables
        (simulated, or real tables of the same shape).

    Returns
    -------
    pandas.DataFrame
        ``loan_id``, ``month`` (first day of the calendar month), ``mob``, ``bucket``,
        :data:`FEATURES`, and the month's outcomes ``cured`` and ``paid`` (0/1) and
        ``amount_recovered``. ``amount_due`` is everything owed that month (arrears, penalty
        and the new instalment: what a cure pays); ``instalment`` is what a partial payment
        pays.
    """
    coll = _table(portfolio, "collections")
    perf = _table(portfolio, "performance")
    loans = _table(portfolio, "loans")
    apps = getattr(portfolio, "applications", None)

    coll = coll.sort_values(["loan_id", "mob"], kind="stable").reset_index(drop=True)
    bucket = coll["bucket"].astype(str)
    cured = (coll["outcome"].astype(str) == "cured").to_numpy()
    partial = (coll["outcome"].astype(str) == "partial").to_numpy()
    contact = _flag(coll, "right_party_contact")
    kept = _flag(coll, "promise_kept")
    loan = coll["loan_id"].astype(str)
    group = loan.to_numpy()

    def before(values: np.ndarray) -> np.ndarray:
        s = pd.Series(values.astype(np.int64))
        return (s.groupby(group).cumsum() - s).to_numpy()

    # months since the account last went from current to delinquent (1 in the first month)
    mob = coll["mob"].to_numpy(np.int64)
    prev_mob = pd.Series(mob).groupby(group).shift(1).to_numpy()
    new_episode = np.isnan(prev_mob) | (prev_mob != mob - 1)
    episode = np.cumsum(new_episode)
    in_episode = pd.Series(np.ones(len(mob), np.int64)).groupby(episode).cumsum().to_numpy()

    key = pd.MultiIndex.from_arrays([perf["loan_id"].astype(str), perf["mob"].astype(np.int64)])
    if not key.is_unique:
        raise DataError("performance: (loan_id, mob) is not unique")
    now = key.get_indexer(pd.MultiIndex.from_arrays([loan, mob]))
    then = key.get_indexer(pd.MultiIndex.from_arrays([loan, mob - 1]))
    keep = bucket.isin(BUCKETS).to_numpy() & (now >= 0)
    if not keep.any():
        raise DataError("collections: no delinquent account-month matches the performance table")

    def perf_col(name: str, pos: np.ndarray) -> np.ndarray:
        values = perf[name].to_numpy(float)
        return np.where(pos >= 0, values[np.maximum(pos, 0)], 0.0)

    due = perf_col("amount_due", now)
    prev_arrears = perf_col("arrears", then)
    # the month's scheduled instalment: what is due less arrears and penalty (after maturity
    # none is scheduled and a partial payment pays one overdue instalment)
    scheduled = due - prev_arrears - perf_col("penalty_outstanding", then)
    scheduled = scheduled - perf_col("penalty_interest", now)
    bucket_number = np.array([BUCKETS.index(b) + 1 if b in BUCKETS else 0 for b in bucket])
    one_old = prev_arrears / np.maximum(bucket_number, 1)
    instalment = np.where(scheduled > 0.005, scheduled, one_old)

    out = pd.DataFrame(
        {
            "loan_id": loan.to_numpy(),
            "month": pd.to_datetime(coll["month"]).dt.to_period("M").dt.to_timestamp(),
            "mob": mob,
            "bucket": bucket.to_numpy(),
            "bucket_number": bucket_number,
            "amount_due": np.round(due, 2),
            "balance": np.round(perf_col("principal_outstanding", then), 2),
            "instalment": np.round(np.minimum(instalment, due), 2),
            "prior_delinquent_months": before(np.ones(len(coll), bool)),
            "prior_cures": before(cured),
            "prior_partials": before(partial),
            "prior_contacts": before(contact),
            "prior_promises_kept": before(kept),
            "months_in_episode": in_episode,
            "cured": cured.astype(np.int64),
            "paid": (coll["amount_recovered"].to_numpy(float) > 0).astype(np.int64),
            "amount_recovered": coll["amount_recovered"].to_numpy(float),
        }
    )
    for name in ("action", "collector_id", "cost", "right_party_contact", "promise_to_pay"):
        if name in coll.columns:
            out[f"taken_{name}" if name in ("action", "cost") else name] = coll[name].to_numpy()
    if "promise_kept" in coll.columns:
        out["promise_kept"] = coll["promise_kept"].to_numpy()
    out = out[keep].reset_index(drop=True)

    lo = loans.set_index(loans["loan_id"].astype(str))
    pos = lo.index.get_indexer(out["loan_id"])
    if (pos < 0).any():
        first = out["loan_id"][pos < 0].iloc[0]
        raise DataError(f"collections: loan_id {first!r} is not in the loans table")
    for name in ("principal", "term", "apr", "product"):
        out[name] = lo[name].to_numpy()[pos]
    if isinstance(apps, pd.DataFrame) and "application_id" in apps.columns:
        ap = apps.set_index(apps["application_id"].astype(str))
        ids = lo["application_id"].astype(str).to_numpy()[pos]
        for name in APPLICATION_FEATURES:
            if name in ap.columns:
                try:
                    out[name] = ap[name].reindex(ids).astype(float).to_numpy()
                except (TypeError, ValueError) as exc:
                    raise DataError(f"applications: {name} is not numeric") from exc
    out["product"] = out["product"].astype(str)
    return out


def _flag(frame: pd.DataFrame, name: str) -> np.ndarray:
    if name not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    return frame[name].fillna(False).to_numpy(dtype=bool)
