"""Queues: within capacity and skills, the highest expected net first."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from creditfactory.collections import Team, assign_queues, queue_summary
from creditfactory.exceptions import ConfigError, DataError


@pytest.fixture
def plan() -> pd.DataFrame:
    rng = np.random.default_rng(4)
    n = 300
    return pd.DataFrame(
        {
            "loan_id": [f"L{i:04d}" for i in range(n)],
            "action": rng.choice(["sms", "agent_call", "field_visit"], n, p=[0.3, 0.5, 0.2]),
            "expected_net": rng.gamma(2.0, 300.0, n).round(2),
        }
    )


def test_one_team_works_the_best_accounts_it_can(plan: pd.DataFrame) -> None:
    q = assign_queues(plan, [Team("calls", ("agent_call",), 40), Team("f", ("field_visit",), 0)])
    calls = plan[plan["action"] == "agent_call"]
    best = set(calls.nlargest(40, "expected_net")["loan_id"])
    assert set(q.loc[q["team"] == "calls", "loan_id"]) == best
    assert q.loc[q["action"] != "agent_call", "team"].isna().all()
    assert q["expected_net"].is_monotonic_decreasing
    worked = q[q["team"] == "calls"]
    assert worked["queue_rank"].tolist() == list(range(1, 41))


def test_capacity_and_skills_over_days(plan: pd.DataFrame) -> None:
    teams = [
        Team("seniors", ("agent_call", "field_visit"), 10),
        Team("callers", ("agent_call",), 30),
        Team("field", ("field_visit",), 5),
    ]
    q = assign_queues(plan, teams, days=3)
    used = q.dropna(subset=["team"]).groupby(["team", "day"]).size()
    for t in teams:
        assert (used.xs(t.name, level="team") <= t.capacity).all()
    skill = {t.name: set(t.actions) for t in teams}
    for _, row in q.dropna(subset=["team"]).iterrows():
        assert row["action"] in skill[row["team"]]
    # everything worked is worth at least what was left, action by action
    for action in ("agent_call", "field_visit"):
        rows = q[q["action"] == action]
        left = rows.loc[rows["team"].isna(), "expected_net"]
        if len(left):
            assert rows.loc[rows["team"].notna(), "expected_net"].min() >= left.max()
    # day 1 gets the best
    day = q.dropna(subset=["team"])
    assert (
        day.loc[day["day"] == 1, "expected_net"].min()
        >= day.loc[day["day"] == 3, "expected_net"].max()
    )
    summary = queue_summary(q)
    assert summary["accounts"].sum() == int(q["action"].isin(["agent_call", "field_visit"]).sum())


def test_bad_teams_and_plans() -> None:
    with pytest.raises(ConfigError, match=r"team 'x': actions \['email'\]"):
        Team("x", ("email",), 3)
    with pytest.raises(ConfigError, match="capacity must be >= 0"):
        Team("x", ("sms",), -1)
    plan = pd.DataFrame({"loan_id": ["a"], "action": ["field_visit"], "expected_net": [1.0]})
    with pytest.raises(ConfigError, match="no team can take 'field_visit'"):
        assign_queues(plan, [Team("calls", ("agent_call",), 3)])
    with pytest.raises(DataError, match=r"missing column\(s\) \['expected_net'\]"):
        assign_queues(plan.drop(columns="expected_net"), [])
    with pytest.raises(ConfigError, match="days: must be a whole number >= 1"):
        assign_queues(plan, [Team("f", ("field_visit",), 1)], days=0)
