"""Servicing the book: delinquency, vintages, roll and flow rates, loss, behaviour scores and
limit management.

Pure functions over the ``performance`` table (one row per loan and month on book, with
``loan_id``, ``mob``, ``month``, ``dpd``, ``bucket`` and balances) and the ``loans`` table,
whether simulated or real (see ``docs/servicing.md`` for the columns a real book needs).

Loans one by one, as the service books them: terms from an approved decision, schedules by
repayment method, payments allocated penalty, fees, interest, principal, early settlement, and
DPD, bucket and balances as of any date (``loan_position``), all in integer fen.
"""

import typing

from creditfactory import _lazy_exports

if typing.TYPE_CHECKING:
    from creditfactory.servicing._analysis import PortfolioAnalysis, analyse_portfolio
    from creditfactory.servicing._behaviour import (
        FEATURES,
        behaviour_dataset,
        behaviour_features,
        behaviour_outcome,
    )
    from creditfactory.servicing._book import (
        LOANS_SCHEMA,
        PERFORMANCE_SCHEMA,
        ServicingBook,
        book_from_portfolio,
        book_from_tables,
        read_book,
    )
    from creditfactory.servicing._bscore import BehaviourScore, fit_behaviour_score
    from creditfactory.servicing._delinquency import (
        delinquency_by_mob,
        exposure,
        roll_rates,
        vintage_curves,
    )
    from creditfactory.servicing._flows import (
        CHAIN,
        bucket_balances,
        charge_off_pd,
        delinquency_by_segment,
        expected_loss,
        expected_loss_by_bucket,
        flow_rates,
        net_flow_to_charge_off,
    )
    from creditfactory.servicing._limits import (
        ACTIONS,
        LimitSimulation,
        limit_decisions,
        simulate_limit_strategy,
    )
    from creditfactory.servicing._loan import (
        METHODS,
        Instalment,
        LoanTerms,
        add_months,
        schedule,
        terms_from_decision,
        to_cny,
        to_fen,
    )
    from creditfactory.servicing._loan_book import BookLoan, book_loans
    from creditfactory.servicing._loan_position import (
        BUCKETS,
        Allocation,
        InstalmentState,
        LoanPosition,
        Payment,
        bucket_of,
        loan_position,
        loan_positions,
        settlement_amount,
    )
    from creditfactory.servicing._report import portfolio_report

__all__ = [
    "ACTIONS",
    "BUCKETS",
    "CHAIN",
    "FEATURES",
    "LOANS_SCHEMA",
    "METHODS",
    "PERFORMANCE_SCHEMA",
    "Allocation",
    "BehaviourScore",
    "BookLoan",
    "Instalment",
    "InstalmentState",
    "LimitSimulation",
    "LoanPosition",
    "LoanTerms",
    "Payment",
    "PortfolioAnalysis",
    "ServicingBook",
    "add_months",
    "analyse_portfolio",
    "behaviour_dataset",
    "behaviour_features",
    "behaviour_outcome",
    "book_from_portfolio",
    "book_from_tables",
    "book_loans",
    "bucket_balances",
    "bucket_of",
    "charge_off_pd",
    "delinquency_by_mob",
    "delinquency_by_segment",
    "expected_loss",
    "expected_loss_by_bucket",
    "exposure",
    "fit_behaviour_score",
    "flow_rates",
    "limit_decisions",
    "loan_position",
    "loan_positions",
    "net_flow_to_charge_off",
    "portfolio_report",
    "read_book",
    "roll_rates",
    "schedule",
    "settlement_amount",
    "simulate_limit_strategy",
    "terms_from_decision",
    "to_cny",
    "to_fen",
    "vintage_curves",
]

if not typing.TYPE_CHECKING:  # each name is imported from its module on first use
    __getattr__, __dir__ = _lazy_exports(__name__)
