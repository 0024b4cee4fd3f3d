"""The incumbent prices with the lifetime model at its own PD, within sensible limits."""

from __future__ import annotations

import numpy as np
import pytest

from creditfactory.data import Portfolio, incumbent_price
from creditfactory.data._incumbent import incumbent_pd, incumbent_score
from creditfactory.pricing import TARGET_RETURN, affordable_limit, annuity_payment, loan_value


def approved(book: Portfolio):
    d = book.incumbent_decisions.merge(book.applications, on="application_id")
    return d, d["decision"].to_numpy() == "approve"


def test_its_pd_ranks_by_score_and_matches_the_bad_rate_in_the_large(book: Portfolio) -> None:
    score = incumbent_score(book.applications)
    p = incumbent_pd(np.round(score, 1), book.config.target_bad_rate)
    assert p.mean() == pytest.approx(book.config.target_bad_rate, rel=1e-9)
    order = np.argsort(score)
    assert np.all(np.diff(p[order]) <= 1e-15)  # higher score, lower PD


def test_every_loan_earns_its_target_at_the_incumbents_own_pd(book: Portfolio) -> None:
    d, ok = approved(book)
    cfg = book.config
    apr = d["apr"].to_numpy()[ok]
    assert apr.min() >= cfg.apr_floor - 1e-12
    assert apr.max() <= cfg.apr_cap + 1e-12
    score = incumbent_score(book.applications)
    pd_inc = incumbent_pd(np.round(score, 1), cfg.target_bad_rate)
    pos = book.applications.reset_index().set_index("application_id").loc[d["application_id"]]
    p = pd_inc[pos["index"].to_numpy()][ok]
    amount = d["amount_approved"].to_numpy()[ok]
    whole = amount == d["amount_requested"].to_numpy()[ok]  # priced at the amount lent
    value = loan_value(amount[whole], apr[whole], d["term"].to_numpy()[ok][whole], p[whole])
    # APRs are rounded to 0.01 points (a return of about 1e-4 either way); floored ones earn more
    assert value.annual_return.min() >= TARGET_RETURN - 2e-4
    floored = apr[whole] <= cfg.apr_floor + 1e-12
    assert np.all(value.annual_return[~floored] < TARGET_RETURN + 2e-4)


def test_what_it_cannot_price_under_the_cap_it_declines(book: Portfolio) -> None:
    d = book.incumbent_decisions
    priced_out = d["decline_reason"].to_numpy() == "PRICE_ABOVE_CAP"
    assert priced_out.sum() > 0
    apps = book.applications
    cfg = book.config
    ask = apps["amount_requested"].to_numpy(float)
    term = apps["term_requested"].to_numpy()
    income, debt = apps["monthly_income"].to_numpy(float), apps["bureau_monthly_debt"].to_numpy()
    first = incumbent_price(apps, cfg, ask, term)
    afford = affordable_limit(income, debt, np.minimum(first, cfg.apr_cap), term, 0.5)
    amount = np.where(afford < ask, np.maximum(afford, 500.0), ask)  # what a loan could be
    price = incumbent_price(apps, cfg, amount, term)
    assert np.all(price[priced_out] > cfg.apr_cap)
    assert np.all(price[d["decision"].to_numpy() == "approve"] <= cfg.apr_cap)


def test_instalments_fit_half_the_declared_income(book: Portfolio) -> None:
    d, ok = approved(book)
    pay = annuity_payment(d["amount_approved"].to_numpy()[ok], d["apr"].to_numpy()[ok],
                          d["term"].to_numpy()[ok])  # fmt: skip
    room = 0.5 * d["monthly_income"].to_numpy()[ok] - d["bureau_monthly_debt"].to_numpy()[ok]
    assert np.all(pay <= room + 1e-6)
