"""Loans in fen: schedules and early settlement against numpy-financial, allocation, DPD."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import numpy_financial as npf
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from creditfactory.exceptions import DataError
from creditfactory.servicing import (
    LoanTerms,
    Payment,
    loan_position,
    schedule,
    settlement_amount,
    terms_from_decision,
    to_fen,
)

START = date(2026, 1, 31)
HALF = 0.5 + 1e-6


def fen(x: float) -> int:
    """A float amount of fen rounded half up (numpy-financial works in floats)."""
    return int(Decimal(repr(float(x))).quantize(Decimal(1), rounding="ROUND_HALF_UP"))


@pytest.mark.parametrize(
    ("principal", "apr", "term"),
    [
        (1_200_000, "0.12", 12),
        (735_000, "0.2372", 24),
        (5_000_000, "0.0899", 36),
        (99_999, "0.36", 6),
    ],
)
def test_equal_instalment_matches_numpy_financial(principal: int, apr: str, term: int) -> None:
    t = LoanTerms(principal, Decimal(apr), term, "equal_instalment", START)
    s = schedule(t)
    r = float(apr) / 12
    level = fen(-npf.pmt(r, term, principal))
    assert [i.payment for i in s[:-1]] == [level] * (term - 1)
    # each month, to the fen: the balance numpy-financial carries forward from the last one
    prev = principal
    for i in s[:-1]:
        # within half a fen (the rounding; numpy-financial's floats cannot tell a tie)
        assert abs(i.balance_after - -npf.fv(r, 1, -i.payment, prev)) <= HALF, i.no
        assert abs(i.interest - -npf.ipmt(r, 1, 1, prev)) <= HALF, i.no
        prev = i.balance_after
    assert s[-1].balance_after == 0
    assert sum(i.principal for i in s) == principal
    # and over the whole term (interest rounded monthly drifts at most half a fen a month)
    for k in (1, term // 2, term - 1):
        exact = -npf.fv(r, k, -level, principal)
        assert abs(s[k - 1].balance_after - exact) <= HALF * k
    assert abs(s[-1].payment - level) <= term  # the last one takes the rounding left over


def test_equal_principal_and_interest_only() -> None:
    t = LoanTerms(1_000_000, Decimal("0.18"), 10, "equal_principal", START)
    s = schedule(t)
    assert [i.principal for i in s] == [100_000] * 10
    assert [i.interest for i in s] == [
        fen(-npf.ipmt(0.015, 1, 1, 1_000_000 - 100_000 * k)) for k in range(10)
    ]
    io = schedule(LoanTerms(1_000_000, Decimal("0.18"), 6, "interest_only", START))
    assert [i.payment for i in io] == [15_000] * 5 + [1_015_000]
    assert [i.due_date for i in io[:2]] == [date(2026, 2, 28), date(2026, 3, 28)]


def test_early_settlement_matches_numpy_financial() -> None:
    t = LoanTerms(2_400_000, Decimal("0.15"), 24, "equal_instalment", date(2026, 3, 10))
    s = schedule(t)
    pays = [Payment(i.due_date, i.payment) for i in s[:6]]
    r = 0.15 / 12
    on_due = settlement_amount(t, pays, s[5].due_date)
    # on a due date, all paid: the balance numpy-financial leaves after six level payments
    assert abs(on_due - (-npf.fv(r, 6, -s[0].payment, 2_400_000))) <= 3
    assert on_due == s[5].balance_after
    # 10 days into the next period: plus that period's interest pro rata (days / days in period)
    day = s[5].due_date + timedelta(days=10)
    period = (s[6].due_date - s[5].due_date).days
    accrued = fen(-npf.ipmt(r, 1, 1, s[5].balance_after) * 10 / period)
    assert settlement_amount(t, pays, day) == s[5].balance_after + accrued
    closed = loan_position(t, [*pays, Payment(day, on_due + accrued + 7)], day + timedelta(days=60))
    assert closed.status == "closed"
    assert closed.overpaid == 7
    assert closed.closed_on == day
    last = closed.allocations[-1]
    assert last.settled
    assert last.principal == s[5].balance_after
    assert last.interest == accrued


def test_allocation_order_penalty_fees_interest_principal() -> None:
    t = LoanTerms(
        1_200_000,
        Decimal("0.12"),
        12,
        "equal_instalment",
        date(2026, 1, 15),
        penalty_rate=Decimal("0.365"),
        late_fee=5_000,
    )
    s = schedule(t)
    late = date(2026, 2, 25)  # instalment 1 is 10 days overdue
    p = loan_position(t, [], late)
    penalty = fen(s[0].payment * 0.365 / 365 * 10)
    assert (p.dpd, p.bucket, p.penalty_outstanding, p.fees_outstanding) == (
        10,
        "M1",
        penalty,
        5_000,
    )
    part = loan_position(t, [Payment(late, penalty + 5_000 + 3_000)], late)
    a = part.allocations[0]
    assert (a.penalty, a.fees, a.interest, a.principal) == (penalty, 5_000, 3_000, 0)
    assert part.bucket == "M1"
    assert part.overdue_interest == s[0].interest - 3_000
    # a full payment cures; an over-payment is held and pays the next instalment when due
    over = 2 * s[0].payment + penalty + 5_000
    cured = loan_position(t, [Payment(late, over)], late)
    assert (cured.bucket, cured.dpd, cured.credit) == ("M0", 0, s[1].payment)
    nxt = loan_position(t, [Payment(late, over)], s[1].due_date + timedelta(days=5))
    assert (nxt.bucket, nxt.credit, nxt.instalments[1].state) == ("M0", 0, "paid")


def test_dpd_buckets_and_write_off() -> None:
    t = LoanTerms(600_000, Decimal("0.24"), 6, "equal_principal", date(2026, 1, 10))
    days = [t.due_date(k) + timedelta(days=1) for k in range(1, 10)]
    buckets = [loan_position(t, [], d).bucket for d in days]
    assert buckets == ["M1", "M2", "M3", "M4", "M5", "M6+", "M6+", "M6+", "M6+"]
    assert loan_position(t, [], days[6]).write_off_due  # seven cycles missed
    assert loan_position(t, [], days[0]).dpd == 1
    off = loan_position(t, [Payment(days[8], 10_000)], days[8], written_off_on=days[7])
    assert off.status == "charged_off"
    assert off.bucket == "charged_off"
    assert off.written_off >= 600_000
    assert off.recovered == 10_000
    with pytest.raises(DataError, match="written_off_on"):
        loan_position(t, [], days[0], written_off_on=date(2025, 1, 1))


def test_terms_from_decision_checks_the_decision() -> None:
    approve = {"decision": "approve", "limit": 20000.0, "apr": 0.18, "term": 12}
    assert terms_from_decision(approve, 2_000_000, "interest_only").method == "interest_only"
    with pytest.raises(
        DataError, match=r"amount: 20000\.01 exceeds the decision.s limit of 20000\.00"
    ):
        terms_from_decision(approve, 2_000_001)
    with pytest.raises(DataError, match="decision: a loan needs an approved decision"):
        terms_from_decision({**approve, "decision": "decline"})
    with pytest.raises(DataError, match="method: 'balloon' is not one of"):
        terms_from_decision(approve, method="balloon")
    with pytest.raises(DataError, match="amount: has more than two decimals"):
        to_fen("1.005")
    with pytest.raises(DataError, match="amount: a payment must be a positive"):
        Payment(START, 0)
    assert np.isclose(float(terms_from_decision(approve).apr), 0.18)


@settings(max_examples=60, deadline=None)
@given(
    method=st.sampled_from(["equal_instalment", "equal_principal", "interest_only"]),
    term=st.integers(1, 18),
    pays=st.lists(st.tuples(st.integers(0, 700), st.integers(1, 400_000)), max_size=12),
    off=st.one_of(st.none(), st.integers(0, 700)),
)
def test_every_fen_paid_is_accounted_for(
    method: str, term: int, pays: list[tuple[int, int]], off: int | None
) -> None:
    t = LoanTerms(900_000, Decimal("0.24"), term, method, START, late_fee=1_000)
    payments = [Payment(START + timedelta(days=d), a) for d, a in pays]
    when = None if off is None else START + timedelta(days=off)
    as_of = START + timedelta(days=720)
    try:
        p = loan_position(t, payments, as_of, written_off_on=when)
    except DataError:  # a write-off after the loan was closed
        return
    parts = sum(a.penalty + a.fees for a in p.allocations)
    parts += sum(i.paid_principal + i.paid_interest for i in p.instalments)
    assert parts + p.credit + p.overpaid + p.recovered == p.paid == sum(a for _, a in pays)
    assert sum(i.paid_principal for i in p.instalments) <= 900_000
    assert all(0 <= i.paid_interest <= i.interest for i in p.instalments)
    if p.status == "closed":
        assert p.principal_outstanding == 0
        assert p.settlement_amount == 0
    if p.status in ("current", "delinquent"):  # what settles it: all that is owed, at least
        assert p.settlement_amount >= p.principal_outstanding - p.credit
