"""Booked loans and what happened to them: schedules, monthly performance and collections.

Performance is a monthly snapshot taken on each instalment's due date. ``dpd`` counts 30 days
per unpaid instalment, so M1 is 30 DPD, M3 is 90 DPD (the bad definition) and an account that
spends a month in M6+ (180 DPD) without paying is charged off.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from creditfactory.data._config import COLLECTION_ACTIONS, SimulationConfig
from creditfactory.data._paths import CHARGED_OFF, CLOSED, STATUSES, Paths
from creditfactory.data._random import ids
from creditfactory.data._recoveries import AGENCY_COMMISSION, DEBT_BUYER, recovery_rows
from creditfactory.data._risk import _POOLED, BUCKET_NAMES, MAX_BUCKET
from creditfactory.data._schedule import METHODS, schedule_arrays

BUCKETS: tuple[str, ...] = ("M0", *BUCKET_NAMES, "charged_off")
OUTCOMES: tuple[str, ...] = (
    "cured",
    "partial",
    "rolled",
    "charged_off",
    "recovered",  # after charge-off: the agency got a settlement
    "no_payment",  # after charge-off: a month with the agency, nothing paid
    "sold",  # after charge-off: sold to a debt buyer
)
RECOVERY_ACTIONS: tuple[str, ...] = (*COLLECTION_ACTIONS, "debt_sale")
_METHOD_SHARES = {
    "cash_loan": (0.7, 0.3, 0.0),
    "instalment": (1.0, 0.0, 0.0),
    "micro_business": (0.5, 0.2, 0.3),
}


@dataclass(frozen=True)
class Book:
    """The booked part of the portfolio."""

    loans: pd.DataFrame
    schedules: pd.DataFrame
    performance: pd.DataFrame
    collections: pd.DataFrame


def _add_months(days: np.ndarray, months: np.ndarray | int) -> np.ndarray:
    """Same day of month ``months`` later (days past the 28th move to the 28th)."""
    start = days.astype("datetime64[M]")
    day = np.minimum((days - start.astype("datetime64[D]")).astype(np.int64), 27)
    return (start + months).astype("datetime64[D]") + day.astype("timedelta64[D]")


def _take_ids(ids_: np.ndarray, index: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """``ids_[index]`` as a compact string array (no wide NumPy temporary)."""
    return pd.Series(ids_, dtype="str").take(index).array


def _categorical(codes: np.ndarray, categories: tuple[str, ...]) -> pd.Categorical:
    return pd.Categorical.from_codes(codes.astype(np.int64), categories=list(categories))


def book_loans(
    apps: pd.DataFrame,
    decisions: pd.DataFrame,
    paths: Paths,
    cfg: SimulationConfig,
    rng: np.random.Generator,
    recovery_kind: np.ndarray | None = None,
) -> Book:
    """Turn approved applications and their paths into loans, schedules, performance and
    collections, observed up to ``cfg.observation_date``. ``recovery_kind`` (per application:
    payer type index, 3 for fraud; default all 'unable') sets how charged-off debt recovers."""
    approved = np.flatnonzero(decisions["decision"].to_numpy() == "approve")
    n = len(approved)
    product = apps["product"].to_numpy()[approved]
    method = np.zeros(n, dtype=np.int64)
    for p, shares in _METHOD_SHARES.items():
        rows = product == p
        method[rows] = rng.choice(3, size=rows.sum(), p=np.array(shares))
    principal = decisions["amount_approved"].to_numpy(float)[approved]
    cents = np.rint(principal * 100).astype(np.int64)
    apr = decisions["apr"].to_numpy(float)[approved]
    term = decisions["term"].to_numpy(np.int64)[approved]
    applied = apps["applied_at"].to_numpy().astype("datetime64[D]")[approved]
    disbursed = applied + rng.integers(0, 3, n).astype("timedelta64[D]")
    obs = np.datetime64(cfg.observation_date, "D")
    months = paths.state.shape[1]
    first_due = _add_months(disbursed, 1)
    observed = np.zeros(n, dtype=np.int64)
    for t in range(1, months + 1):
        observed += _add_months(disbursed, t) < obs

    sched = schedule_arrays(cents, apr, term, method)
    state = paths.state[approved]
    status = paths.status[approved]
    loan_ids = ids("L", n, width=9)

    # one row per observed loan-month; each loan's rows are contiguous from month on book 1
    keep = (state >= 0) & (np.arange(1, months + 1)[None, :] <= observed[:, None])
    li, ti = np.nonzero(keep)
    st = state[li, ti].astype(np.int64)
    ss = status[li, ti].astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum(term)])
    scheduled = ti < term[li]
    sidx = np.where(scheduled, offsets[li] + ti, 0)
    pay = np.where(scheduled, sched["payment"][sidx], 0)
    bal = np.where(scheduled, sched["balance_after"][sidx], 0)
    monthly_penalty = apr * PENALTY_FACTOR / 12.0
    due_amt, paid, arrears, penalty, penalty_owed = _money(
        ti, st, ss, pay, bal, months, monthly_penalty[li]
    )

    bucket = np.where(st == CHARGED_OFF, len(BUCKETS) - 1, np.where(st == CLOSED, 0, st))
    principal_out = np.where((st == CLOSED) | (ss == 3) | (st == CHARGED_OFF), 0, bal)
    written_off = np.where(st == CHARGED_OFF, bal + arrears + penalty_owed, 0)
    month = _add_months(disbursed[li], ti + 1)
    performance = pd.DataFrame(
        {
            "loan_id": _take_ids(loan_ids, li),
            "month": month,
            "mob": (ti + 1).astype(np.int64),
            "status": _categorical(ss, STATUSES),
            "amount_due": due_amt / 100.0,
            "amount_paid": paid / 100.0,
            "arrears": np.where(st == CHARGED_OFF, 0, arrears) / 100.0,
            "penalty_interest": penalty / 100.0,
            "penalty_outstanding": np.where(st == CHARGED_OFF, 0, penalty_owed) / 100.0,
            "principal_outstanding": principal_out / 100.0,
            "written_off": written_off / 100.0,
            "dpd": np.where((st >= 1) & (st <= MAX_BUCKET), 30 * st, 0).astype(np.int64),
            "bucket": _categorical(bucket, BUCKETS),
            "closed": st == CLOSED,
        }
    )

    final_state = _last_alive(state, observed)
    loan_status = np.select(
        [observed == 0, final_state == CHARGED_OFF, final_state == CLOSED, final_state >= 1],
        ["not_yet_due", "charged_off", "closed", "delinquent"],
        "current",
    )
    loans = pd.DataFrame(
        {
            "loan_id": loan_ids,
            "application_id": apps["application_id"].to_numpy()[approved],
            "customer_id": apps["customer_id"].to_numpy()[approved],
            "product": product,
            "principal": principal,
            "term": term,
            "apr": apr,
            "repayment_method": np.array(METHODS)[method],
            "disbursed_at": disbursed,
            "first_due_date": first_due,
            "maturity_date": _add_months(disbursed, term),
            "first_instalment": sched["payment"][offsets[:-1]] / 100.0,
            "months_observed": np.minimum(observed, months).astype(np.int64),
            "status": loan_status,
        }
    )
    schedules_no = sched["instalment_no"]
    schedules = pd.DataFrame(
        {
            "loan_id": _take_ids(loan_ids, sched["loan"]),
            "instalment_no": sched.pop("instalment_no"),
            "due_date": _add_months(disbursed[sched.pop("loan")], schedules_no),
            "payment": sched.pop("payment") / 100.0,
            "principal": sched.pop("principal") / 100.0,
            "interest": sched.pop("interest") / 100.0,
            "balance_after": sched.pop("balance_after") / 100.0,
        }
    )
    collections, coll_loan = _collections(
        loan_ids, month, li, ti, st, ss, paid, state, paths, approved, cfg, rng
    )
    kind = np.full(len(apps), 2) if recovery_kind is None else recovery_kind
    gone = np.flatnonzero(st == CHARGED_OFF)
    after, after_loan = _after_charge_off(
        loan_ids, li[gone], ti[gone], month[gone], written_off[gone], kind[approved], obs, rng
    )
    if len(after):  # each loan's rows together, in month order
        both = pd.concat([collections, after], ignore_index=True)
        key_loan = np.concatenate([coll_loan, after_loan])
        key_mob = both["mob"].to_numpy()
        collections = both.iloc[np.lexsort((key_mob, key_loan))].reset_index(drop=True)
    return Book(loans, schedules, performance, collections)


def _after_charge_off(
    loan_ids: np.ndarray,
    li: np.ndarray,
    ti: np.ndarray,
    month: np.ndarray,
    face: np.ndarray,
    kind: np.ndarray,
    obs: np.datetime64,
    rng: np.random.Generator,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Collections rows after charge-off: agency months, then the debt sale (observed ones)."""
    months_left = (obs.astype("datetime64[M]") - month.astype("datetime64[M]")).astype(np.int64) - 1
    rows = recovery_rows(face, kind[li], months_left, rng)
    a = rows["account"]
    loan = li[a]
    sold = rows["sold"]
    cents = rows["cents"]
    mob = ti[a] + 1 + rows["k"]
    action = np.where(sold, len(RECOVERY_ACTIONS) - 1, COLLECTION_ACTIONS.index("agency"))
    collector = np.where(sold, DEBT_BUYER, np.char.add("AGENCY-", (loan % 3 + 1).astype(str)))
    outcome = np.where(
        sold,
        OUTCOMES.index("sold"),
        np.where(cents > 0, OUTCOMES.index("recovered"), OUTCOMES.index("no_payment")),
    )
    settled = ~sold & (cents > 0)
    frame = pd.DataFrame(
        {
            "loan_id": _take_ids(loan_ids, loan),
            "month": _add_months(month[a], rows["k"]),
            "mob": mob.astype(np.int64),
            "bucket": _categorical(np.full(len(a), len(BUCKETS) - 1), BUCKETS),
            "action": _categorical(action, RECOVERY_ACTIONS),
            "collector_id": collector.astype(str),
            "cost": np.round(np.where(sold, 0.0, AGENCY_COMMISSION * cents / 100.0), 2),
            "right_party_contact": settled,
            "promise_to_pay": settled,
            "promise_kept": settled,
            "amount_recovered": cents / 100.0,
            "outcome": _categorical(outcome, OUTCOMES),
            "true_cure_prob": np.full(len(a), np.nan),
            "true_settle_prob": rows["settle_prob"],
        }
    )
    return frame, loan


PENALTY_FACTOR = 1.5
"""Penalty interest (罚息) on overdue amounts: the contract rate plus 50%, a common clause."""


def _money(
    ti: np.ndarray,
    st: np.ndarray,
    ss: np.ndarray,
    pay: np.ndarray,
    bal: np.ndarray,
    months: int,
    monthly_penalty: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Amount due, paid, in arrears, penalty interest charged and penalty unpaid (cents) of
    each loan-month row, following the path: arrears carry from a loan's previous row (the row
    just before it). Overdue instalments accrue penalty interest at ``monthly_penalty``; it is
    due with them and paid when the account cures or settles early, not by a partial payment."""
    n = len(ti)
    due_amt = np.zeros(n, dtype=np.int64)
    paid = np.zeros(n, dtype=np.int64)
    arrears = np.zeros(n, dtype=np.int64)
    penalty = np.zeros(n, dtype=np.int64)
    penalty_owed = np.zeros(n, dtype=np.int64)
    order = np.argsort(ti, kind="stable")
    bounds = np.searchsorted(ti[order], np.arange(months + 1))
    for t in range(months):
        rows = order[bounds[t] : bounds[t + 1]]
        zero = np.zeros(len(rows), dtype=np.int64)
        prev_arrears = arrears[rows - 1] if t > 0 else zero
        prev_state = st[rows - 1] if t > 0 else zero
        prev_owed = penalty_owed[rows - 1] if t > 0 else zero
        status = ss[rows]
        charge = np.rint(prev_arrears * monthly_penalty[rows]).astype(np.int64)
        owed = prev_owed + charge
        d = pay[rows] + prev_arrears
        one_old = prev_arrears // np.maximum(prev_state, 1)
        p = np.where(status == 0, d + owed, 0)  # paid (or cured), penalty included
        p = np.where(status == 1, np.where(pay[rows] > 0, pay[rows], one_old), p)  # partial
        p = np.where(status == 3, d + owed + bal[rows], p)  # prepaid: clears the balance too
        late = np.isin(status, [1, 2, 4])
        due_amt[rows] = d + owed
        paid[rows] = p
        arrears[rows] = np.where(late, d - np.where(status == 1, p, 0), 0)
        penalty[rows] = charge
        penalty_owed[rows] = np.where(late, owed, 0)
    return due_amt, paid, arrears, penalty, penalty_owed


def _last_alive(state: np.ndarray, observed: np.ndarray) -> np.ndarray:
    months = state.shape[1]
    mob = np.arange(1, months + 1)[None, :]
    valid = (state >= 0) & (mob <= observed[:, None])
    last = months - 1 - np.argmax(valid[:, ::-1], axis=1)
    return state[np.arange(len(state)), last]


def _collections(
    loan_ids: np.ndarray,
    month: np.ndarray,
    li: np.ndarray,
    ti: np.ndarray,
    st: np.ndarray,
    ss: np.ndarray,
    paid_cents: np.ndarray,
    state: np.ndarray,
    paths: Paths,
    approved: np.ndarray,
    cfg: SimulationConfig,
    rng: np.random.Generator,
) -> tuple[pd.DataFrame, np.ndarray]:
    """One row per delinquent account-month: the action, who took it, and what came of it."""
    act = paths.action[approved[li], ti].astype(np.int64)
    rows = np.flatnonzero(act >= 0)
    li, ti, st, ss, act = li[rows], ti[rows], st[rows], ss[rows], act[rows]
    paid_cents, month = paid_cents[rows], month[rows]
    prev = np.where(ti > 0, state[li, np.maximum(ti - 1, 0)], 0).astype(np.int64)
    who = paths.collector[approved[li], ti].astype(np.int64)
    names = np.array(COLLECTION_ACTIONS)[act]
    collector = np.full(len(rows), "SYSTEM", dtype=object)
    for action, pool in _POOLED.items():
        sel = names == action
        size = cfg.n_call_agents if pool == "call" else cfg.n_field_agents
        collector[sel] = ids(f"{pool.upper()}-", size, width=3)[who[sel]]
    agency = names == "agency"
    collector[agency] = np.char.add("AGENCY-", (li[agency] % 3 + 1).astype(str))
    collector[names == "legal"] = "LEGAL"
    personal = np.isin(names, ["agent_call", "field_visit"])
    paying = paid_cents > 0
    contact_p = np.where(names == "field_visit", 0.8, 0.55)
    contact = personal & (rng.random(len(rows)) < np.where(paying, 0.95, contact_p))
    ptp = contact & (rng.random(len(rows)) < np.where(paying, 0.75, 0.3))
    cost = np.array([cfg.action_costs[a] for a in COLLECTION_ACTIONS])[act]
    cost = cost + np.where(agency, 0.2 * paid_cents / 100.0, 0.0)
    outcome = np.where(ss == 0, 0, np.where(ss == 1, 1, np.where(st == CHARGED_OFF, 3, 2)))
    frame = pd.DataFrame(
        {
            "loan_id": _take_ids(loan_ids, li),
            "month": month,
            "mob": (ti + 1).astype(np.int64),
            "bucket": _categorical(prev, BUCKETS),
            "action": _categorical(act, RECOVERY_ACTIONS),
            "collector_id": collector.astype(str),
            "cost": np.round(cost, 2),
            "right_party_contact": contact,
            "promise_to_pay": ptp,
            "promise_kept": ptp & paying,
            "amount_recovered": paid_cents / 100.0,
            "outcome": _categorical(outcome, OUTCOMES),
            "true_cure_prob": paths.cure_prob[approved[li], ti].astype(float),
            "true_settle_prob": np.full(len(rows), np.nan),
        }
    )
    return frame, li
