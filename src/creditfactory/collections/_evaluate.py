"""A collection plan scored against the twin's truth.

For every planned account-month the twin's counterfactual oracle
(:func:`creditfactory.data.collection_oracle`) gives the true probability that the account cures
and that it pays anything under the planned action. The month's expected cash follows from what
the account owes: a cure pays everything due (arrears, penalty, the new instalment), a partial
payment one instalment. Costs are the twin's own per action, plus the agency's commission on
what it recovers. The incumbent's one-size-fits-all policy (its randomised action shares by
bucket, an average collector) is scored on the same accounts, and so is the plan's action mix
dealt out at random within each bucket, which separates what the plan gains by its mix of
actions from what it gains by choosing who gets which.

The month's cash undervalues an early-stage action: what it is mostly worth is the roll it
prevents (a cured loan pays its instalments; a rolled one drifts towards charge-off). So every
figure is also given over a horizon: by default the loan's life (until the account is closed or
charged off, and what its written-off debt brings back from the agency and the debt sale), or
``horizon_months`` months (the plan's month included): the twin's exact expected cash and
action costs, with the planned action in the plan's month and the incumbent's policy in every
month after it, for the plan and the incumbent alike
(:func:`creditfactory.data.collection_horizon`). Cash is not discounted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from creditfactory.collections._accounts import account_months
from creditfactory.data import Portfolio, collection_horizon, collection_oracle
from creditfactory.exceptions import DataError

ACTIONS: tuple[str, ...] = ("sms", "robo_call", "agent_call", "field_visit", "agency", "legal")
"""Collection actions, cheapest first (the twin's ``COLLECTION_ACTIONS``)."""
AGENCY_FEE = 0.2
"""Share of what a collection agency recovers before charge-off that it keeps (the twin's
collections table charges the same)."""
FIGURES: tuple[str, ...] = ("accounts", "recovered", "cost", "net_recovery", "cures")
"""The month's figures: ``recovered`` is the cash of the plan's month only."""
HORIZON_FIGURES: tuple[str, ...] = (
    "horizon_months",
    "horizon_recovered",
    "horizon_cost",
    "horizon_net_recovery",
    "current_at_end",
    "charged_off",
)
"""The horizon's figures: cash and costs over the horizon (the plan's month included, the
incumbent's policy after it; ``horizon_months``: the months it spans, for the loan's life the
longest any planned account stays open), with the expected recoveries of debt charged off
within it and the agency's commission on them, and the expected number of accounts current
(or closed) at the end of the horizon and charged off within it."""
HORIZON_MONTHS: int | None = None
"""Default horizon of :func:`evaluate_plan`: ``None``, the loan's life."""


@dataclass(frozen=True)
class PlanEvaluation:
    """True expected figures of a plan and of the incumbent's policy on the same accounts.

    Each of ``plan``, ``incumbent`` and ``same_mix`` (the plan's actions shuffled within each
    bucket) holds the month's figures, ``accounts``, ``recovered`` (CNY paid in the plan's
    month), ``cost`` (CNY), ``net_recovery`` (recovered less cost) and ``cures`` (expected
    number), and the horizon's, ``horizon_months``, ``horizon_recovered`` (CNY paid over the
    horizon), ``horizon_cost`` (the month's cost and the incumbent's actions after it),
    ``horizon_net_recovery``, ``current_at_end`` and ``charged_off`` (expected numbers).
    ``rows`` holds the per-account truth.
    """

    plan: dict[str, float]
    incumbent: dict[str, float]
    same_mix: dict[str, float]
    rows: pd.DataFrame = field(repr=False)
    horizon: str = "life"
    """``"life"`` (the loan's life) or ``"N months"``."""

    @property
    def uplift(self) -> float:
        """Relative gain in the month's net recovery of the plan over the incumbent."""
        base = self.incumbent["net_recovery"]
        return (self.plan["net_recovery"] - base) / abs(base) if base else float("nan")

    @property
    def horizon_uplift(self) -> float:
        """Relative gain in net recovery over the horizon of the plan over the incumbent."""
        base = self.incumbent["horizon_net_recovery"]
        return (self.plan["horizon_net_recovery"] - base) / abs(base) if base else float("nan")

    def to_dict(self) -> dict[str, Any]:
        """``{horizon, plan: {...}, incumbent: {...}, same_mix: {...}}`` (for ``--json``)."""
        return {
            "horizon": self.horizon,
            "plan": self.plan,
            "incumbent": self.incumbent,
            "same_mix": self.same_mix,
        }


def true_values(
    portfolio: Portfolio,
    plan: pd.DataFrame,
    accounts: pd.DataFrame | None = None,
    *,
    horizon_months: int | str | None = None,
) -> pd.DataFrame:
    """Per planned account-month: the true ``cure_prob`` and ``pay_prob`` under its
    ``action`` (and ``collector_id`` if given), and the month's expected ``recovered``,
    ``cost`` and ``net``. With ``horizon_months`` (a number of months, or ``"life"`` for the
    loan's life), also ``horizon_recovered``, ``horizon_cost``, ``horizon_net``,
    ``p_current`` and ``p_charged_off`` over that horizon (the incumbent's policy after the
    plan's month), and the part of the horizon's recoveries and costs that comes from debt
    charged off within it (``after_charge_off``, ``after_charge_off_cost``: the agency and
    the debt sale, whenever they pay). Row-aligned with ``plan``."""
    cfg = portfolio.config
    if cfg is None:
        raise DataError("book: the truth is known only for a simulated book")
    plan = _check_plan(plan)
    amounts = _amounts(portfolio, plan, accounts)
    action = plan["action"].astype(str).to_numpy()
    if horizon_months is None:
        truth = collection_oracle(portfolio, plan)
        return _value(truth, amounts, action, cfg.action_costs)
    truth = collection_horizon(portfolio, plan, _check_horizon(horizon_months))
    return _value(truth, amounts, action, cfg.action_costs)


def evaluate_plan(
    portfolio: Portfolio,
    plan: pd.DataFrame,
    *,
    seed: int = 0,
    horizon_months: int | None = HORIZON_MONTHS,
) -> PlanEvaluation:
    """Score ``plan`` (``loan_id``, ``mob``, ``action``[, ``collector_id``]) and the
    incumbent's policy on the same account-months against the twin's truth, over the plan's
    month and over a horizon: ``horizon_months`` months, or (``None``) the loan's life.

    Examples
    --------
    >>> from creditfactory.data import SimulationConfig, simulate
    >>> book = simulate(SimulationConfig(n_applications=3_000, seed=1))
    >>> rows = book.collections[book.collections["bucket"] == "M1"].head(50)
    >>> everyone_sms = rows[["loan_id", "mob"]].assign(action="sms")
    >>> result = evaluate_plan(book, everyone_sms)
    >>> result.plan["cost"] == 50 * book.config.action_costs["sms"]
    True
    >>> result.plan["horizon_recovered"] > result.plan["recovered"]
    True
    """
    cfg = portfolio.config
    if cfg is None:
        raise DataError("book: the truth is known only for a simulated book")
    plan = _check_plan(plan).reset_index(drop=True)
    months = _check_horizon(horizon_months)
    accounts = account_months(portfolio)
    amounts = _amounts(portfolio, plan, accounts)
    bucket = amounts["bucket"].to_numpy(str)
    n = len(plan)

    # one pass of the twin's chain: the plan, then every action on the same accounts
    bare = plan[["loan_id", "mob"]]
    columns = [c for c in ("loan_id", "mob", "action", "collector_id") if c in plan.columns]
    stacked = pd.concat(
        [plan[columns], *(bare.assign(action=a) for a in ACTIONS)], ignore_index=True
    )
    truth = collection_horizon(portfolio, stacked, months)

    def chunk(i: int, action: np.ndarray) -> pd.DataFrame:
        part = truth.iloc[i * n : (i + 1) * n].reset_index(drop=True)
        return _value(part, amounts, action, cfg.action_costs)

    rows = chunk(0, plan["action"].to_numpy(str))
    by_action = {a: chunk(i + 1, np.full(n, a)) for i, a in enumerate(ACTIONS)}

    # the incumbent: its randomised shares by bucket, an average collector
    keys = ("cure_prob", "recovered", "cost", *_HORIZON_COLUMNS)
    incumbent = {k: np.zeros(n) for k in keys}
    for name, shares in cfg.collection_policy.items():
        sel = bucket == name
        for action, share in shares.items():
            for k in incumbent:
                incumbent[k][sel] += share * by_action[action][k].to_numpy()[sel]

    # the plan's own mix dealt at random within each bucket (its collectors ignored)
    rng = np.random.default_rng(seed)
    shuffled = plan["action"].to_numpy(str).copy()
    for name in np.unique(bucket):
        sel = np.flatnonzero(bucket == name)
        shuffled[sel] = rng.permutation(shuffled[sel])
    mix = {k: np.zeros(n) for k in keys}
    for action in ACTIONS:
        sel = shuffled == action
        for k in mix:
            mix[k][sel] = by_action[action][k].to_numpy()[sel]

    rows = rows.assign(
        bucket=bucket,
        incumbent_recovered=incumbent["recovered"],
        incumbent_cost=incumbent["cost"],
        incumbent_cure_prob=incumbent["cure_prob"],
        incumbent_horizon_recovered=incumbent["horizon_recovered"],
        incumbent_horizon_cost=incumbent["horizon_cost"],
    )
    spanned = float(truth["months"].max()) if n else 0.0
    return PlanEvaluation(
        _totals(rows, spanned),
        _totals(pd.DataFrame(incumbent), spanned),
        _totals(pd.DataFrame(mix), spanned),
        rows,
        "life" if months is None else f"{months} months",
    )


_HORIZON_COLUMNS = ("horizon_recovered", "horizon_cost", "p_current", "p_charged_off")


def _check_horizon(months: object) -> int | None:
    if months is None or (isinstance(months, str) and months == "life"):
        return None
    if isinstance(months, bool) or not isinstance(months, (int, np.integer)) or months < 1:
        raise DataError(
            f"horizon_months: must be a whole number of months >= 1 or 'life', got {months!r}"
        )
    return int(months)


def _totals(rows: pd.DataFrame, months: float) -> dict[str, float]:
    recovered = float(rows["recovered"].sum())
    cost = float(rows["cost"].sum())
    h_recovered = float(rows["horizon_recovered"].sum())
    h_cost = float(rows["horizon_cost"].sum())
    return {
        "accounts": float(len(rows)),
        "recovered": round(recovered, 2),
        "cost": round(cost, 2),
        "net_recovery": round(recovered - cost, 2),
        "cures": round(float(rows["cure_prob"].sum()), 2),
        "horizon_months": float(months),
        "horizon_recovered": round(h_recovered, 2),
        "horizon_cost": round(h_cost, 2),
        "horizon_net_recovery": round(h_recovered - h_cost, 2),
        "current_at_end": round(float(rows["p_current"].sum()), 2),
        "charged_off": round(float(rows["p_charged_off"].sum()), 2),
    }


def _value(
    truth: pd.DataFrame, amounts: pd.DataFrame, action: np.ndarray, costs: dict[str, float]
) -> pd.DataFrame:
    cure = truth["cure_prob"].to_numpy(float)
    pay = truth["pay_prob"].to_numpy(float)
    due = amounts["amount_due"].to_numpy(float)
    instalment = amounts["instalment"].to_numpy(float)
    recovered = cure * due + (pay - cure) * instalment
    cost = np.array([costs[a] for a in action], dtype=float)
    cost = cost + np.where(action == "agency", AGENCY_FEE * recovered, 0.0)
    out = pd.DataFrame(
        {
            "loan_id": truth["loan_id"].to_numpy(),
            "mob": truth["mob"].to_numpy(),
            "action": action,
            "cure_prob": cure,
            "pay_prob": pay,
            "recovered": recovered,
            "cost": cost,
            "net": recovered - cost,
        },
        index=truth.index,
    )
    if "horizon_cash" in truth.columns:
        # the plan's month as above; the months after it from the twin's chain
        later = truth["horizon_cash"].to_numpy(float) - truth["month_cash"].to_numpy(float)
        after = truth["recovery"].to_numpy(float)  # the written-off debt, after charge-off
        out["horizon_recovered"] = recovered + later + after
        out["horizon_cost"] = (
            cost + truth["later_cost"].to_numpy(float) + truth["recovery_cost"].to_numpy(float)
        )
        out["horizon_net"] = out["horizon_recovered"] - out["horizon_cost"]
        out["after_charge_off"] = after
        out["after_charge_off_cost"] = truth["recovery_cost"].to_numpy(float)
        out["p_current"] = truth["p_current"].to_numpy(float)
        out["p_charged_off"] = truth["p_charged_off"].to_numpy(float)
    return out


def _check_plan(plan: object) -> pd.DataFrame:
    if not isinstance(plan, pd.DataFrame):
        raise DataError(f"plan: expected a pandas DataFrame, got {type(plan).__name__}")
    missing = [c for c in ("loan_id", "mob", "action") if c not in plan.columns]
    if missing:
        raise DataError(f"plan: missing column(s) {missing}")
    if plan["action"].isna().any():
        raise DataError(f"plan: action is missing on {int(plan['action'].isna().sum())} row(s)")
    bad = sorted(set(plan["action"].astype(str)) - set(ACTIONS))
    if bad:
        raise DataError(f"plan: action: unknown value(s) {bad[:5]}; known: {list(ACTIONS)}")
    if plan.duplicated(["loan_id", "mob"]).any():
        raise DataError("plan: an account-month (loan_id, mob) appears more than once")
    return plan


def _amounts(
    portfolio: Portfolio, plan: pd.DataFrame, accounts: pd.DataFrame | None
) -> pd.DataFrame:
    accounts = accounts if accounts is not None else account_months(portfolio)
    key = pd.MultiIndex.from_arrays([accounts["loan_id"], accounts["mob"]])
    pos = key.get_indexer(
        pd.MultiIndex.from_arrays([plan["loan_id"].astype(str), plan["mob"].astype(np.int64)])
    )
    if (pos < 0).any():
        first = plan.iloc[int(np.flatnonzero(pos < 0)[0])]
        raise DataError(
            f"plan: {int((pos < 0).sum())} row(s) are not delinquent account-months of the book "
            f"before charge-off, e.g. loan_id={first['loan_id']!r}, mob={first['mob']}"
        )
    return accounts.iloc[pos][["bucket", "amount_due", "instalment"]].reset_index(drop=True)
