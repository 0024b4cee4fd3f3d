"""``LoanEconomics``: what the lifetime cash-flow model assumes besides the loan and its PD."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field, fields
from typing import Any

from creditfactory.exceptions import ConfigError
from creditfactory.pricing._formulas import COST_OF_FUNDS, LGD

BAD_WINDOW = 12  # months on book of the bad definition that ``pd`` refers to

#: Relative monthly default intensity by month on book: (first month, intensity); the last
#: segment runs to maturity. Months 1-3 carry first-payment default and early fraud.
DEFAULT_TIMING: tuple[tuple[int, float], ...] = (
    (1, 1.6),
    (4, 1.1),
    (7, 0.7),
    (13, 0.45),
    (25, 0.3),
)


def _segments_of(eco: Any) -> tuple[tuple[int, float, float], ...]:
    """(first month, last month or inf, per-month weight) of each segment; the weights over
    months 1-12 sum to 1."""
    firsts = [m for m, _ in eco.default_timing]
    lasts = [m - 1.0 for m in firsts[1:]] + [math.inf]
    span12 = sum(
        max(min(BAD_WINDOW, last) - first + 1, 0) * w
        for (first, w), last in zip(eco.default_timing, lasts, strict=True)
    )
    return tuple(
        (first, last, w / span12)
        for (first, w), last in zip(eco.default_timing, lasts, strict=True)
    )


@dataclass(frozen=True)
class LoanEconomics:
    """Everything the lifetime model assumes besides the loan and its ``pd``.

    Defaults follow ``shared/DOMAIN.md`` (all overridable): LGD 0.75 of the exposure, recovered
    over a year from the third month after default; 2% of open loans prepay each month (about a
    fifth of 12-month and half of 36-month loans repay early); 60 CNY to book a loan, 4 CNY a
    month to service it, 30 CNY of acquisition and bureau cost per application with half of the
    applications becoming loans; no fees.

    >>> LoanEconomics().cost_of_funds
    0.04
    """

    cost_of_funds: float = COST_OF_FUNDS  # annual, on the outstanding balance
    lgd: float = LGD  # share of the exposure at default never recovered
    recovery_lag: int = 3  # months from default to the first recovery
    recovery_months: int = 12  # recoveries arrive in equal parts over these months
    prepayment: float = 0.02  # monthly probability that a performing loan repays early
    cost_per_loan: float = 60.0  # CNY, when the loan is booked
    cost_per_month: float = 4.0  # CNY, each month the loan is open
    cost_per_application: float = 30.0  # CNY of acquisition and bureau data per application
    take_up: float = 0.5  # booked loans per application: spreads the application cost
    fee_upfront: float = 0.0  # share of the amount withheld at disbursement
    fee_monthly: float = 0.0  # share of the amount charged with each instalment
    default_timing: tuple[tuple[int, float], ...] = DEFAULT_TIMING
    _segments: tuple[tuple[int, float, float], ...] = field(
        init=False, repr=False, compare=False, default=()
    )
    #: per term, what the solvers need of these economics (``_solve.plan``), filled on use
    _plans: dict[Any, Any] = field(init=False, repr=False, compare=False, default_factory=dict)
    #: per (term, target), the online APR's table (``_table``) or the prices asked so far
    _tables: dict[Any, Any] = field(init=False, repr=False, compare=False, default_factory=dict)

    def __post_init__(self) -> None:
        checks = {
            "cost_of_funds": 0.0 <= self.cost_of_funds < 1.0,
            "lgd": 0.0 <= self.lgd <= 1.0,
            "recovery_lag": self.recovery_lag >= 1,
            "recovery_months": self.recovery_months >= 1,
            "prepayment": 0.0 <= self.prepayment < 1.0,
            "cost_per_loan": self.cost_per_loan >= 0.0,
            "cost_per_month": self.cost_per_month >= 0.0,
            "cost_per_application": self.cost_per_application >= 0.0,
            "take_up": 0.0 < self.take_up <= 1.0,
            "fee_upfront": 0.0 <= self.fee_upfront < 1.0,
            "fee_monthly": 0.0 <= self.fee_monthly < 1.0,
        }
        for f in fields(self):
            ok = checks.get(f.name, True)
            value = getattr(self, f.name)
            if not ok or (isinstance(value, float) and not math.isfinite(value)):
                raise ConfigError(f"LoanEconomics.{f.name}: {value!r} is out of range")
        timing = self.default_timing
        firsts = [m for m, _ in timing]
        if (
            not timing
            or firsts[0] != 1
            or any(b <= a for a, b in itertools.pairwise(firsts))
            or any(not (w > 0 and math.isfinite(w)) for _, w in timing)
        ):
            raise ConfigError(
                "LoanEconomics.default_timing: (first month, intensity) pairs starting at "
                "month 1, first months increasing, intensities positive"
            )
        object.__setattr__(self, "_segments", _segments_of(self))

    @property
    def acquisition_per_loan(self) -> float:
        """Acquisition and bureau cost borne by one booked loan."""
        return self.cost_per_application / self.take_up


DEFAULT_ECONOMICS = LoanEconomics()
