"""Behaviour features as of a date, and the outcome a behaviour score predicts.

Point in time: the features of ``as_of`` read only performance snapshots dated on or before it
and, from ``loans``, only what is known when a loan is booked (id, customer, product, amount,
term, limit, disbursement date), never its status or months observed at the book's end.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from creditfactory.exceptions import ConfigError, DataError
from creditfactory.servicing._delinquency import _require
from creditfactory.servicing._flows import exposure

#: the behaviour features :func:`behaviour_features` computes (with ``product`` and ``term``)
FEATURES = (
    "mob",
    "dpd",
    "max_dpd_3m",
    "max_dpd_6m",
    "max_dpd_12m",
    "times_30dpd_12m",
    "months_since_delinquency",
    "payment_ratio_3m",
    "payment_ratio_6m",
    "utilisation",
    "balance_change_3m",
    "utilisation_change_6m",
    "customer_loans",
    "customer_prepaid_loans",
    "customer_max_dpd_12m",
)


def _timestamp(as_of: object, name: str = "as_of") -> pd.Timestamp:
    try:
        ts = pd.Timestamp(as_of)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{name}: not a date: {as_of!r}") from exc
    if pd.isna(ts):
        raise ConfigError(f"{name}: not a date: {as_of!r}")
    if isinstance(as_of, str) and len(as_of) == 7:  # "2025-06": the end of that month
        ts = ts + pd.offsets.MonthEnd(0)
    return ts


def _months_back(as_of: pd.Timestamp, months: int) -> pd.Timestamp:
    return as_of - pd.DateOffset(months=months)


def behaviour_features(
    performance: pd.DataFrame, loans: pd.DataFrame, as_of: object
) -> pd.DataFrame:
    """Behaviour features of every loan open at ``as_of`` (a date, or ``YYYY-MM`` for the end
    of that month).

    A loan is open when its last snapshot on or before ``as_of`` is less than a month old and
    neither closed nor charged off. One row per open loan with ``loan_id``, ``as_of``,
    ``product`` and ``term`` (where ``loans`` has them) and:

    - ``mob``, ``dpd``: months on book and days past due at the last snapshot;
    - ``max_dpd_3m`` / ``_6m`` / ``_12m``: worst DPD over the snapshots of the last 3/6/12
      months; ``times_30dpd_12m``: snapshots 30+ DPD in the last 12 months;
    - ``months_since_delinquency``: calendar months since the last snapshot with DPD > 0 (NaN
      when never delinquent);
    - ``payment_ratio_3m`` / ``_6m``: amount paid over amount due in the last 3/6 months
      (needs ``amount_due`` and ``amount_paid``);
    - ``utilisation``: exposure (principal outstanding plus arrears) over the loan's ``limit``
      (its principal where no limit is known); ``balance_change_3m``: the change in exposure
      over 3 months as a share of the principal; ``utilisation_change_6m``: the change in
      utilisation over 6 months (NaN when the loan is younger);
    - ``customer_loans``, ``customer_prepaid_loans``, ``customer_max_dpd_12m``: the customer's
      other loans disbursed before ``as_of``, those of them settled before their term, and the
      worst DPD over all the customer's loans in the last 12 months (needs ``customer_id``).
    """
    _require(performance, ("loan_id", "month", "mob", "dpd", "bucket"), "performance")
    _require(performance, ("principal_outstanding",), "performance")
    _require(loans, ("loan_id", "principal", "disbursed_at"), "loans")
    cut = _timestamp(as_of)
    perf = performance[performance["month"] <= cut].sort_values(["loan_id", "mob"])
    booked = loans[loans["disbursed_at"] <= cut]
    perf = perf[perf["loan_id"].isin(booked["loan_id"])]
    last = perf.groupby("loan_id", sort=True).tail(1).set_index("loan_id")
    closed = last["closed"].astype(bool) if "closed" in last else pd.Series(False, last.index)
    is_open = (
        (last["month"] > _months_back(cut, 1))
        & ~closed
        & (last["bucket"].astype(str) != "charged_off")
    )
    ids = last.index[is_open.to_numpy()]
    info = booked.set_index("loan_id").reindex(ids)
    out = pd.DataFrame(index=ids)
    out["as_of"] = cut
    for col in ("product", "term"):
        if col in info:
            out[col] = info[col].to_numpy()
    out["mob"] = last.loc[ids, "mob"].to_numpy()
    out["dpd"] = last.loc[ids, "dpd"].to_numpy()
    mine = perf[perf["loan_id"].isin(ids)]
    grp_loan = mine["loan_id"].to_numpy()
    for k in (3, 6, 12):
        window = mine["month"] > _months_back(cut, k)
        out[f"max_dpd_{k}m"] = (
            mine["dpd"].where(window).groupby(grp_loan).max().reindex(ids).fillna(0).astype(int)
        )
    in12 = mine["month"] > _months_back(cut, 12)
    out["times_30dpd_12m"] = (
        ((mine["dpd"] >= 30) & in12).groupby(grp_loan).sum().reindex(ids).astype(int)
    )
    late = mine.loc[mine["dpd"] > 0, ["loan_id", "month"]].groupby("loan_id")["month"].max()
    end = pd.Period(cut, freq="M")
    since = pd.Series(np.nan, index=ids)
    late = late.reindex(ids).dropna()
    since.loc[late.index] = [(end - pd.Period(m, freq="M")).n for m in late]
    out["months_since_delinquency"] = since
    if "amount_due" in mine and "amount_paid" in mine:
        for k in (3, 6):
            window = mine["month"] > _months_back(cut, k)
            due = mine["amount_due"].where(window, 0.0).groupby(grp_loan).sum().reindex(ids)
            paid = mine["amount_paid"].where(window, 0.0).groupby(grp_loan).sum().reindex(ids)
            out[f"payment_ratio_{k}m"] = (paid / due.where(due > 0)).to_numpy()
    expo = pd.Series(exposure(mine), index=mine.index)
    limit = info["limit"] if "limit" in info else info["principal"]
    limit = limit.where(limit > 0, info["principal"]).astype(float)
    now = expo.groupby(grp_loan).last().reindex(ids)
    out["utilisation"] = (now / limit).to_numpy()
    for k, name in ((3, "balance_change_3m"), (6, "utilisation_change_6m")):
        before = mine["month"] <= _months_back(cut, k)
        then = expo.where(before).groupby(grp_loan).last().reindex(ids)
        change = now - then
        base = info["principal"] if k == 3 else limit
        out[name] = (change / base.astype(float)).to_numpy()
    out = out.join(_customer_features(perf, booked, info, cut))
    out.index.name = "loan_id"
    return out.reset_index()


def _customer_features(
    perf: pd.DataFrame, booked: pd.DataFrame, info: pd.DataFrame, cut: pd.Timestamp
) -> pd.DataFrame:
    ids = info.index
    if "customer_id" not in booked:
        return pd.DataFrame(index=ids)
    cust_of = booked.set_index("loan_id")["customer_id"]
    per_customer = cust_of.value_counts()
    mine = info["customer_id"]
    out = pd.DataFrame(index=ids)
    out["customer_loans"] = (mine.map(per_customer).fillna(1) - 1).astype(int).to_numpy()
    # settled before term: a closed snapshot before the last instalment's month on book
    ended = perf[perf["closed"].astype(bool)] if "closed" in perf else perf.iloc[:0]
    if "term" in booked:
        terms = booked.set_index("loan_id")["term"]
        ended = ended[ended["mob"].to_numpy() < terms.reindex(ended["loan_id"]).to_numpy()]
    prepaid = cust_of.reindex(ended["loan_id"].unique()).value_counts()
    out["customer_prepaid_loans"] = mine.map(prepaid).fillna(0).astype(int).to_numpy()
    recent = perf[perf["month"] > _months_back(cut, 12)]
    worst = recent["dpd"].groupby(cust_of.reindex(recent["loan_id"]).to_numpy()).max()
    out["customer_max_dpd_12m"] = mine.map(worst).fillna(0).astype(int).to_numpy()
    return out


def behaviour_outcome(
    performance: pd.DataFrame, loan_ids: Sequence[str] | pd.Series, as_of: object, horizon: int
) -> pd.Series:
    """1 when the loan reaches 90+ DPD or is charged off within ``horizon`` months after
    ``as_of``, else 0 (indexed by ``loan_id``). The book must cover the whole window: a
    ``DataError`` names ``as_of`` otherwise."""
    if horizon < 1:
        raise ConfigError(f"horizon: must be at least 1 month, not {horizon}")
    cut = _timestamp(as_of)
    stop = cut + pd.DateOffset(months=horizon)
    last = performance["month"].max()
    if pd.Period(last, "M") < pd.Period(stop, "M"):  # snapshots fall on due days: by month
        raise DataError(
            f"as_of: {cut.date()} + {horizon} months ends after the book's last snapshot "
            f"({pd.Timestamp(last).date()}): the outcome is not yet known"
        )
    window = performance[(performance["month"] > cut) & (performance["month"] <= stop)]
    hit = (window["dpd"] >= 90) | (window["bucket"].astype(str) == "charged_off")
    bad = hit.groupby(window["loan_id"].to_numpy()).any()
    ids = pd.Index(loan_ids)
    return bad.reindex(ids).fillna(False).astype(int).rename("bad")


def behaviour_dataset(
    performance: pd.DataFrame,
    loans: pd.DataFrame,
    as_of: Sequence[object],
    horizon: int = 12,
) -> pd.DataFrame:
    """Behaviour features at each of ``as_of`` with the outcome ``bad`` (90+ DPD or charge-off
    within ``horizon`` months), one row per loan and date. Loans already 90+ DPD at a date are
    left out of it: they are bad already, not to be predicted."""
    if len(as_of) == 0:
        raise ConfigError("as_of: give at least one date")
    frames = []
    for date in as_of:
        feats = behaviour_features(performance, loans, date)
        feats = feats[feats["dpd"] < 90]
        feats["bad"] = behaviour_outcome(performance, feats["loan_id"], date, horizon).to_numpy()
        frames.append(feats)
    return pd.concat(frames, ignore_index=True)
