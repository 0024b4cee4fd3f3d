"""Payments, delinquency and balances of a loan as of any date, by replaying its events.

A loan's position is a pure function of its terms, its payments and its write-off: the events
are replayed in date order, in integer fen. On one day, in this order:

1. the instalment due that day becomes payable (credit held from over-payments is applied to it);
2. payments of that day are posted, in the order given;
3. an instalment whose due date has passed unpaid is **overdue** from the next day: its unpaid
   principal and interest accrue penalty interest (罚息, simple, actual/365, at the terms'
   penalty rate) and it is charged the late fee once;
4. a write-off of that day writes off what is still owed.

**Allocation order** of a payment: penalty interest, then fees, then every instalment due on or
before the payment day, oldest first, its interest and then its principal. What is left is held as
credit and applied to the next instalments on their due dates. A payment that, with the credit,
covers the **early-settlement amount** (everything due, penalty and fees, the principal not yet
due and the interest accrued on it since the last due date, pro rata by days) settles the loan:
the excess, if any, is recorded as over-paid (to refund). A payment after a write-off is a
recovery; after the loan is closed, it is over-paid.

**Delinquency** as of a date ``D`` (events of ``D`` included): an instalment is overdue when its
due date is before ``D`` and its principal and interest are not paid (more than ``tolerance``
fen unpaid). ``dpd`` counts the days from the oldest overdue due date to ``D``;
``instalments_overdue`` counts overdue instalments; the **bucket** counts monthly cycles since the
oldest overdue due date (due dates, continuing monthly past maturity): M0 (none), M1 … M5, M6+,
and ``charged_off`` once written off. Before maturity the cycles are the overdue instalments.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from creditfactory.exceptions import DataError
from creditfactory.servicing._loan import Instalment, LoanTerms, round_fen, schedule

BUCKETS: tuple[str, ...] = ("M0", "M1", "M2", "M3", "M4", "M5", "M6+", "charged_off")
WRITE_OFF_CYCLES = 7
"""An account in M6+ that misses one more cycle is due for write-off (as in the simulator)."""
STATUSES: tuple[str, ...] = ("current", "delinquent", "closed", "charged_off")


@dataclass(frozen=True)
class Payment:
    """A payment received (``amount`` in fen) on ``paid_on``."""

    paid_on: date
    amount: int
    reference: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int) or self.amount <= 0:
            raise DataError(
                f"amount: a payment must be a positive number of fen, got {self.amount!r}"
            )


@dataclass(frozen=True)
class Allocation:
    """Where one payment went (fen): ``credit`` is held for the next instalments, ``overpaid``
    is to be refunded, ``recovered`` went to a written-off balance."""

    paid_on: date
    amount: int
    reference: str | None
    penalty: int = 0
    fees: int = 0
    interest: int = 0
    principal: int = 0
    credit: int = 0
    overpaid: int = 0
    recovered: int = 0
    settled: bool = False


@dataclass(frozen=True)
class InstalmentState:
    """One instalment as of the position's date: what was paid and what it is."""

    no: int
    due_date: date
    payment: int
    principal: int
    interest: int
    paid_principal: int
    paid_interest: int
    state: str  # paid | overdue | due | future | settled (early) | written_off | waived


@dataclass(frozen=True)
class LoanPosition:
    """A loan as of a date (amounts in fen); see the module's docstring for the definitions."""

    as_of: date
    status: str
    dpd: int
    instalments_overdue: int
    cycles: int
    bucket: str
    principal_outstanding: int
    overdue_principal: int
    overdue_interest: int
    penalty_outstanding: int
    fees_outstanding: int
    credit: int
    settlement_amount: int
    paid: int
    written_off: int
    recovered: int
    overpaid: int
    next_due_date: date | None
    next_due_amount: int
    write_off_due: bool
    closed_on: date | None
    instalments: tuple[InstalmentState, ...] = field(repr=False)
    allocations: tuple[Allocation, ...] = field(repr=False)


def bucket_of(cycles: int, charged_off: bool = False) -> str:
    """The bucket name of ``cycles`` missed monthly cycles.

    Examples
    --------
    >>> bucket_of(0), bucket_of(3), bucket_of(9), bucket_of(2, charged_off=True)
    ('M0', 'M3', 'M6+', 'charged_off')
    """
    if charged_off:
        return "charged_off"
    return BUCKETS[min(max(cycles, 0), 6)]


class _Replay:
    """The loan's state, advanced event by event (all amounts in fen)."""

    def __init__(self, terms: LoanTerms, tolerance: int) -> None:
        self.terms = terms
        self.tolerance = tolerance
        self.sched: tuple[Instalment, ...] = schedule(terms)
        self.int_due = [i.interest for i in self.sched]
        self.prn_due = [i.principal for i in self.sched]
        self.rate = terms.annual_penalty_rate / 365
        self.penalty = Decimal(0)  # exact, in fen
        self.fees = 0
        self.credit = 0
        self.paid = self.written_off = self.recovered = self.overpaid = 0
        self.status = "open"  # open | closed | charged_off
        self.closed_on: date | None = None
        self.day = terms.disbursed_on  # penalty accrued up to and including this day
        self.payable = 0  # instalments 1..payable are due (payable)
        self.overdue = 0  # instalments 1..overdue have passed their due date
        self.allocations: list[Allocation] = []
        self.waived = [0] * len(self.sched)  # interest not due after an early settlement
        self.settled_from: int | None = None  # instalments from here were settled early

    # --- helpers -----------------------------------------------------------------------------
    def unpaid(self, k: int) -> int:
        return self.int_due[k] + self.prn_due[k]

    def overdue_pi(self) -> int:
        return sum(self.unpaid(k) for k in range(self.overdue))

    def accrue(self, to: date) -> None:
        if to > self.day:
            if self.status == "open":
                owed = self.overdue_pi()
                if owed:
                    self.penalty += owed * self.rate * (to - self.day).days
            self.day = to

    def penalty_fen(self) -> int:
        return round_fen(self.penalty)

    def accrued_interest(self, on: date) -> int:
        """Interest accrued on the principal not yet due, since the last due date (pro rata)."""
        k = self.payable  # the next instalment (0-based index)
        if k >= len(self.sched) or self.int_due[k] == 0:
            return 0
        start = self.terms.due_date(k) if k else self.terms.disbursed_on
        end = self.sched[k].due_date
        days = (on - start).days
        if days <= 0:
            return 0
        return round_fen(Decimal(self.int_due[k]) * days / (end - start).days)

    def settlement(self, on: date) -> int:
        if self.status != "open":
            return 0
        due = sum(self.unpaid(k) for k in range(self.payable))
        future_principal = sum(self.prn_due[k] for k in range(self.payable, len(self.sched)))
        return max(
            self.penalty_fen() + self.fees + due + future_principal + self.accrued_interest(on)
            - self.credit,
            0,
        )  # fmt: skip

    def _pay_due(self, money: int, upto: int) -> tuple[int, int, int]:
        """Pay instalments ``< upto`` oldest first, interest then principal."""
        paid_i = paid_p = 0
        for k in range(upto):
            if not money:
                break
            take = min(money, self.int_due[k])
            self.int_due[k] -= take
            paid_i += take
            money -= take
            take = min(money, self.prn_due[k])
            self.prn_due[k] -= take
            paid_p += take
            money -= take
        return money, paid_i, paid_p

    def _maybe_closed(self, on: date) -> None:
        if (
            self.status == "open"
            and self.payable == len(self.sched)
            and not any(self.unpaid(k) for k in range(len(self.sched)))
            and not self.fees
            and self.penalty_fen() == 0
        ):
            self.status, self.closed_on = "closed", on
            self.credit, self.overpaid = 0, self.overpaid + self.credit
            self.penalty = Decimal(0)

    # --- events ------------------------------------------------------------------------------
    def make_payable(self, k: int) -> None:
        """Instalment ``k`` (0-based) falls due: the credit held pays it."""
        self.accrue(self.sched[k].due_date)
        self.payable = k + 1
        if self.status == "open" and self.credit:
            left, _, _ = self._pay_due(self.credit, self.payable)
            self.credit = left
            self._maybe_closed(self.sched[k].due_date)

    def make_overdue(self, k: int) -> None:
        """The end of instalment ``k``'s due date."""
        self.accrue(self.sched[k].due_date)
        self.overdue = k + 1
        if self.status == "open" and self.unpaid(k) > 0:
            self.fees += self.terms.late_fee

    def pay(self, p: Payment) -> None:
        self.accrue(p.paid_on)
        self.paid += p.amount
        if self.status == "closed":
            self.overpaid += p.amount
            self.allocations.append(Allocation(p.paid_on, p.amount, p.reference, overpaid=p.amount))
            return
        if self.status == "charged_off":
            rec = min(p.amount, self.written_off - self.recovered)
            self.recovered += rec
            self.overpaid += p.amount - rec
            self.allocations.append(
                Allocation(p.paid_on, p.amount, p.reference, recovered=rec,
                           overpaid=p.amount - rec)
            )  # fmt: skip
            return
        settle_at = self.settlement(p.paid_on)
        money = p.amount + self.credit
        self.credit = 0
        pen = min(money, self.penalty_fen())
        self.penalty -= pen
        money -= pen
        fees = min(money, self.fees)
        self.fees -= fees
        money -= fees
        settled = p.amount >= settle_at
        if settled:
            # everything falls due today; the next instalment's interest only pro rata
            accrued = self.accrued_interest(p.paid_on)
            self.settled_from = self.payable
            for k in range(self.payable, len(self.sched)):
                keep = accrued if k == self.payable else 0
                self.waived[k], self.int_due[k] = self.int_due[k] - keep, keep
            upto = len(self.sched)
        else:
            upto = self.payable
        money, paid_i, paid_p = self._pay_due(money, upto)
        if settled:
            self.payable = self.overdue = len(self.sched)
            self.status, self.closed_on = "closed", p.paid_on
            self.penalty = Decimal(0)
            self.overpaid += money
            alloc = Allocation(p.paid_on, p.amount, p.reference, pen, fees, paid_i, paid_p,
                               overpaid=money, settled=True)  # fmt: skip
        else:
            self.credit = money
            alloc = Allocation(p.paid_on, p.amount, p.reference, pen, fees, paid_i, paid_p,
                               credit=money)  # fmt: skip
            self._maybe_closed(p.paid_on)
        self.allocations.append(alloc)

    def write_off(self, on: date) -> None:
        self.accrue(on)
        if self.status != "open":
            raise DataError(f"written_off_on: the loan is already {self.status} on {on}")
        if self.credit:
            self.credit, _, _ = self._pay_due(self.credit, self.payable)
        due_interest = sum(self.int_due[k] for k in range(self.payable))
        principal = sum(self.prn_due)
        self.written_off = principal + due_interest + self.penalty_fen() + self.fees
        self.status, self.closed_on = "charged_off", on

    # --- reading -----------------------------------------------------------------------------
    def position(self, as_of: date) -> LoanPosition:
        self.accrue(as_of)
        n = len(self.sched)
        late = [k for k in range(self.overdue) if self.unpaid(k) > self.tolerance]
        open_ = self.status == "open"
        oldest = self.sched[late[0]].due_date if late and open_ else None
        dpd = (as_of - oldest).days if oldest else 0
        cycles = 0
        if oldest is not None:
            k = late[0] + 1
            while self.terms.due_date(k) < as_of:
                cycles += 1
                k += 1
        state = "delinquent" if cycles else "current"
        status = {"open": state, "closed": "closed", "charged_off": "charged_off"}[self.status]
        states = []
        for k, inst in enumerate(self.sched):
            if self.status == "charged_off" and self.unpaid(k):
                what = "written_off"
            elif self.settled_from is not None and k >= self.settled_from:
                what = "settled"
            elif self.unpaid(k) == 0:
                what = "paid" if inst.payment or k < self.payable else "waived"
            elif k < self.overdue:
                what = "overdue"
            elif k < self.payable:
                what = "due"
            else:
                what = "future"
            states.append(
                InstalmentState(
                    inst.no, inst.due_date, inst.payment, inst.principal, inst.interest,
                    inst.principal - self.prn_due[k],
                    inst.interest - self.int_due[k] - self.waived[k], what,
                )
            )  # fmt: skip
        nxt = next((k for k in range(self.payable, n)), None) if open_ else None
        return LoanPosition(
            as_of=as_of,
            status=status,
            dpd=dpd,
            instalments_overdue=len(late) if open_ else 0,
            cycles=cycles,
            bucket=bucket_of(cycles, self.status == "charged_off"),
            principal_outstanding=sum(self.prn_due) if open_ else 0,
            overdue_principal=sum(self.prn_due[k] for k in range(self.overdue)) if open_ else 0,
            overdue_interest=sum(self.int_due[k] for k in range(self.overdue)) if open_ else 0,
            penalty_outstanding=self.penalty_fen() if open_ else 0,
            fees_outstanding=self.fees if open_ else 0,
            credit=self.credit,
            settlement_amount=self.settlement(as_of),
            paid=self.paid,
            written_off=self.written_off,
            recovered=self.recovered,
            overpaid=self.overpaid,
            next_due_date=self.sched[nxt].due_date if nxt is not None else None,
            next_due_amount=self.unpaid(nxt) if nxt is not None else 0,
            write_off_due=open_ and cycles >= WRITE_OFF_CYCLES,
            closed_on=self.closed_on,
            instalments=tuple(states),
            allocations=tuple(self.allocations),
        )


def loan_positions(
    terms: LoanTerms,
    payments: Iterable[Payment],
    dates: Sequence[date],
    written_off_on: date | None = None,
    tolerance: int = 0,
) -> list[LoanPosition]:
    """The loan's position as of each of ``dates`` (in any order), in one replay.

    ``tolerance`` (fen): an overdue instalment with at most this much principal and interest
    unpaid does not count as delinquent (a de-minimis threshold; 0 by default).

    Raises
    ------
    DataError
        A payment or the write-off is dated before the disbursement, or the write-off comes
        after the loan was closed.
    """
    start = terms.disbursed_on
    pays = sorted(enumerate(payments), key=lambda ip: (ip[1].paid_on, ip[0]))
    for _, p in pays:
        if p.paid_on < start:
            raise DataError(f"paid_on: {p.paid_on} is before the disbursement on {start}")
    if written_off_on is not None and written_off_on < start:
        raise DataError(f"written_off_on: {written_off_on} is before the disbursement on {start}")
    # (day, order within the day, what): 0 payable, 1 payment, 2 overdue, 3 write-off
    events: list[tuple[date, int, int, object]] = []
    replay = _Replay(terms, tolerance)
    for k, inst in enumerate(replay.sched):
        events.append((inst.due_date, 0, k, None))
        events.append((inst.due_date, 2, k, None))
    events.extend((p.paid_on, 1, i, p) for i, p in pays)
    if written_off_on is not None:
        events.append((written_off_on, 3, 0, None))
    events.sort(key=lambda e: (e[0], e[1], e[2]))
    wanted = sorted(set(dates))
    out: dict[date, LoanPosition] = {}
    i = 0
    for day in wanted:
        # events of ``day`` count, except an instalment falling overdue at its end
        while i < len(events) and (events[i][0], events[i][1] == 2) < (day, True):
            when, order, k, obj = events[i]
            if order == 0:
                replay.make_payable(k)
            elif order == 1:
                assert isinstance(obj, Payment)
                replay.pay(obj)
            elif order == 2:
                replay.make_overdue(k)
            else:
                replay.write_off(when)
            i += 1
        out[day] = replay.position(day)
    return [out[d] for d in dates]


def loan_position(
    terms: LoanTerms,
    payments: Iterable[Payment] = (),
    as_of: date | None = None,
    written_off_on: date | None = None,
    tolerance: int = 0,
) -> LoanPosition:
    """The loan's position as of ``as_of`` (default today): see the module's docstring.

    Examples
    --------
    >>> from creditfactory.servicing._loan import LoanTerms
    >>> t = LoanTerms(1_200_000, Decimal("0.12"), 12, disbursed_on=date(2026, 1, 15))
    >>> p = loan_position(t, [], as_of=date(2026, 3, 20))
    >>> p.dpd, p.instalments_overdue, p.bucket, p.status
    (33, 2, 'M2', 'delinquent')
    >>> paid = [Payment(date(2026, 2, 15), 106_619), Payment(date(2026, 3, 15), 106_619)]
    >>> loan_position(t, paid, as_of=date(2026, 3, 20)).bucket
    'M0'
    """
    day = as_of or date.today()
    return loan_positions(terms, payments, [day], written_off_on, tolerance)[0]


def settlement_amount(terms: LoanTerms, payments: Iterable[Payment], on: date) -> int:
    """What settles the loan on ``on`` (fen): see :func:`loan_position`."""
    return loan_position(terms, payments, on).settlement_amount


def next_day(day: date) -> date:
    """The day after ``day`` (the twin's month-``k`` snapshot is the service's position as of
    the day after the ``k``-th due date)."""
    return day + timedelta(days=1)
