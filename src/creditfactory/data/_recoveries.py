"""After charge-off: the debt goes to a collection agency for a few months, then is sold.

Each charged-off account is placed with an agency for ``AGENCY_MONTHS`` months; each month it
settles with a probability that depends on the payer type (fraud almost never settles), paying
a share of the written-off amount, and the agency keeps a commission. Accounts still unpaid
are then sold to a debt buyer at a price that depends on the same (buyers price by segment):
a few percent to about twenty percent of face value (``shared/DOMAIN.md``).
"""

from __future__ import annotations

import numpy as np

AGENCY_MONTHS = 6
AGENCY_COMMISSION = 0.3
"""Share of what the agency recovers that it keeps (contingency fee)."""
# by payer type (forgetful, unwilling, unable), then fraud
_SETTLE_P = np.array([0.07, 0.06, 0.02, 0.003])
_SETTLE_SHARE = (0.25, 0.6)  # a settlement pays this share of the face value (uniform)
_SALE_PRICE = np.array([0.14, 0.11, 0.05, 0.02])
SALE_PRICE_RANGE = (0.01, 0.25)
"""A debt buyer pays between these shares of the face value."""
DEBT_BUYER = "DEBT-BUYER"


def recovery_rows(
    face: np.ndarray,
    kind: np.ndarray,
    months_left: np.ndarray,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Monthly rows after charge-off, for accounts with written-off ``face`` (cents), ``kind``
    (payer type index 0-2, 3 for fraud) and ``months_left`` months observable after the
    charge-off month.

    Returns arrays over the rows: ``account`` (index into the inputs), ``k`` (months since
    charge-off, from 1), ``sold`` (debt sale row, else agency), ``cents`` recovered and
    ``settle_prob`` (the agency row's true probability of settling; NaN for a sale).
    """
    n = len(face)
    settle_month = rng.geometric(_SETTLE_P[kind])  # 1-based month of settlement
    share = rng.uniform(*_SETTLE_SHARE, n)
    price = np.clip(_SALE_PRICE[kind] * np.exp(rng.normal(0.0, 0.3, n)), *SALE_PRICE_RANGE)
    settles = settle_month <= AGENCY_MONTHS
    last = np.where(settles, settle_month, AGENCY_MONTHS + 1)  # the sale comes after placement
    length = np.minimum(last, np.maximum(months_left, 0))
    account = np.repeat(np.arange(n), length)
    start = np.cumsum(length) - length
    k = np.arange(len(account)) - np.repeat(start, length) + 1
    is_last = k == last[account]
    sold = is_last & ~settles[account]
    settled = is_last & settles[account]
    value = np.where(settled, share[account], np.where(sold, price[account], 0.0))
    cents = np.rint(face[account] * value)
    # a price at the range's ends stays inside it once rounded to the cent
    lo, hi = SALE_PRICE_RANGE
    cents = np.where(sold, np.clip(cents, np.ceil(face[account] * lo), face[account] * hi), cents)
    cents = np.floor(cents).astype(np.int64)
    settle_prob = np.where(sold, np.nan, _SETTLE_P[kind][account])
    return {"account": account, "k": k, "sold": sold, "cents": cents, "settle_prob": settle_prob}


def expected_recovery(kind: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Expected recovery of a charged-off debt per unit of its face, by ``kind`` (payer type
    index 0-2, 3 for fraud), over its whole course (the agency's months, then the sale):
    ``(recovered, commission)``, the gross amount and the agency's share of it, as the
    collections table records them (``amount_recovered`` and ``cost``)."""
    p = _SETTLE_P[kind]
    settles = 1.0 - (1.0 - p) ** AGENCY_MONTHS
    settled = settles * (_SETTLE_SHARE[0] + _SETTLE_SHARE[1]) / 2.0
    # the sale price: the segment's price times a lognormal(0, 0.3), clipped to the range
    x, w = np.polynomial.hermite_e.hermegauss(64)
    w = w / w.sum()
    prices = np.clip(_SALE_PRICE[:, None] * np.exp(0.3 * x[None, :]), *SALE_PRICE_RANGE)
    sale = (prices * w[None, :]).sum(axis=1)[kind]
    return settled + (1.0 - settles) * sale, AGENCY_COMMISSION * settled
