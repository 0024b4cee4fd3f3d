"""Counterfactual oracles: the twin's true answer to "what if we had done something else?".

A real lender sees one outcome per decision. The twin knows the probabilities behind every
outcome, for the action taken and for every action not taken, so plans built later
(collection strategies, campaign targeting) can be scored against the truth:

- :func:`collection_oracle`: the probability that a delinquent account cures (pays all it owes)
  or pays anything in a given month, under any collection action and collector;
- :func:`response_oracle`: the probability that a customer applies within 30 days of a contact
  on any channel with any offer, and without one (the uplift is the difference).

Both read only the portfolio's tables, its ``config`` and its ``meta``, so they work on a book
read back from disk.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from creditfactory.data._campaigns import (
    CAMPAIGN_CHANNELS,
    DORMANT_DAYS,
    OFFERS,
    days_inactive,
    response_model,
)
from creditfactory.data._config import COLLECTION_ACTIONS, PAYER_TYPES, SimulationConfig
from creditfactory.data._loans import PENALTY_FACTOR
from creditfactory.data._paths import LATE_CURE_SHIFT, partial_share
from creditfactory.data._portfolio import Portfolio
from creditfactory.data._random import logit, sigmoid
from creditfactory.data._recoveries import expected_recovery
from creditfactory.data._risk import (
    _POOLED,
    BUCKET_NAMES,
    FRAUD_CURE_LOGIT,
    FRAUD_LATER_HAZARD,
    MAX_BUCKET,
    shock_index,
)
from creditfactory.exceptions import DataError


def _require(frame: object, columns: tuple[str, ...], name: str) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"{name}: expected a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"{name}: missing column(s) {missing}")
    return frame


def _codes(values: pd.Series, known: tuple[str, ...], column: str) -> np.ndarray:
    text = values.astype(str).to_numpy()
    bad = sorted(set(text) - set(known))
    if bad:
        raise DataError(f"{column}: unknown value(s) {bad[:5]}; known: {list(known)}")
    return _index(known, text)


def _index(known: tuple[str, ...], values: np.ndarray) -> np.ndarray:
    """Position in ``known`` of each of ``values`` (all known)."""
    order = np.argsort(known)
    return order[np.searchsorted(np.array(known)[order], values)].astype(np.int64)


def _simulated(portfolio: Portfolio) -> SimulationConfig:
    if not isinstance(portfolio, Portfolio) or portfolio.config is None:
        raise DataError("portfolio: the oracles need a simulated Portfolio (with its config)")
    return portfolio.config


def collection_oracle(portfolio: Portfolio, plan: pd.DataFrame) -> pd.DataFrame:
    """True cure and payment probabilities of delinquent account-months under a plan.

    Parameters
    ----------
    portfolio : Portfolio
        A simulated book.
    plan : pandas.DataFrame
        ``loan_id`` and ``mob`` of delinquent account-months (rows of ``collections``),
        ``action`` (one of sms, robo_call, agent_call, field_visit, agency, legal) and,
        optionally, ``collector_id`` (``CALL-nnn`` for agent calls, ``FIELD-nnn`` for field
        visits; missing or null: the average over the pool, as a random assignment would give).
        Other actions ignore the collector.

    Returns
    -------
    pandas.DataFrame
        Row-aligned with ``plan``: ``loan_id``, ``mob``, ``action``, ``collector_id``,
        ``cure_prob`` (the account pays everything it owes that month) and ``pay_prob`` (it
        pays anything: cures, or pays one instalment and stays in its bucket).
    """
    cfg = _simulated(portfolio)
    plan = _require(plan, ("loan_id", "mob", "action"), "plan")
    coll = portfolio.collections
    coll = coll[coll["bucket"].astype(str) != "charged_off"]  # after charge-off: no cures
    key = pd.MultiIndex.from_arrays([coll["loan_id"].astype(str), coll["mob"].astype(np.int64)])
    wanted = pd.MultiIndex.from_arrays(
        [plan["loan_id"].astype(str), pd.to_numeric(plan["mob"]).astype(np.int64)]
    )
    pos = key.get_indexer(wanted)
    if (pos < 0).any():
        first = wanted[int(np.flatnonzero(pos < 0)[0])]
        raise DataError(
            f"plan: {int((pos < 0).sum())} row(s) are not a delinquent account-month of the "
            f"book's collections table, e.g. loan_id={first[0]!r}, mob={first[1]}"
        )
    action = _codes(plan["action"], COLLECTION_ACTIONS, "action")
    if "collector_id" in plan.columns:
        collector = plan["collector_id"].to_numpy(dtype=object)
    else:
        collector = np.full(len(plan), None, dtype=object)

    row = coll.iloc[pos]
    loans = portfolio.loans.set_index("loan_id")["application_id"]
    truth = portfolio.truth.set_index("application_id")
    apps = loans.loc[row["loan_id"].to_numpy()].to_numpy()
    payer = _index(PAYER_TYPES, truth.loc[apps, "payer_type"].to_numpy(dtype=str))
    fraud = truth.loc[apps, "is_fraud"].to_numpy(bool)
    effects = np.array(
        [[cfg.collection_effects[p][a] for a in COLLECTION_ACTIONS] for p in PAYER_TYPES]
    )
    skills = {k: np.asarray(v, float) for k, v in portfolio.meta["collector_skill"].items()}
    done = _index(COLLECTION_ACTIONS, row["action"].astype(str).to_numpy())
    done_skill = _skill(row["collector_id"].to_numpy(dtype=object), done, skills, "collections")
    # the account's cure log-odds before action and collector, recovered from the realised month
    base = logit(row["true_cure_prob"].to_numpy(float))
    base = np.where(fraud, base, base - effects[payer, done] - done_skill)

    cure = np.empty(len(plan))
    for a, name in enumerate(COLLECTION_ACTIONS):
        rows = np.flatnonzero(action == a)
        if len(rows) == 0:
            continue
        logit_a = base[rows] + effects[payer[rows], a]
        pool = _POOLED.get(name)
        if pool is None:
            cure[rows] = sigmoid(logit_a)
            continue
        pool_skill = skills[pool]
        named = np.array([c is not None and c == c for c in collector[rows]])
        value = np.empty(len(rows))
        if named.any():
            s = _skill(collector[rows][named], np.full(named.sum(), a), skills, "collector_id")
            value[named] = sigmoid(logit_a[named] + s)
        if (~named).any():
            value[~named] = sigmoid(logit_a[~named][:, None] + pool_skill[None, :]).mean(axis=1)
        cure[rows] = value
    cure = np.where(fraud, sigmoid(base), cure)
    partial = partial_share(fraud, cfg.partial_payment_share)
    return pd.DataFrame(
        {
            "loan_id": plan["loan_id"].to_numpy(),
            "mob": wanted.get_level_values(1).to_numpy(),
            "action": np.array(COLLECTION_ACTIONS)[action],
            "collector_id": collector,
            "cure_prob": cure,
            "pay_prob": cure + (1.0 - cure) * partial,
        },
        index=plan.index,
    )


HORIZON_AGENCY_FEE = 0.2
"""Share of what a collection agency recovers before charge-off that it keeps (the twin's
collections table charges the same)."""


LIFE_CAP = 240
"""Most months the chain runs when asked for the loan's life (every account closed or
charged off long before, bar a negligible remainder)."""


def collection_horizon(
    portfolio: Portfolio, plan: pd.DataFrame, months: int | None = 6
) -> pd.DataFrame:
    """True expected cash and cost of delinquent account-months over ``months`` months.

    The planned action is taken in the plan's month; in the months after, the account follows
    the twin's own monthly chain (current, M1 ... M6+, charged off, closed) with the
    incumbent's randomised collection policy (its action shares by bucket, an average
    collector), exactly the probabilities the simulator draws paths from: a current account
    misses, prepays or pays its instalment; a delinquent one cures (pays its arrears, penalty
    interest and the new instalment), pays one instalment, or rolls on (from M6+ to charge-off).
    The expectation is exact (a forward pass over the states carrying the probability of each
    state and the expected arrears and unpaid penalty in it), not sampled.

    Parameters
    ----------
    portfolio : Portfolio
        A simulated book.
    plan : pandas.DataFrame
        As for :func:`collection_oracle`.
    months : int or None
        The horizon, the plan's month included (1: that month only); ``None``: the loan's
        life, until every account is closed or charged off (less than 1e-9 of it left open).

    Returns
    -------
    pandas.DataFrame
        Row-aligned with ``plan``: the columns of :func:`collection_oracle`, and
        ``horizon_cash`` (CNY the borrower pays over the horizon: instalments, arrears,
        penalty interest, prepaid balances), ``month_cash`` (the part paid in the plan's
        month), ``later_cost`` (the incumbent's expected action costs, agency commission
        included, in the months after the plan's month), ``p_current`` (current or closed at
        the end of the horizon), ``p_charged_off`` (charged off within it),
        ``charged_off_face`` (the expected amount written off within it), ``recovery`` and
        ``recovery_cost`` (what that debt is expected to bring back after the charge-off,
        from the agency and the debt sale, whenever it comes, and the agency's commission on
        it) and ``months`` (how many months the chain ran).
    """
    life = months is None
    if not life and (
        isinstance(months, bool) or not isinstance(months, (int, np.integer)) or months < 1
    ):
        raise DataError(
            f"months: the horizon must be a whole number of months >= 1, got {months!r}"
        )
    cfg = _simulated(portfolio)
    first = collection_oracle(portfolio, plan)
    n = len(first)
    coll = portfolio.collections
    coll = coll[coll["bucket"].astype(str) != "charged_off"]
    key = pd.MultiIndex.from_arrays([coll["loan_id"].astype(str), coll["mob"].astype(np.int64)])
    pos = key.get_indexer(
        pd.MultiIndex.from_arrays([first["loan_id"].astype(str), first["mob"].astype(np.int64)])
    )
    row = coll.iloc[pos]
    loan_ids = row["loan_id"].astype(str).to_numpy()
    t0 = row["mob"].to_numpy(np.int64)
    b0 = row["bucket"].astype(str).map({n_: i + 1 for i, n_ in enumerate(BUCKET_NAMES)})
    b0 = b0.to_numpy(np.int64)

    loans = portfolio.loans.set_index(portfolio.loans["loan_id"].astype(str))
    lp = loans.index.get_indexer(loan_ids)
    term = loans["term"].to_numpy(np.int64)[lp]
    mp = loans["apr"].to_numpy(float)[lp] * PENALTY_FACTOR / 12.0
    apps = loans["application_id"].to_numpy()[lp]
    truth = portfolio.truth.set_index("application_id")
    payer = _index(PAYER_TYPES, truth.loc[apps, "payer_type"].to_numpy(dtype=str))
    fraud = truth.loc[apps, "is_fraud"].to_numpy(bool)
    applied = portfolio.applications.set_index("application_id").loc[apps, "applied_at"]
    start = (
        applied.to_numpy().astype("datetime64[M]") - np.datetime64(cfg.first_month, "M")
    ).astype(np.int64)
    s_idx = shock_index(cfg)
    strength = cfg.macro_shock_strength

    # the account's standardised risk, from its realised month's true cure probability
    effects = np.array(
        [[cfg.collection_effects[p][a] for a in COLLECTION_ACTIONS] for p in PAYER_TYPES]
    )
    skills = {k: np.asarray(v, float) for k, v in portfolio.meta["collector_skill"].items()}
    done = _index(COLLECTION_ACTIONS, row["action"].astype(str).to_numpy())
    done_skill = _skill(row["collector_id"].to_numpy(dtype=object), done, skills, "collections")
    base = logit(row["true_cure_prob"].to_numpy(float)) - effects[payer, done] - done_skill

    def late(b: np.ndarray | int) -> np.ndarray:
        return np.where(np.asarray(b) >= 3, LATE_CURE_SHIFT, 0.0)

    def base_cure(b: np.ndarray | int) -> np.ndarray:
        return np.asarray(cfg.base_cure_logit, float)[np.minimum(b, 3) - 1]

    shocked0 = (start + t0 >= s_idx).astype(float)
    z_std = (base_cure(b0) + late(b0) - 0.5 * strength * shocked0 - base) / 0.3
    z_std = np.where(fraud, 0.0, z_std)
    scale = portfolio.meta["risk_scale"]
    z = z_std * float(scale[1]) + float(scale[0])
    prepay = np.where(fraud, 0.0, np.clip(cfg.prepayment_rate * np.exp(-0.25 * z_std), 0, 0.5))
    alpha = float(portfolio.meta["alpha"])
    ps = partial_share(fraud, cfg.partial_payment_share)

    # the schedule: instalment and balance after it, by month on book (0 after the term)
    sch = portfolio.schedules
    skey = pd.MultiIndex.from_arrays(
        [sch["loan_id"].astype(str), sch["instalment_no"].astype(np.int64)]
    )

    # looked up once for every row and instalment (a row's loan has at most ``width`` of them)
    width = int(term.max()) if n else 0
    at = skey.get_indexer(
        pd.MultiIndex.from_arrays(
            [np.repeat(loan_ids, width), np.tile(np.arange(1, width + 1, dtype=np.int64), n)]
        )
    ).reshape(n, width)
    pay_by_t = np.where(at >= 0, sch["payment"].to_numpy(float)[np.maximum(at, 0)], 0.0)
    bal_by_t = np.where(at >= 0, sch["balance_after"].to_numpy(float)[np.maximum(at, 0)], 0.0)

    def scheduled(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        inside = (t >= 1) & (t <= width)
        col = np.clip(t - 1, 0, max(width - 1, 0))
        if not width:
            return np.zeros(n), np.zeros(n)
        pay = np.where(inside, pay_by_t[rows, col], 0.0)
        bal = np.where(inside, bal_by_t[rows, col], 0.0)
        return pay, bal

    perf = portfolio.performance
    pkey = pd.MultiIndex.from_arrays([perf["loan_id"].astype(str), perf["mob"].astype(np.int64)])
    prev = pkey.get_indexer(pd.MultiIndex.from_arrays([loan_ids, t0 - 1]))

    def before(name: str) -> np.ndarray:
        return np.where(prev >= 0, perf[name].to_numpy(float)[np.maximum(prev, 0)], 0.0)

    # state: probability mass, expected arrears and unpaid penalty (mass-weighted) by bucket
    mass = np.zeros((n, MAX_BUCKET + 1))
    arrears = np.zeros((n, MAX_BUCKET + 1))
    owed = np.zeros((n, MAX_BUCKET + 1))
    rows = np.arange(n)
    mass[rows, b0] = 1.0
    arrears[rows, b0] = before("arrears")
    owed[rows, b0] = before("penalty_outstanding")
    cash = np.zeros(n)
    month_cash = np.zeros(n)
    later_cost = np.zeros(n)
    charged_off = np.zeros(n)
    co_face = np.zeros(n)
    costs = cfg.action_costs
    steps = LIFE_CAP if months is None else int(months)
    ran = 0
    for k in range(steps):
        if life and mass.sum(axis=1).max() < 1e-9:  # every account closed or charged off
            break
        ran = k + 1
        t = t0 + k
        pay, bal = scheduled(t)
        shocked = (start + t >= s_idx).astype(float)
        new_mass = np.zeros_like(mass)
        new_arrears = np.zeros_like(arrears)
        new_owed = np.zeros_like(owed)
        got = np.zeros(n)
        # current: miss, prepay (not in the last month) or pay
        m0 = mass[:, 0]
        h = np.where(fraud, FRAUD_LATER_HAZARD, sigmoid(alpha + z + strength * shocked))
        h = np.where(t <= term, h, 0.0)
        last = t >= term
        pre = np.where(last, 0.0, prepay)
        got += m0 * (1.0 - h - pre) * pay + m0 * pre * (pay + bal)
        new_mass[:, 0] += np.where(last, 0.0, m0 * (1.0 - h - pre))
        new_mass[:, 1] += m0 * h
        new_arrears[:, 1] += m0 * h * pay
        # delinquent: cure, pay one instalment, or roll
        for b in range(1, MAX_BUCKET + 1):
            m, a, o = mass[:, b], arrears[:, b], owed[:, b]
            if not m.any():
                continue
            o_now = o + a * mp  # the month's penalty interest on the arrears
            due = m * pay + a + o_now
            one = np.where(pay > 0, m * pay, a / b)  # what a partial payment pays
            if k == 0:
                cure = first["cure_prob"].to_numpy(float)
                cash_b = cure * due + (1.0 - cure) * ps * one
            else:
                # only the accounts with mass in the bucket: elsewhere the mass, arrears and
                # penalty are all zero, and so is everything they contribute
                live = np.flatnonzero(m > 0)
                fl, sl = fraud[live], shocked[live]
                logit_b = base_cure(b) - 0.3 * z_std[live] - 0.5 * strength * sl + late(b)
                logit_b = np.where(fl, FRAUD_CURE_LOGIT + late(b), logit_b)
                due_l, one_l, m_l, ps_l = due[live], one[live], m[live], ps[live]
                cure_l = np.zeros(len(live))
                cost_l = np.zeros(len(live))
                for action, share in cfg.collection_policy[BUCKET_NAMES[b - 1]].items():
                    ai = COLLECTION_ACTIONS.index(action)
                    la = logit_b + np.where(fl, 0.0, effects[payer[live], ai])
                    pool = _POOLED.get(action)
                    if pool is None:
                        ca = sigmoid(la)
                    else:
                        ca = sigmoid(
                            la[:, None] + np.where(fl, 0.0, 1.0)[:, None] * skills[pool][None, :]
                        ).mean(axis=1)
                    cure_l += share * ca
                    fee = HORIZON_AGENCY_FEE if action == "agency" else 0.0
                    cost_l += share * (
                        m_l * costs[action] + fee * (ca * due_l + (1.0 - ca) * ps_l * one_l)
                    )
                cure = np.zeros(n)
                cure[live] = cure_l
                later_cost[live] += cost_l
                cash_b = cure * due + (1.0 - cure) * ps * one
            got += cash_b
            stay = (1.0 - cure) * ps
            roll = (1.0 - cure) * (1.0 - ps)
            new_mass[:, 0] += np.where(last, 0.0, cure * m)
            new_mass[:, b] += stay * m
            new_arrears[:, b] += stay * (m * pay + a - one)
            new_owed[:, b] += stay * o_now
            if b < MAX_BUCKET:
                new_mass[:, b + 1] += roll * m
                new_arrears[:, b + 1] += roll * (m * pay + a)
                new_owed[:, b + 1] += roll * o_now
            else:
                charged_off += roll * m
                co_face += roll * (m * bal + m * pay + a + o_now)
        cash += got
        if k == 0:
            month_cash = got.copy()
        mass, arrears, owed = new_mass, new_arrears, new_owed
    out = first.copy()
    out["horizon_cash"] = cash
    out["month_cash"] = month_cash
    out["later_cost"] = later_cost
    out["p_current"] = 1.0 - mass[:, 1:].sum(axis=1) - charged_off
    out["p_charged_off"] = charged_off
    out["charged_off_face"] = co_face
    gross, commission = expected_recovery(np.where(fraud, 3, payer))
    out["recovery"] = co_face * gross
    out["recovery_cost"] = co_face * commission
    out["months"] = ran
    return out


def _skill(
    collector: np.ndarray, action: np.ndarray, skills: dict[str, np.ndarray], column: str
) -> np.ndarray:
    """Skill (log-odds) of each named collector; 0 for actions without a collector pool."""
    out = np.zeros(len(collector))
    for a, name in enumerate(COLLECTION_ACTIONS):
        pool = _POOLED.get(name)
        rows = np.flatnonzero(action == a)
        if pool is None or len(rows) == 0:
            continue
        prefix = f"{pool.upper()}-"
        for i in rows:
            who = str(collector[i])
            number = who[len(prefix) :]
            if not who.startswith(prefix) or not number.isdigit():
                raise DataError(
                    f"{column}: {who!r} cannot take action {name!r} (its collectors are "
                    f"{prefix}001 ... {prefix}{len(skills[pool]):03d})"
                )
            k = int(number) - 1
            if not 0 <= k < len(skills[pool]):
                raise DataError(f"{column}: {who!r} is not one of the book's collectors")
            out[i] = skills[pool][k]
    return out


def response_oracle(portfolio: Portfolio, contacts: pd.DataFrame) -> pd.DataFrame:
    """True probability that each customer applies within 30 days, with and without a contact.

    Parameters
    ----------
    portfolio : Portfolio
        A simulated book.
    contacts : pandas.DataFrame
        ``customer_id`` (any genuine customer of the book, contacted or not), ``sent_at`` (the
        day of the contact), ``channel`` (sms, push, call) and ``offer`` (preapproved_limit,
        rate_discount).

    Returns
    -------
    pandas.DataFrame
        Row-aligned with ``contacts``: ``customer_id``, ``sent_at``, ``channel``, ``offer``,
        ``dormant`` (180+ days inactive on that day), ``p_control`` (applies without the
        contact), ``p_contacted`` (applies if contacted) and ``uplift`` (the difference;
        negative for customers the contact puts off).
    """
    _simulated(portfolio)
    contacts = _require(contacts, ("customer_id", "sent_at", "channel", "offer"), "contacts")
    customers = portfolio.customers
    needed = ("true_latent", "true_dormant_since", "true_reactivatable")
    _require(
        customers,
        ("customer_id", "birth_date", "true_monthly_income", "relationship", *needed),
        "customers",
    )
    base = customers.set_index("customer_id")
    ids = contacts["customer_id"].astype(str)
    pos = base.index.get_indexer(ids)
    latent = base["true_latent"].to_numpy(float)
    known = pos >= 0
    known[known] = ~np.isnan(latent[pos[known]])
    if not known.all():
        raise DataError(
            f"customer_id: {int((~known).sum())} value(s) are not genuine customers of the book, "
            f"e.g. {ids[~known].iloc[0]!r}"
        )
    try:
        sent = pd.to_datetime(contacts["sent_at"]).to_numpy().astype("datetime64[D]")
    except (TypeError, ValueError) as exc:
        raise DataError("sent_at: not dates") from exc
    if np.isnat(sent).any():
        raise DataError("sent_at: missing dates")
    channel = _codes(contacts["channel"], CAMPAIGN_CHANNELS, "channel")
    offer = _codes(contacts["offer"], OFFERS, "offer")
    row = base.iloc[pos]
    birth = row["birth_date"].to_numpy().astype("datetime64[D]")
    since = row["true_dormant_since"].to_numpy().astype("datetime64[D]")
    days = days_inactive(since, sent, np.zeros(len(sent)))
    dormant = days >= DORMANT_DAYS
    p_control, uplift = response_model(
        age=(sent - birth).astype(np.int64) / 365.25,
        income=row["true_monthly_income"].to_numpy(float),
        relationship=row["relationship"].to_numpy(dtype=str),
        latent=latent[pos],
        dormant=dormant,
        comeback=row["true_reactivatable"].to_numpy(bool),
        channel=channel,
        offer=offer,
    )
    return pd.DataFrame(
        {
            "customer_id": ids.to_numpy(),
            "sent_at": sent.astype("datetime64[ms]"),
            "channel": np.array(CAMPAIGN_CHANNELS)[channel],
            "offer": np.array(OFFERS)[offer],
            "dormant": dormant,
            "p_control": p_control,
            "p_contacted": p_control + uplift,
            "uplift": uplift,
        },
        index=contacts.index,
    )
