"""Delinquency by months on book, vintage curves and roll rates."""

from __future__ import annotations

import numpy as np
import pandas as pd

from creditfactory.exceptions import DataError

_BUCKET_ORDER = ("M0", "M1", "M2", "M3", "M4", "M5", "M6+", "charged_off")


def _require(frame: pd.DataFrame, columns: tuple[str, ...], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"{name}: missing column(s) {missing}")


def _ever_bad(performance: pd.DataFrame, dpd: int) -> pd.DataFrame:
    """Per loan and month on book: has the loan reached ``dpd`` days past due (or been
    charged off) by then?"""
    perf = performance.sort_values(["loan_id", "mob"], kind="stable")
    hit = (perf["dpd"].to_numpy() >= dpd) | (perf["bucket"].astype(str).to_numpy() == "charged_off")
    ever = pd.Series(hit, index=perf.index).groupby(perf["loan_id"].to_numpy()).cummax()
    return pd.DataFrame({"loan_id": perf["loan_id"], "mob": perf["mob"], "ever": ever})


def delinquency_by_mob(performance: pd.DataFrame, dpd: int = 90) -> pd.DataFrame:
    """Share of accounts delinquent at each month on book.

    Returns one row per ``mob`` with ``accounts`` observed, ``dpd30_rate`` and ``dpd90_rate``
    (share of those accounts 30+ / 90+ DPD that month) and ``ever_rate``: the share of loans
    observed at that ``mob`` that have reached ``dpd`` days past due (or been charged off) by
    then, counting a loan that closed earlier as not bad.

    Examples
    --------
    >>> perf = pd.DataFrame({"loan_id": ["a", "a", "b", "b"], "mob": [1, 2, 1, 2],
    ...                      "dpd": [0, 30, 0, 0], "bucket": ["M0", "M1", "M0", "M0"]})
    >>> delinquency_by_mob(perf, dpd=30)["ever_rate"].tolist()
    [0.0, 0.5]
    """
    _require(performance, ("loan_id", "mob", "dpd", "bucket"), "performance")
    ever = _ever_bad(performance, dpd)
    grouped = performance.groupby("mob", sort=True)
    out = pd.DataFrame(
        {
            "accounts": grouped.size(),
            "dpd30_rate": grouped["dpd"].apply(lambda d: float((d >= 30).mean())),
            "dpd90_rate": grouped["dpd"].apply(lambda d: float((d >= 90).mean())),
        }
    )
    out["ever_rate"] = ever.groupby("mob")["ever"].mean()
    return out.reset_index()


def vintage_curves(
    performance: pd.DataFrame, loans: pd.DataFrame, dpd: int = 90, by: str = "M"
) -> pd.DataFrame:
    """Cumulative share of each vintage (disbursement period, monthly by default) that has
    reached ``dpd`` days past due by each month on book: rows are vintages, columns ``mob``.

    Loans that closed before a given ``mob`` count in the denominator with the state they
    closed in, and each vintage's curve stops at the months on book its youngest loan has been
    observed, so curves only rise.
    """
    _require(performance, ("loan_id", "mob", "dpd", "bucket"), "performance")
    _require(loans, ("loan_id", "disbursed_at", "months_observed"), "loans")
    ever = _ever_bad(performance, dpd)
    last = ever.groupby("loan_id").agg(last_mob=("mob", "max"), final=("ever", "max"))
    info = loans.set_index("loan_id")[["disbursed_at", "months_observed"]].join(last, how="inner")
    info["vintage"] = info["disbursed_at"].dt.to_period(by)
    max_mob = int(info["months_observed"].max()) if len(info) else 0
    wide = ever.pivot_table(index="loan_id", columns="mob", values="ever", aggfunc="max")
    wide = wide.reindex(columns=range(1, max_mob + 1))
    # after a loan closes it stays in the state it ended in, while it is still observed
    months_obs = info.loc[wide.index, "months_observed"].to_numpy()[:, None]
    observed = np.arange(1, max_mob + 1)[None, :] <= months_obs
    filled = wide.astype(float).ffill(axis=1).where(observed)
    curves = filled.astype(float).groupby(info.loc[wide.index, "vintage"]).mean()
    # a vintage's curve stops where its youngest loan stops being observed, so that every
    # point of the curve is over the same loans
    limit = info.loc[wide.index].groupby("vintage")["months_observed"].min()
    curves = curves.where(
        curves.columns.to_numpy()[None, :] <= limit.loc[curves.index].to_numpy()[:, None]
    )
    curves.index.name = "vintage"
    return curves


def roll_rates(performance: pd.DataFrame) -> pd.DataFrame:
    """Month-to-month transition matrix between buckets: row = bucket this month, column =
    bucket next month, values = share of accounts (rows sum to 1 over the accounts that are
    still open next month; ``closed`` counts those that repaid in full)."""
    _require(performance, ("loan_id", "mob", "bucket"), "performance")
    perf = performance.sort_values(["loan_id", "mob"], kind="stable")
    bucket = perf["bucket"].astype(str).to_numpy()
    loan = perf["loan_id"].to_numpy()
    closed = perf["closed"].to_numpy(bool) if "closed" in perf else np.zeros(len(perf), bool)
    nxt = np.where(closed, "closed", bucket)
    same = loan[1:] == loan[:-1]
    pairs = pd.DataFrame({"from": bucket[:-1][same], "to": nxt[1:][same]})
    pairs = pairs[~closed[:-1][same]]
    table = pd.crosstab(pairs["from"], pairs["to"], normalize="index")
    order = [b for b in _BUCKET_ORDER if b in table.index]
    cols = [b for b in (*_BUCKET_ORDER, "closed") if b in table.columns]
    return table.reindex(index=order, columns=cols, fill_value=0.0)
