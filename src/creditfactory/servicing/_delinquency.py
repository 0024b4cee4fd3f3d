"""Delinquency by months on book, vintage curves and roll rates."""

from __future__ import annotations

import numpy as np
import pandas as pd

from creditfactory.exceptions import ConfigError, DataError

_BUCKET_ORDER = ("M0", "M1", "M2", "M3", "M4", "M5", "M6+", "charged_off")


def _require(frame: pd.DataFrame, columns: tuple[str, ...], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"{name}: missing column(s) {missing}")


def exposure(performance: pd.DataFrame) -> np.ndarray:
    """Exposure of each row: ``principal_outstanding`` plus ``arrears`` (when present) while the
    account is open; ``written_off`` on the charge-off row."""
    _require(performance, ("bucket", "principal_outstanding"), "performance")
    bal = performance["principal_outstanding"].to_numpy(float).copy()
    if "arrears" in performance:
        bal = bal + performance["arrears"].to_numpy(float)
    if "written_off" in performance:
        off = performance["bucket"].astype(str).to_numpy() == "charged_off"
        bal[off] = performance["written_off"].to_numpy(float)[off]
    return bal


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
    that have reached ``dpd`` days past due (or been charged off) by that ``mob``.

    ``ever_rate`` keeps every loan that has left the book: a loan that closed stays in the
    denominator as not bad, a charged-off loan stays bad, for as long as it would still have
    been observed (up to the last ``month`` in ``performance`` when that column is there, else
    up to the last ``mob``). Loans observed for fewer months (young vintages) count for the
    months they were observed, as in a Kaplan-Meier estimate: ``ever_rate`` at ``mob`` m is
    ``1 - prod(1 - new_bad_k / not_yet_bad_k)`` over k <= m, so the curve never falls with
    ``mob``, and it equals the plain share of bad loans when every loan is observed to m.

    Examples
    --------
    >>> perf = pd.DataFrame({"loan_id": ["a", "a", "b", "b"], "mob": [1, 2, 1, 2],
    ...                      "dpd": [0, 30, 0, 0], "bucket": ["M0", "M1", "M0", "M0"]})
    >>> delinquency_by_mob(perf, dpd=30)["ever_rate"].tolist()
    [0.0, 0.5]
    """
    _require(performance, ("loan_id", "mob", "dpd", "bucket"), "performance")
    grouped = performance.groupby("mob", sort=True)
    out = pd.DataFrame(
        {
            "accounts": grouped.size(),
            "dpd30_rate": grouped["dpd"].apply(lambda d: float((d >= 30).mean())),
            "dpd90_rate": grouped["dpd"].apply(lambda d: float((d >= 90).mean())),
        }
    )
    out["ever_rate"] = _ever_curve(performance, dpd, out.index.to_numpy())
    return out.reset_index()


def _ever_curve(performance: pd.DataFrame, dpd: int, mobs: np.ndarray) -> np.ndarray:
    """Kaplan-Meier share of loans that have reached ``dpd`` by each of ``mobs``."""
    perf = performance.sort_values(["loan_id", "mob"], kind="stable")
    loan = perf["loan_id"].to_numpy()
    mob = perf["mob"].to_numpy(np.int64)
    bucket = perf["bucket"].astype(str).to_numpy()
    hit = (perf["dpd"].to_numpy() >= dpd) | (bucket == "charged_off")
    codes, first_row = np.unique(loan, return_index=True)
    last_row = np.r_[first_row[1:], len(loan)] - 1
    per_loan = np.searchsorted(codes, loan)
    hit_mob = np.where(hit, mob, np.iinfo(np.int64).max)
    first_bad = np.full(len(codes), np.iinfo(np.int64).max)
    np.minimum.at(first_bad, per_loan, hit_mob)
    last_mob = mob[last_row]
    closed = perf["closed"].to_numpy(bool) if "closed" in perf else np.zeros(len(perf), bool)
    ended = closed[last_row] | (bucket[last_row] == "charged_off")
    max_mob = int(mobs.max()) if len(mobs) else 0
    if "month" in perf:  # an ended loan is observed until the book's last month
        month = perf["month"].to_numpy().astype("datetime64[M]").astype(np.int64)
        extra = month.max() - month[last_row] if len(month) else np.zeros(len(codes), np.int64)
        horizon = np.where(ended, last_mob + extra, last_mob)
    else:
        horizon = np.where(ended, max_mob, last_mob)
    curve = np.zeros(len(mobs))
    survive = 1.0
    for i, m in enumerate(mobs):
        at_risk = (horizon >= m) & (first_bad >= m)
        events = at_risk & (first_bad == m)
        if at_risk.any():
            survive *= 1.0 - events.sum() / at_risk.sum()
        curve[i] = 1.0 - survive
    return curve


def vintage_curves(
    performance: pd.DataFrame,
    loans: pd.DataFrame,
    dpd: int = 90,
    by: str = "M",
    *,
    segment: str | None = None,
) -> pd.DataFrame:
    """Cumulative share of each vintage (disbursement period, monthly by default) that has
    reached ``dpd`` days past due by each month on book: rows are vintages, columns ``mob``.

    Loans that closed before a given ``mob`` count in the denominator with the state they
    closed in, and each vintage's curve stops at the months on book its youngest loan has been
    observed, so curves only rise. With ``segment`` (a column of ``loans``: product, channel
    …) the rows are ``(segment, vintage)`` pairs, one set of curves per segment.
    """
    _require(performance, ("loan_id", "mob", "dpd", "bucket"), "performance")
    _require(loans, ("loan_id", "disbursed_at", "months_observed"), "loans")
    if segment is not None:
        _require(loans, (segment,), "loans")
        parts = {
            key: vintage_curves(
                performance[performance["loan_id"].isin(group["loan_id"])], group, dpd, by
            )
            for key, group in loans.groupby(segment, observed=True, sort=True)
        }
        if not parts:
            return pd.DataFrame()
        return pd.concat(parts, names=[segment, "vintage"])
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


def roll_rates(performance: pd.DataFrame, weight: str = "count") -> pd.DataFrame:
    """Month-to-month transition matrix between buckets: row = bucket this month, column =
    bucket next month, values = share of accounts (rows sum to 1 over the accounts that are
    still open next month; ``closed`` counts those that repaid in full). With
    ``weight="balance"`` each account weighs its exposure this month (:func:`exposure`), the
    share of the bucket's balance that moves."""
    if weight not in ("count", "balance"):
        raise ConfigError(f"weight: must be 'count' or 'balance', not {weight!r}")
    _require(performance, ("loan_id", "mob", "bucket"), "performance")
    perf = performance.sort_values(["loan_id", "mob"], kind="stable")
    bucket = perf["bucket"].astype(str).to_numpy()
    loan = perf["loan_id"].to_numpy()
    closed = perf["closed"].to_numpy(bool) if "closed" in perf else np.zeros(len(perf), bool)
    nxt = np.where(closed, "closed", bucket)
    same = loan[1:] == loan[:-1]
    w = np.ones(len(perf)) if weight == "count" else exposure(perf)
    pairs = pd.DataFrame({"from": bucket[:-1][same], "to": nxt[1:][same], "w": w[:-1][same]})
    pairs = pairs[~closed[:-1][same]]
    table = pd.crosstab(
        pairs["from"], pairs["to"], values=pairs["w"], aggfunc="sum", normalize="index"
    ).fillna(0.0)
    order = [b for b in _BUCKET_ORDER if b in table.index]
    cols = [b for b in (*_BUCKET_ORDER, "closed") if b in table.columns]
    return table.reindex(index=order, columns=cols, fill_value=0.0)
