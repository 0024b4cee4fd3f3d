"""Collections (催收): collection scores, score-driven strategies, queues, league tables.

``account_months`` lays out every delinquent account-month of a book with what a collector
knows at the start of the month; ``CollectionScores`` fits early (M1) and late (M2+) scores of
cure and of payment within the month with the scorecard toolkit; ``plan_collections`` runs a
collection strategy (the decision language, champion/challenger included) over a month's
accounts; ``assign_queues`` deals calls and visits to teams within capacity, best first;
``league_table`` ranks collectors risk-adjusted; ``action_response`` reads what each action
did off the incumbent's randomised history; ``evaluate_plan`` scores a plan and the incumbent's
policy against the twin's truth, over the month and over a horizon of months.
"""

import typing

from creditfactory import _lazy_exports

if typing.TYPE_CHECKING:
    from creditfactory.collections._accounts import (
        APPLICATION_FEATURES,
        BUCKETS,
        FEATURES,
        HISTORY_FEATURES,
        account_months,
        last_month,
        month_start,
    )
    from creditfactory.collections._evaluate import (
        ACTIONS,
        AGENCY_FEE,
        HORIZON_FIGURES,
        HORIZON_MONTHS,
        PlanEvaluation,
        evaluate_plan,
        true_values,
    )
    from creditfactory.collections._league import league_table, wilson
    from creditfactory.collections._plan import (
        DEFAULT_ACTION_COSTS,
        PLAN_COLUMNS,
        STRATEGY_INPUTS,
        action_costs,
        plan_collections,
        scored_history,
    )
    from creditfactory.collections._queues import PERSONAL, Team, assign_queues, queue_summary
    from creditfactory.collections._response import action_response
    from creditfactory.collections._scores import STAGES, TARGETS, CollectionScores

__all__ = [
    "ACTIONS",
    "AGENCY_FEE",
    "APPLICATION_FEATURES",
    "BUCKETS",
    "DEFAULT_ACTION_COSTS",
    "FEATURES",
    "HISTORY_FEATURES",
    "HORIZON_FIGURES",
    "HORIZON_MONTHS",
    "PERSONAL",
    "PLAN_COLUMNS",
    "STAGES",
    "STRATEGY_INPUTS",
    "TARGETS",
    "CollectionScores",
    "PlanEvaluation",
    "Team",
    "account_months",
    "action_costs",
    "action_response",
    "assign_queues",
    "evaluate_plan",
    "last_month",
    "league_table",
    "month_start",
    "plan_collections",
    "queue_summary",
    "scored_history",
    "true_values",
    "wilson",
]

if not typing.TYPE_CHECKING:  # each name is imported from its module on first use
    __getattr__, __dir__ = _lazy_exports(__name__)
