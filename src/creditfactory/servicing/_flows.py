"""Flow rates, net flow to charge-off, delinquency and loss by segment, expected loss.

All functions read the ``performance`` table (one row per loan and month on book: ``loan_id``,
``month``, ``mob``, ``dpd``, ``bucket``, ``principal_outstanding``, optionally ``arrears``,
``written_off`` and ``closed``), whether simulated or real.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from creditfactory.exceptions import ConfigError, DataError
from creditfactory.servicing._delinquency import _BUCKET_ORDER, _require, exposure, roll_rates

# the delinquency ladder an account climbs to charge-off, one step a month
CHAIN: tuple[str, ...] = ("M0", "M1", "M2", "M3", "M4", "M5", "M6+", "charged_off")


def _calendar(performance: pd.DataFrame) -> pd.PeriodIndex:
    _require(performance, ("month",), "performance")
    month = performance["month"]
    if not pd.api.types.is_datetime64_any_dtype(month):
        raise DataError("performance: column 'month' must be dates (the snapshot's due date)")
    return pd.PeriodIndex(month, freq="M")


def bucket_balances(performance: pd.DataFrame, weight: str = "balance") -> pd.DataFrame:
    """Accounts (``weight="count"``) or exposure (``"balance"``) in each bucket, by calendar
    month: rows are months, columns the buckets of :data:`CHAIN` (``charged_off``: the month's
    charge-offs, at the amount written off)."""
    if weight not in ("count", "balance"):
        raise ConfigError(f"weight: must be 'count' or 'balance', not {weight!r}")
    _require(performance, ("loan_id", "month", "bucket"), "performance")
    cal = _calendar(performance)
    w = np.ones(len(performance)) if weight == "count" else exposure(performance)
    frame = pd.DataFrame({"month": cal, "bucket": performance["bucket"].astype(str).to_numpy()})
    frame["w"] = w
    table = frame.pivot_table(index="month", columns="bucket", values="w", aggfunc="sum")
    table = table.reindex(columns=list(CHAIN), fill_value=0.0).fillna(0.0)
    full = pd.period_range(table.index.min(), table.index.max(), freq="M")
    return table.reindex(full, fill_value=0.0).rename_axis("month")


def flow_rates(performance: pd.DataFrame, weight: str = "balance") -> pd.DataFrame:
    """Flow rates by calendar month: the balance (or count) in bucket k+1 this month over the
    balance in bucket k the month before, for each step of :data:`CHAIN` (``M0->M1`` …
    ``M6+->charged_off``). Unlike a roll rate, it follows no account: it is what portfolio
    managers read off two month-end bucket reports. The first month has no rates (NaN), nor has
    a step whose previous-month bucket is empty.

    Examples
    --------
    >>> perf = pd.DataFrame({"loan_id": ["a", "a", "b", "b"],
    ...     "month": pd.to_datetime(["2024-01-05", "2024-02-05", "2024-01-09", "2024-02-09"]),
    ...     "bucket": ["M0", "M1", "M0", "M0"], "principal_outstanding": [100.0, 90, 300, 280]})
    >>> flow_rates(perf)["M0->M1"].tolist()
    [nan, 0.225]
    """
    bal = bucket_balances(performance, weight)
    out = {}
    for k in range(len(CHAIN) - 1):
        prev = bal[CHAIN[k]].shift(1)
        out[f"{CHAIN[k]}->{CHAIN[k + 1]}"] = bal[CHAIN[k + 1]] / prev.where(prev > 0)
    return pd.DataFrame(out, index=bal.index)


def net_flow_to_charge_off(performance: pd.DataFrame, weight: str = "balance") -> pd.DataFrame:
    """Net flow to charge-off by calendar month: the product of the flow rates along the
    diagonal (``M0->M1`` seven months before, … ``M6+->charged_off`` this month), which
    telescopes to this month's charge-offs over the current (M0) balance seven months before:
    the share of a month's performing book that flows through to loss.

    Returns ``current_balance_7m_ago``, ``charged_off`` (this month) and ``net_flow``.
    """
    bal = bucket_balances(performance, weight)
    rates = flow_rates(performance, weight)
    steps = len(CHAIN) - 1
    product = pd.Series(1.0, index=rates.index)
    for k in range(steps):
        product = product * rates.iloc[:, k].shift(steps - 1 - k)
    return pd.DataFrame(
        {
            "current_balance_7m_ago": bal["M0"].shift(steps),
            "charged_off": bal["charged_off"],
            "net_flow": product,
        }
    )


def _snapshot(performance: pd.DataFrame, as_of: object | None) -> pd.DataFrame:
    """Each loan's last row on or before ``as_of`` (default: every row)."""
    perf = performance
    if as_of is not None:
        cut = pd.Timestamp(as_of)  # type: ignore[arg-type]
        perf = perf[perf["month"] <= cut]
    perf = perf.sort_values(["loan_id", "mob"], kind="stable")
    return perf.groupby("loan_id", sort=False).tail(1)


def delinquency_by_segment(
    performance: pd.DataFrame,
    loans: pd.DataFrame,
    by: str | Sequence[str],
    as_of: object | None = None,
) -> pd.DataFrame:
    """Delinquency and loss of the book by segment (product, channel, cohort, vintage …).

    ``by`` names one or more columns of ``loans`` (``"vintage"``: the month of
    ``disbursed_at``). Per segment, over the loans with a performance row on or before
    ``as_of`` (default: the whole table): ``loans``, ``principal`` lent, ``open`` accounts and
    their ``exposure`` (principal outstanding plus arrears) at each loan's last snapshot,
    ``dpd30_share`` and ``dpd90_share`` of that exposure, ``ever90_rate`` (share of loans that
    ever reached 90+ DPD or charge-off), ``written_off`` and ``loss_rate`` (written off over
    principal lent).
    """
    _require(performance, ("loan_id", "month", "mob", "dpd", "bucket"), "performance")
    _require(performance, ("principal_outstanding",), "performance")
    keys = [by] if isinstance(by, str) else list(by)
    info = loans.copy()
    if "vintage" in keys and "vintage" not in info:
        _require(info, ("disbursed_at",), "loans")
        info["vintage"] = info["disbursed_at"].dt.to_period("M").astype(str)
    _require(info, ("loan_id", "principal", *keys), "loans")
    perf = performance
    if as_of is not None:
        perf = perf[perf["month"] <= pd.Timestamp(as_of)]  # type: ignore[arg-type]
    bucket = perf["bucket"].astype(str).to_numpy()
    bad = (perf["dpd"].to_numpy() >= 90) | (bucket == "charged_off")
    ever = pd.Series(bad).groupby(perf["loan_id"].to_numpy()).any()
    off = (
        perf["written_off"].groupby(perf["loan_id"]).sum()
        if "written_off" in perf
        else pd.Series(0.0, index=ever.index)
    )
    last = _snapshot(perf, None).set_index("loan_id")
    last_bucket = last["bucket"].astype(str)
    closed = last["closed"].astype(bool) if "closed" in last else pd.Series(False, last.index)
    is_open = ~closed & (last_bucket != "charged_off")
    expo = pd.Series(exposure(last.reset_index()), index=last.index).where(is_open, 0.0)
    per = pd.DataFrame(
        {
            "open": is_open.astype(int),
            "exposure": expo,
            "dpd30": expo.where(last["dpd"] >= 30, 0.0),
            "dpd90": expo.where(last["dpd"] >= 90, 0.0),
            "ever90": ever.reindex(last.index).astype(int),
            "written_off": off.reindex(last.index).fillna(0.0),
        }
    )
    frame = info.set_index("loan_id")[["principal", *keys]].join(per, how="inner")
    g = frame.groupby(keys, observed=True, sort=True)
    out = g.agg(
        loans=("principal", "size"),
        principal=("principal", "sum"),
        open=("open", "sum"),
        exposure=("exposure", "sum"),
        dpd30=("dpd30", "sum"),
        dpd90=("dpd90", "sum"),
        ever90=("ever90", "mean"),
        written_off=("written_off", "sum"),
    )
    out["dpd30_share"] = out.pop("dpd30") / out["exposure"].where(out["exposure"] > 0)
    out["dpd90_share"] = out.pop("dpd90") / out["exposure"].where(out["exposure"] > 0)
    out["ever90_rate"] = out.pop("ever90")
    out["loss_rate"] = out["written_off"] / out["principal"]
    return out.reset_index()


def expected_loss(pd_: object, lgd: object, ead: object) -> np.ndarray:
    """Expected loss ``PD x LGD x EAD``, element by element (arrays broadcast).

    PD and LGD must lie in [0, 1] and EAD be non-negative; NaN is refused.

    >>> expected_loss([0.1, 0.5], 0.5, [1000.0, 200.0]).tolist()
    [50.0, 50.0]
    """
    checked = []
    for name, value in (("pd", pd_), ("lgd", lgd), ("ead", ead)):
        arr = np.asarray(value, dtype=float)
        if np.isnan(arr).any():
            raise DataError(f"{name}: missing values")
        if (arr < 0).any() or (name != "ead" and (arr > 1).any()):
            bound = "non-negative" if name == "ead" else "in [0, 1]"
            raise DataError(f"{name}: values must be {bound}")
        checked.append(arr)
    return np.asarray(checked[0] * checked[1] * checked[2])


def charge_off_pd(performance: pd.DataFrame, horizon: int = 12) -> pd.Series:
    """Probability of charge-off within ``horizon`` months from each bucket, by the Markov
    chain of the month-to-month roll-rate matrix (:func:`roll_rates`; ``closed`` and
    ``charged_off`` absorb)."""
    if horizon < 1:
        raise ConfigError(f"horizon: must be at least 1 month, not {horizon}")
    rr = roll_rates(performance)
    states = [b for b in (*_BUCKET_ORDER, "closed") if b in set(rr.index) | set(rr.columns)]
    for s in ("charged_off", "closed"):
        if s not in states:
            states.append(s)
    idx = {s: i for i, s in enumerate(states)}
    p = np.zeros((len(states), len(states)))
    for s in states:
        if s in rr.index:
            for t, v in rr.loc[s].items():
                p[idx[s], idx[str(t)]] = v
        else:  # absorbing: charged off, closed, or a bucket never left in the data
            p[idx[s], idx[s]] = 1.0
    reach = np.linalg.matrix_power(p, horizon)[:, idx["charged_off"]]
    return pd.Series(reach, index=states, name="pd").drop(["closed"])


def expected_loss_by_bucket(
    performance: pd.DataFrame,
    lgd: float = 0.75,
    horizon: int = 12,
    as_of: object | None = None,
) -> pd.DataFrame:
    """Expected loss of the open book at ``as_of`` (default: the table's last month) by bucket:
    ``accounts``, ``ead`` (principal outstanding plus arrears), ``pd`` (charge-off within
    ``horizon`` months by :func:`charge_off_pd`, from the roll rates observed up to ``as_of``),
    ``lgd`` and ``el = pd x lgd x ead``; a ``total`` row last."""
    _require(performance, ("loan_id", "month", "mob", "bucket", "principal_outstanding"), "perf")
    perf = performance
    if as_of is not None:
        perf = perf[perf["month"] <= pd.Timestamp(as_of)]  # type: ignore[arg-type]
    if perf.empty:
        raise DataError("performance: no rows on or before the as-of date")
    pd_bucket = charge_off_pd(perf, horizon)
    last = _snapshot(perf, None)
    # open at the end: a snapshot in the last month of the table (due days differ by loan)
    current = (last["month"] > perf["month"].max() - pd.Timedelta(days=31)).to_numpy()
    closed = last["closed"].to_numpy(bool) if "closed" in last else np.zeros(len(last), bool)
    bucket = last["bucket"].astype(str).to_numpy()
    live = current & ~closed & (bucket != "charged_off")
    book = pd.DataFrame({"bucket": bucket[live], "ead": exposure(last)[live]})
    g = book.groupby("bucket").agg(accounts=("ead", "size"), ead=("ead", "sum"))
    g = g.reindex([b for b in _BUCKET_ORDER if b in g.index])
    g["pd"] = pd_bucket.reindex(g.index).fillna(0.0).to_numpy()
    g["lgd"] = lgd
    g["el"] = expected_loss(g["pd"].to_numpy(), lgd, g["ead"].to_numpy())
    total = pd.DataFrame(
        {
            "accounts": [g["accounts"].sum()],
            "ead": [g["ead"].sum()],
            "pd": [g["el"].sum() / lgd / g["ead"].sum() if g["ead"].sum() > 0 else 0.0],
            "lgd": [lgd],
            "el": [g["el"].sum()],
        },
        index=["total"],
    )
    return pd.concat([g, total]).rename_axis("bucket").reset_index()
