"""The collector league table (催收绩效考核): contact, promise-to-pay, kept-promise and cure
rates and amount recovered per collector, risk-adjusted for the accounts each was given.

A collector handed harder accounts cures fewer of them whatever their skill. So each account's
expected cure (and expected cash) comes from the collection score, calibrated within the
collector's pool (an action's team: agent calls, field visits), so that the pool's expected
total equals its actual total; a collector is then judged by actual minus expected cures per
account, with a normal confidence interval from the outcomes' binomial variance. Raw rates get
Wilson intervals. The table is ranked by the risk-adjusted cure rate, not the raw one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm

from creditfactory.exceptions import ConfigError, DataError

_NEEDED = ("collector_id", "cured", "p_cure")


def wilson(
    successes: np.ndarray, n: np.ndarray, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a binomial proportion (element-wise).

    >>> lo, hi = wilson(np.array([8]), np.array([10]))
    >>> round(float(lo[0]), 3), round(float(hi[0]), 3)
    (0.49, 0.943)
    >>> lo, hi = wilson(np.array([0, 7]), np.array([7, 7]))
    >>> float(lo[0]), float(hi[1])
    (0.0, 1.0)
    """
    z = norm.ppf(0.5 + level / 2)
    n = np.asarray(n, float)
    p = np.asarray(successes, float) / np.maximum(n, 1)
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    # at 0 (n) successes the lower (upper) bound is exactly 0 (1), not a rounding error beside it
    low = np.where(p <= 0, 0.0, np.clip(centre - half, 0.0, 1.0))
    high = np.where(p >= 1, 1.0, np.clip(centre + half, 0.0, 1.0))
    return np.where(n > 0, low, np.nan), np.where(n > 0, high, np.nan)


def league_table(
    history: pd.DataFrame, *, pool: str | None = "taken_action", level: float = 0.95
) -> pd.DataFrame:
    """One row per collector, ranked by risk-adjusted cure rate.

    Parameters
    ----------
    history : pandas.DataFrame
        Worked account-months: ``collector_id``, ``cured`` (0/1) and ``p_cure`` (the
        collection score's probability of cure); optionally ``right_party_contact``,
        ``promise_to_pay``, ``promise_kept`` (bools), ``amount_recovered`` and
        ``expected_recovery`` (CNY), and the ``pool`` column.
    pool : str or None, default "taken_action"
        Column grouping collectors that are compared with one another (their action); the
        expected figures are calibrated within each pool. ``None``: one pool.
    level : float, default 0.95
        Confidence level of the intervals.

    Returns
    -------
    pandas.DataFrame
        ``pool``, ``collector_id``, ``accounts``, ``contact_rate``, ``ptp_rate``,
        ``kept_rate`` (of promises), ``cure_rate`` with ``cure_rate_low``/``_high``,
        ``expected_cure_rate``, ``cure_rate_vs_expected`` (actual minus expected, per
        account) with ``vs_expected_low``/``_high``, ``amount_recovered``,
        ``expected_amount`` and ``recovered_vs_expected``, and ``rank`` within the pool.
    """
    if not isinstance(history, pd.DataFrame):
        raise DataError(f"history: expected a pandas DataFrame, got {type(history).__name__}")
    missing = [c for c in _NEEDED if c not in history.columns]
    if pool is not None and pool not in history.columns:
        missing.append(pool)
    if missing:
        raise DataError(f"history: missing column(s) {missing}")
    if not 0 < level < 1:
        raise ConfigError(f"level: must be between 0 and 1, got {level!r}")
    p = pd.to_numeric(history["p_cure"], errors="coerce").to_numpy(float)
    if np.isnan(p).any() or (p < 0).any() or (p > 1).any():
        raise DataError("history: p_cure must be a probability on every row")
    cured = history["cured"].to_numpy()
    if not np.isin(cured, [0, 1]).all():
        raise DataError("history: cured must be 0 or 1")

    frame = pd.DataFrame(
        {
            "pool": history[pool].astype(str).to_numpy() if pool is not None else "all",
            "collector_id": history["collector_id"].astype(str).to_numpy(),
            "cured": cured.astype(float),
            "p_cure": p,
        }
    )
    for name in ("right_party_contact", "promise_to_pay", "promise_kept"):
        flag = history[name] if name in history.columns else pd.Series(False, index=history.index)
        frame[name] = flag.fillna(False).to_numpy(dtype=float)
    for name in ("amount_recovered", "expected_recovery"):
        col = history[name] if name in history.columns else pd.Series(np.nan, index=history.index)
        frame[name] = pd.to_numeric(col, errors="coerce").to_numpy(float)

    # calibrate the score within each pool: expected cures sum to actual cures there
    scale = frame.groupby("pool")["cured"].transform("sum") / frame.groupby("pool")[
        "p_cure"
    ].transform("sum").replace(0.0, np.nan)
    frame["expected"] = np.clip(frame["p_cure"] * scale.fillna(1.0), 0.0, 1.0)
    frame["variance"] = frame["expected"] * (1.0 - frame["expected"])
    money = frame["expected_recovery"]
    cash_scale = frame.groupby("pool")["amount_recovered"].transform("sum") / money.groupby(
        frame["pool"]
    ).transform("sum").replace(0.0, np.nan)
    frame["expected_amount"] = money * cash_scale
    has_money = bool(money.notna().any())

    g = frame.groupby(["pool", "collector_id"], sort=True)
    out = g.agg(
        accounts=("cured", "size"),
        contacts=("right_party_contact", "sum"),
        promises=("promise_to_pay", "sum"),
        kept=("promise_kept", "sum"),
        cures=("cured", "sum"),
        expected_cures=("expected", "sum"),
        variance=("variance", "sum"),
        amount_recovered=("amount_recovered", "sum"),
        expected_amount=("expected_amount", "sum"),
    ).reset_index()
    n = out["accounts"].to_numpy(float)
    z = norm.ppf(0.5 + level / 2)
    out["contact_rate"] = out["contacts"] / n
    out["ptp_rate"] = out["promises"] / n
    out["kept_rate"] = out["kept"] / out["promises"].replace(0, np.nan)
    out["cure_rate"] = out["cures"] / n
    out["cure_rate_low"], out["cure_rate_high"] = wilson(out["cures"].to_numpy(), n, level)
    out["expected_cure_rate"] = out["expected_cures"] / n
    diff = (out["cures"] - out["expected_cures"]) / n
    half = z * np.sqrt(out["variance"]) / n
    out["cure_rate_vs_expected"] = diff
    out["vs_expected_low"] = diff - half
    out["vs_expected_high"] = diff + half
    if not has_money:  # no expected_recovery given: nothing to compare the cash with
        out["expected_amount"] = np.nan
    out["recovered_vs_expected"] = out["amount_recovered"] - out["expected_amount"]
    out = out.sort_values(
        ["pool", "cure_rate_vs_expected", "collector_id"], ascending=[True, False, True]
    )
    out["rank"] = out.groupby("pool").cumcount() + 1
    columns = [
        "pool", "collector_id", "rank", "accounts", "contact_rate", "ptp_rate", "kept_rate",
        "cure_rate", "cure_rate_low", "cure_rate_high", "expected_cure_rate",
        "cure_rate_vs_expected", "vs_expected_low", "vs_expected_high", "amount_recovered",
        "expected_amount", "recovered_vs_expected",
    ]  # fmt: skip
    return out[columns].reset_index(drop=True)
