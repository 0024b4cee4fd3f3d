"""What each action did, by segment, read off the incumbent's randomised history.

The incumbent deals its actions at random within each bucket (its champion/challenger of
treatments), so within a bucket the accounts that got a text and those that got a call are alike
but for the action: the difference of their outcomes is the action's effect. This is the
evidence a collection strategy's cells are written from; segments finer than the bucket (a
score band, an amount band) stay comparable as long as the incumbent's draw did not look at them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from creditfactory.collections._league import wilson
from creditfactory.exceptions import ConfigError, DataError

_NEEDED = ("taken_action", "cured", "paid", "amount_recovered", "taken_cost")


def action_response(
    history: pd.DataFrame, *, by: Sequence[str] = ("bucket",), level: float = 0.95
) -> pd.DataFrame:
    """Cure and payment rates, cash and cost per account-month by segment and action taken.

    Parameters
    ----------
    history : pandas.DataFrame
        Past account-months as from :func:`account_months` (``taken_action``, ``cured``,
        ``paid``, ``amount_recovered``, ``taken_cost``) plus the ``by`` columns.
    by : sequence of str, default ("bucket",)
        Segment columns (add a score or amount band of your own to look finer).
    level : float, default 0.95
        Confidence level of the rates' Wilson intervals.

    Returns
    -------
    pandas.DataFrame
        One row per segment and action: ``accounts``, ``cure_rate`` (with ``cure_low``,
        ``cure_high``), ``pay_rate``, ``recovered`` and ``cost`` (means per account-month, CNY)
        and ``net`` (their difference).
    """
    if not isinstance(history, pd.DataFrame):
        raise DataError(f"history: expected a pandas DataFrame, got {type(history).__name__}")
    by = [by] if isinstance(by, str) else list(by)
    missing = [c for c in (*_NEEDED, *by) if c not in history.columns]
    if missing:
        raise DataError(f"history: missing column(s) {missing}")
    if not 0 < level < 1:
        raise ConfigError(f"level: must be between 0 and 1, got {level!r}")
    frame = history[[*by, *_NEEDED]].copy()
    frame["taken_action"] = frame["taken_action"].astype(str)
    for name in by:
        if isinstance(frame[name].dtype, pd.CategoricalDtype):
            frame[name] = frame[name].astype(str)
    out = (
        frame.groupby([*by, "taken_action"], sort=True, observed=True)
        .agg(
            accounts=("cured", "size"),
            cures=("cured", "sum"),
            pay_rate=("paid", "mean"),
            recovered=("amount_recovered", "mean"),
            cost=("taken_cost", "mean"),
        )
        .reset_index()
        .rename(columns={"taken_action": "action"})
    )
    n = out["accounts"].to_numpy(float)
    out["cure_rate"] = out["cures"] / n
    out["cure_low"], out["cure_high"] = wilson(out["cures"].to_numpy(), n, level)
    out["net"] = out["recovered"] - out["cost"]
    columns = [*by, "action", "accounts", "cure_rate", "cure_low", "cure_high", "pay_rate",
               "recovered", "cost", "net"]  # fmt: skip
    return out[columns].reset_index(drop=True).astype({"accounts": np.int64})
