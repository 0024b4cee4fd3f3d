"""A month's collection plan: score the delinquent accounts, let a strategy choose the actions.

The strategy is a decision strategy (:class:`creditfactory.decision.Strategy`, the same YAML
language as origination) whose inputs are an account-month's figures and scores and whose
declared output ``action`` names one of :data:`ACTIONS`; ``split`` steps give
champion/challenger arms. The plan then carries the lender's own estimate of each action's
value: the expected cash of the month from the scores, less the action's cost.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from creditfactory.collections._accounts import FEATURES, account_months, last_month, month_start
from creditfactory.collections._evaluate import ACTIONS, AGENCY_FEE
from creditfactory.collections._scores import CollectionScores
from creditfactory.decision import Strategy
from creditfactory.exceptions import DataError, StrategyError

DEFAULT_ACTION_COSTS: dict[str, float] = {
    "sms": 0.05,
    "robo_call": 0.6,
    "agent_call": 8.0,
    "field_visit": 150.0,
    "agency": 20.0,
    "legal": 900.0,
}
"""Cost per account-month of each action (CNY), for a book that does not say its own (a
simulated book's are its ``config.action_costs``)."""

STRATEGY_INPUTS: tuple[str, ...] = (
    "loan_id",
    "bucket",
    "bucket_number",
    "mob",
    "months_in_episode",
    "amount_due",
    "balance",
    "instalment",
    "product",
    "prior_cures",
    "prior_promises_kept",
    "cure_score",
    "p_cure",
    "pay_score",
    "p_pay",
)
"""What a collection strategy may declare as inputs, besides the scores' characteristics
(:data:`creditfactory.collections.FEATURES`, for ``model`` steps that call the scores from
:meth:`CollectionScores.registry`)."""

PLAN_COLUMNS: tuple[str, ...] = (
    "loan_id",
    "mob",
    "month",
    "bucket",
    "amount_due",
    "balance",
    "instalment",
    "cure_score",
    "p_cure",
    "pay_score",
    "p_pay",
    "action",
    "arm",
    "expected_recovery",
    "action_cost",
    "expected_net",
    "strategy",
    "version",
)


def action_costs(portfolio: object, costs: Mapping[str, float] | None = None) -> dict[str, float]:
    """The cost of each action: ``costs`` if given, else the book's (a simulated book's
    config), else :data:`DEFAULT_ACTION_COSTS`."""
    if costs is None:
        cfg = getattr(portfolio, "config", None)
        costs = cfg.action_costs if cfg is not None else DEFAULT_ACTION_COSTS
    missing = [a for a in ACTIONS if a not in costs]
    if missing:
        raise DataError(f"costs: missing action(s) {missing}")
    out = {a: float(costs[a]) for a in ACTIONS}
    bad = [a for a, c in out.items() if not np.isfinite(c) or c < 0]
    if bad:
        raise DataError(f"costs: {bad[0]}: must be a non-negative number")
    return out


def plan_collections(
    portfolio: object,
    strategy: Strategy,
    *,
    as_of: str | dt.date | None = None,
    scores: CollectionScores | None = None,
    costs: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """The collection plan of one month: every account delinquent (before charge-off) at its
    start, its scores and the action the strategy gives it.

    Parameters
    ----------
    portfolio : Portfolio
        The book (simulated or real tables of the same shape).
    strategy : Strategy
        A collection strategy: declared output ``action`` (see :data:`STRATEGY_INPUTS`).
    as_of : str or date, optional
        The month to plan, ``YYYY-MM`` (default: the book's last month).
    scores : CollectionScores, optional
        Fitted scores; by default fitted on the book's account-months before ``as_of``.
    costs : mapping, optional
        Cost per action (default: :func:`action_costs`).

    Returns
    -------
    pandas.DataFrame
        :data:`PLAN_COLUMNS`, one row per account, highest ``expected_net`` first.
    """
    if not isinstance(strategy, Strategy):
        raise StrategyError(f"strategy: expected a Strategy, got {type(strategy).__name__}")
    if "action" not in strategy.outputs:
        raise StrategyError(
            f"strategy {strategy.name!r}: a collection strategy must declare the output 'action'"
        )
    known = dict.fromkeys([*STRATEGY_INPUTS, *FEATURES])
    unknown = [s.name for s in strategy.inputs if s.name not in known]
    if unknown:
        raise StrategyError(
            f"strategy {strategy.name!r}: input(s) {unknown} are not account figures a plan "
            f"gives; known: {list(known)}"
        )
    price = action_costs(portfolio, costs)
    accounts = account_months(portfolio)
    month = month_start(as_of) if as_of is not None else last_month(portfolio)
    stamp = pd.Timestamp(month)
    now = accounts[accounts["month"] == stamp].reset_index(drop=True)
    if now.empty:
        raise DataError(f"as_of: no delinquent account in {month:%Y-%m}")
    if scores is None:
        scores = CollectionScores().fit(accounts[accounts["month"] < stamp])
    now = pd.concat([now, scores.predict(now)], axis=1)

    decided = strategy.decide_batch(now[[c for c in known if c in now.columns]])
    errors = decided["error"].notna().to_numpy()
    if errors.any():
        i = int(np.flatnonzero(errors)[0])
        raise DataError(
            f"strategy {strategy.name!r}: {int(errors.sum())} account(s) do not match its "
            f"inputs, e.g. loan_id={now['loan_id'].iloc[i]!r}: {decided['error'].iloc[i]}"
        )
    action = decided["action"].astype(object).to_numpy()
    bad = np.array([a not in ACTIONS for a in action])
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise StrategyError(
            f"strategy {strategy.name!r}: action {action[i]!r} for loan_id="
            f"{now['loan_id'].iloc[i]!r} ({int(bad.sum())} account(s)) is not one of "
            f"{list(ACTIONS)}"
        )
    action = action.astype(str)
    recovery = _expected_recovery(now)
    cost = np.array([price[a] for a in action]) + np.where(
        action == "agency", AGENCY_FEE * recovery, 0.0
    )
    plan = now.assign(
        action=action,
        arm=[_arm(t) for t in decided["trace"]],
        expected_recovery=np.round(recovery, 2),
        action_cost=np.round(cost, 2),
        expected_net=np.round(recovery - cost, 2),
        strategy=strategy.name,
        version=strategy.version,
    )[list(PLAN_COLUMNS)]
    order = np.lexsort((plan["loan_id"].to_numpy(), -plan["expected_net"].to_numpy()))
    return plan.iloc[order].reset_index(drop=True)


def scored_history(
    portfolio: object,
    *,
    before: str | dt.date | None = None,
    scores: CollectionScores | None = None,
) -> pd.DataFrame:
    """The book's worked account-months (before ``before``, default all) with their outcomes,
    the collection scores (``cure_score``, ``p_cure``, ``pay_score``, ``p_pay``) and the
    score's ``expected_recovery``: the input of :func:`league_table`. The scores are fitted
    on the same months unless given."""
    accounts = account_months(portfolio)
    if before is not None:
        accounts = accounts[accounts["month"] < pd.Timestamp(month_start(before))]
        accounts = accounts.reset_index(drop=True)
    if accounts.empty:
        raise DataError("history: no delinquent account-month before that month")
    if scores is None:
        scores = CollectionScores().fit(accounts)
    out = pd.concat([accounts, scores.predict(accounts)], axis=1)
    out["expected_recovery"] = _expected_recovery(out)
    return out


def _expected_recovery(frame: pd.DataFrame) -> np.ndarray:
    """The month's expected cash: a cure pays everything due, a partial one instalment."""
    cure = frame["p_cure"].to_numpy(float)
    pay = np.maximum(frame["p_pay"].to_numpy(float), cure)
    due = frame["amount_due"].to_numpy(float)
    return cure * due + (pay - cure) * frame["instalment"].to_numpy(float)


def _arm(trace: Any) -> str | None:
    """The champion/challenger arm a row went to (``split:arm`` in its trace), if any."""
    arms = [str(s).split(":", 1)[1] for s in list(trace) if ":" in str(s)]
    return "/".join(arms) if arms else None
