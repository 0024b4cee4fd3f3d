"""The incumbent prices with the lifetime model at its own PD, within sensible limits."""

from __future__ import annotations

import numpy as np
import pytest

from creditfactory.data import Portfolio, incumbent_price
from creditfactory.data._incumbent import incumbent_pd, incumbent_score
from creditfactory.data._reference import PRODUCT_TERMS
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


def _price_of_what_it_could_lend(book: Portfolio, term: np.ndarray) -> np.ndarray:
    """The incumbent's price over ``term`` of the amount asked, cut to what a 50% debt-service
    ratio affords at that price (and priced again where that cut it)."""
    apps, cfg = book.applications, book.config
    ask = apps["amount_requested"].to_numpy(float)
    income, debt = apps["monthly_income"].to_numpy(float), apps["bureau_monthly_debt"].to_numpy()
    first = incumbent_price(apps, cfg, ask, term)
    afford = affordable_limit(income, debt, np.minimum(first, cfg.apr_cap), term, 0.5)
    amount = np.where(afford < ask, np.maximum(afford, 500.0), ask)  # what a loan could be
    return incumbent_price(apps, cfg, amount, term)


def test_what_it_cannot_price_under_the_cap_it_declines_or_lends_over_a_longer_term(
    book: Portfolio,
) -> None:
    d = book.incumbent_decisions
    cap = book.config.apr_cap
    priced_out = d["decline_reason"].to_numpy() == "PRICE_ABOVE_CAP"
    ok = d["decision"].to_numpy() == "approve"
    assert priced_out.sum() > 0
    asked = book.applications["term_requested"].to_numpy()
    offered = d["term"].to_numpy()
    product = book.applications["product"].to_numpy()
    assert np.all(offered[ok] >= asked[ok])
    assert (offered[ok] > asked[ok]).mean() > 0.05  # small, short loans: a longer term
    for t in (3, 6, 12, 24, 36):
        on = np.isin(product, [p for p, (terms, _) in PRODUCT_TERMS.items() if t in terms])
        price = _price_of_what_it_could_lend(book, np.full(len(d), t))
        # declined: no term of the product from the one asked on could be priced
        assert np.all(price[priced_out & on & (t >= asked)] > cap)
        # approved: over the shortest such term that could
        assert np.all(price[ok & (offered == t)] <= cap)
        assert np.all(price[ok & on & (t >= asked) & (t < offered)] > cap)


def test_instalments_fit_half_the_declared_income(book: Portfolio) -> None:
    d, ok = approved(book)
    pay = annuity_payment(d["amount_approved"].to_numpy()[ok], d["apr"].to_numpy()[ok],
                          d["term"].to_numpy()[ok])  # fmt: skip
    room = 0.5 * d["monthly_income"].to_numpy()[ok] - d["bureau_monthly_debt"].to_numpy()[ok]
    assert np.all(pay <= room + 1e-6)
