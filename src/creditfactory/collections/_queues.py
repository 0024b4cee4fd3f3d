"""Daily work queues: a plan's personal actions dealt to collector teams within capacity and
skills, the highest expected recovery net of cost first.

Actions that need no collector (SMS, robo-calls) go out to everyone planned; agency and legal
placements go to the agency and the legal team, which the plan does not ration. Calls and field
visits are worked by teams: each team has the actions it is skilled for and how many accounts
it can work a day. Each day the best remaining account (by ``expected_net``) goes to the first
team, in the order given, that can take its action and still has room; what no team can take
within ``days`` is left unassigned (``team`` null), the least valuable first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from creditfactory.collections._evaluate import ACTIONS
from creditfactory.exceptions import ConfigError, DataError

PERSONAL: tuple[str, ...] = ("agent_call", "field_visit")
"""Actions a collector team works by hand (the others need no queue)."""


@dataclass(frozen=True)
class Team:
    """A collector team: its ``name``, the ``actions`` it is skilled for and its ``capacity``
    (accounts a day).

    >>> Team("early-callers", ("agent_call",), 120).capacity
    120
    """

    name: str
    actions: tuple[str, ...]
    capacity: int

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ConfigError("team: name must be non-empty text")
        if isinstance(self.actions, str):
            object.__setattr__(self, "actions", (self.actions,))
        bad = [a for a in self.actions if a not in ACTIONS]
        if bad or not self.actions:
            raise ConfigError(
                f"team {self.name!r}: actions {bad or '[]'} are not among {list(ACTIONS)}"
            )
        if isinstance(self.capacity, bool) or not isinstance(self.capacity, int | np.integer):
            raise ConfigError(f"team {self.name!r}: capacity must be a whole number")
        if self.capacity < 0:
            raise ConfigError(f"team {self.name!r}: capacity must be >= 0")


def assign_queues(plan: pd.DataFrame, teams: Sequence[Team], *, days: int = 1) -> pd.DataFrame:
    """Deal the plan's calls and visits to teams, day by day.

    Parameters
    ----------
    plan : pandas.DataFrame
        ``loan_id``, ``action`` and ``expected_net`` (as from ``plan_collections``).
    teams : sequence of Team
        In order of preference: an account goes to the first team that can take it.
    days : int, default 1
        Working days to fill.

    Returns
    -------
    pandas.DataFrame
        The plan's rows with ``team`` (null: not worked within ``days``, or no queue needed),
        ``day`` (1-based, null when not queued) and ``queue_rank`` (position in the team's
        day, from 1), ordered by ``expected_net`` (highest first).

    Examples
    --------
    >>> plan = pd.DataFrame({"loan_id": ["a", "b", "c"], "action": ["agent_call"] * 3,
    ...                      "expected_net": [10.0, 30.0, 20.0]})
    >>> assign_queues(plan, [Team("calls", ("agent_call",), 2)])["team"].tolist()
    ['calls', 'calls', None]
    """
    if not isinstance(plan, pd.DataFrame):
        raise DataError(f"plan: expected a pandas DataFrame, got {type(plan).__name__}")
    missing = [c for c in ("loan_id", "action", "expected_net") if c not in plan.columns]
    if missing:
        raise DataError(f"plan: missing column(s) {missing}")
    value = pd.to_numeric(plan["expected_net"], errors="coerce")
    if value.isna().any():
        raise DataError("plan: expected_net must be a number on every row")
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise ConfigError(f"days: must be a whole number >= 1, got {days!r}")
    teams = list(teams)
    names = [t.name for t in teams]
    if len(set(names)) != len(names):
        raise ConfigError("teams: two teams have the same name")

    order = np.lexsort((plan["loan_id"].astype(str).to_numpy(), -value.to_numpy()))
    out = plan.iloc[order].reset_index(drop=True)
    action = out["action"].astype(str).to_numpy()
    team = np.full(len(out), None, dtype=object)
    day = np.full(len(out), -1, dtype=np.int64)
    rank = np.full(len(out), -1, dtype=np.int64)
    for a in PERSONAL:
        able = [t for t in teams if a in t.actions]
        rows = np.flatnonzero(action == a)
        if len(rows) and not able:
            raise ConfigError(f"teams: no team can take {a!r}, which the plan gives")
    # one slot list per (day, team, place), in dealing order; the accounts, best first, take
    # the first free slot of a team able to work them
    used = {(d, t.name): 0 for d in range(1, days + 1) for t in teams}
    for i in np.flatnonzero(np.isin(action, PERSONAL)):
        for d in range(1, days + 1):
            placed = False
            for t in teams:
                if action[i] in t.actions and used[(d, t.name)] < t.capacity:
                    used[(d, t.name)] += 1
                    team[i], day[i], rank[i] = t.name, d, used[(d, t.name)]
                    placed = True
                    break
            if placed:
                break
    out["team"] = pd.Series(team, dtype=object)
    out["day"] = pd.Series(day).where(day > 0).astype("Int64")
    out["queue_rank"] = pd.Series(rank).where(rank > 0).astype("Int64")
    return out


def queue_summary(queues: pd.DataFrame) -> pd.DataFrame:
    """Accounts and expected net recovery by team and day, and what was left unworked."""
    q = queues[queues["action"].astype(str).isin(PERSONAL)]
    key = q["team"].fillna("(unassigned)")
    return (
        q.assign(team=key)
        .groupby(["team", "day"], dropna=False)
        .agg(accounts=("loan_id", "size"), expected_net=("expected_net", "sum"))
        .reset_index()
    )
