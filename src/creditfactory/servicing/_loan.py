"""A loan in the service: its terms and its repayment schedule, in integer fen.

Money is held in integer fen (分, 0.01 CNY) and rates as :class:`~decimal.Decimal`, so no float
drift enters a balance. Each month's interest is the outstanding principal times ``apr / 12``,
rounded half up to the fen (四舍五入); the last instalment takes whatever principal is left, so
the principal column sums to the amount lent exactly. The three repayment methods:

- ``equal_instalment`` (等额本息): a level payment ``P r / (1 - (1 + r)^-n)`` rounded to the fen;
- ``equal_principal`` (等额本金): ``P / n`` of principal each month plus that month's interest;
- ``interest_only`` (先息后本): interest each month and the principal with the last instalment.

Due dates fall on the day of the month the loan was disbursed, months later (days after the 28th
move to the 28th, as in the simulator), the first one month after disbursement.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from creditfactory.exceptions import DataError

METHODS: tuple[str, ...] = ("equal_instalment", "equal_principal", "interest_only")
PENALTY_FACTOR = Decimal("1.5")
"""Default penalty interest (罚息) rate: the contract APR plus 50%, on overdue principal and
interest, accrued daily (simple interest, actual/365)."""


def round_fen(value: Decimal) -> int:
    """A Decimal amount of fen rounded half up to a whole fen.

    Examples
    --------
    >>> round_fen(Decimal("2.5")), round_fen(Decimal("-2.5")), round_fen(Decimal("2.49"))
    (3, -3, 2)
    """
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def to_fen(amount: Any, field_name: str = "amount") -> int:
    """An amount in CNY (number or numeric text) as whole fen; more than two decimals, a
    non-finite or a non-numeric value is an error naming ``field_name``.

    Examples
    --------
    >>> to_fen("1066.19"), to_fen(12000), to_fen(0.1)
    (106619, 1200000, 10)
    """
    if isinstance(amount, bool):
        raise DataError(f"{field_name}: must be an amount in CNY, got {amount!r}")
    try:
        value = Decimal(str(amount)) * 100
    except (InvalidOperation, ValueError) as exc:
        raise DataError(f"{field_name}: must be an amount in CNY, got {amount!r}") from exc
    if not value.is_finite():
        raise DataError(f"{field_name}: must be a finite amount, got {amount!r}")
    if value != value.to_integral_value():
        raise DataError(f"{field_name}: has more than two decimals (fen), got {amount!r}")
    return int(value)


def to_cny(fen: int) -> Decimal:
    """Whole fen as a Decimal amount of CNY with two decimals (``to_cny(106619)`` is 1066.19)."""
    return (Decimal(fen) / 100).quantize(Decimal("0.01"))


def add_months(day: date, months: int) -> date:
    """The same day of the month ``months`` later; days after the 28th move to the 28th.

    Examples
    --------
    >>> add_months(date(2026, 1, 31), 1), add_months(date(2026, 11, 5), 3)
    (datetime.date(2026, 2, 28), datetime.date(2027, 2, 5))
    """
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, min(day.day, 28))


@dataclass(frozen=True)
class Instalment:
    """One line of a schedule (amounts in fen)."""

    no: int
    due_date: date
    payment: int
    principal: int
    interest: int
    balance_after: int


@dataclass(frozen=True)
class LoanTerms:
    """What a loan was lent on: amount (fen), APR, term (months), repayment method, the day it
    was disbursed, the annual penalty rate on overdue amounts and a late fee (fen) charged once
    per instalment that falls overdue."""

    principal: int
    apr: Decimal
    term: int
    method: str = "equal_instalment"
    disbursed_on: date = field(default_factory=date.today)
    penalty_rate: Decimal | None = None  # None: PENALTY_FACTOR x apr
    late_fee: int = 0

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise DataError(f"method: {self.method!r} is not one of {', '.join(METHODS)}")
        if isinstance(self.principal, bool) or not isinstance(self.principal, int):
            raise DataError(f"amount: must be whole fen, got {self.principal!r}")
        if self.principal <= 0:
            raise DataError(f"amount: must be positive, got {to_cny(self.principal)}")
        if not isinstance(self.apr, Decimal) or not self.apr.is_finite() or self.apr < 0:
            raise DataError(f"apr: must be a non-negative fraction, got {self.apr!r}")
        if isinstance(self.term, bool) or not isinstance(self.term, int) or self.term < 1:
            raise DataError(f"term: must be a whole number of months >= 1, got {self.term!r}")
        if self.penalty_rate is not None and (
            not self.penalty_rate.is_finite() or self.penalty_rate < 0
        ):
            raise DataError(
                f"penalty_rate: must be a non-negative fraction, got {self.penalty_rate!r}"
            )
        if self.late_fee < 0:
            raise DataError(f"late_fee: must not be negative, got {self.late_fee!r}")

    @property
    def monthly_rate(self) -> Decimal:
        return self.apr / 12

    @property
    def annual_penalty_rate(self) -> Decimal:
        return self.apr * PENALTY_FACTOR if self.penalty_rate is None else self.penalty_rate

    def due_date(self, no: int) -> date:
        """The due date of instalment ``no`` (1-based; past the term: the monthly cycle goes on)."""
        return add_months(self.disbursed_on, no)

    @property
    def maturity(self) -> date:
        return self.due_date(self.term)


def level_payment(principal: int, monthly_rate: Decimal, term: int) -> int:
    """The equal instalment (fen) of ``principal`` fen over ``term`` months at ``monthly_rate``."""
    if monthly_rate == 0:
        return round_fen(Decimal(principal) / term)
    return round_fen(Decimal(principal) * monthly_rate / (1 - (1 + monthly_rate) ** -term))


def schedule(terms: LoanTerms) -> tuple[Instalment, ...]:
    """The repayment schedule of a loan (see the module's docstring for the rules).

    Examples
    --------
    >>> t = LoanTerms(1_200_000, Decimal("0.12"), 12, disbursed_on=date(2026, 1, 15))
    >>> s = schedule(t)
    >>> s[0].payment, s[0].interest, s[-1].balance_after, sum(i.principal for i in s)
    (106619, 12000, 0, 1200000)
    """
    r = terms.monthly_rate
    n = terms.term
    level = level_payment(terms.principal, r, n)
    even = round_fen(Decimal(terms.principal) / n)
    balance = terms.principal
    out: list[Instalment] = []
    for k in range(1, n + 1):
        interest = round_fen(balance * r)
        if k == n:
            princ = balance
        elif terms.method == "equal_instalment":
            princ = min(max(level - interest, 0), balance)
        elif terms.method == "equal_principal":
            princ = min(even, balance)
        else:
            princ = 0
        balance -= princ
        out.append(Instalment(k, terms.due_date(k), princ + interest, princ, interest, balance))
    return tuple(out)


def decimal_rate(value: Any, field_name: str) -> Decimal:
    """A rate (a float from a decision, text or Decimal) as a Decimal from its shortest text."""
    try:
        out = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise DataError(f"{field_name}: must be a number, got {value!r}") from exc
    if not out.is_finite() or out < 0:
        raise DataError(f"{field_name}: must be a non-negative number, got {value!r}")
    return out


def terms_from_decision(
    decision: Mapping[str, Any],
    amount: int | None = None,
    method: str = "equal_instalment",
    disbursed_on: date | None = None,
    late_fee: int = 0,
) -> LoanTerms:
    """The terms of a loan disbursed from an approved decision: ``amount`` (fen; default the
    whole limit) within the decision's ``limit`` (CNY), its ``apr`` and ``term``.

    Raises
    ------
    DataError
        The decision is not an approval (``decision``), carries no limit, APR or term, or the
        amount is not positive or exceeds the limit (``amount``).

    Examples
    --------
    >>> d = {"decision": "approve", "limit": 20000.0, "apr": 0.18, "term": 12}
    >>> t = terms_from_decision(d, 1_500_000, disbursed_on=date(2026, 3, 1))
    >>> t.principal, t.apr, t.term
    (1500000, Decimal('0.18'), 12)
    """
    if decision.get("decision") != "approve":
        raise DataError(
            f"decision: a loan needs an approved decision, this one is {decision.get('decision')!r}"
        )
    for name in ("limit", "apr", "term"):
        if decision.get(name) is None:
            raise DataError(f"{name}: the approved decision carries no {name}")
    limit = to_fen(round(float(decision["limit"]), 2), "limit")
    principal = limit if amount is None else amount
    if principal <= 0:
        raise DataError(f"amount: must be positive, got {to_cny(principal)}")
    if principal > limit:
        raise DataError(
            f"amount: {to_cny(principal)} exceeds the decision's limit of {to_cny(limit)}"
        )
    return LoanTerms(
        principal=principal,
        apr=decimal_rate(decision["apr"], "apr"),
        term=int(decision["term"]),
        method=method,
        disbursed_on=disbursed_on or date.today(),
        late_fee=late_fee,
    )
