"""The online APR's table (``pricing._table``): within 1e-7 of the exact solve everywhere
(random points, not only the midpoints checked when it is built), the exact solve where the
APR is not smooth (the solver's cap) or outside the table, the same bits online and in batch,
and a bounded number of tables kept."""

from __future__ import annotations

import math

import numpy as np
import pytest

import creditfactory.pricing as pr
from creditfactory.pricing import _solve, _table


def _economics(rng: np.random.Generator) -> pr.LoanEconomics:
    return pr.LoanEconomics(
        lgd=float(rng.uniform(0.3, 1.0)),
        cost_of_funds=float(rng.uniform(0.0, 0.2)),
        prepayment=float(rng.uniform(0.0, 0.1)),
        cost_per_loan=float(rng.uniform(0.0, 500.0)),
        cost_per_month=float(rng.uniform(0.0, 20.0)),
        fee_upfront=float(rng.uniform(0.0, 0.05)),
        fee_monthly=float(rng.uniform(0.0, 0.01)),
    )


@pytest.mark.parametrize("seed", [1, 2])
def test_the_table_is_within_1e7_of_the_exact_solve_at_random_points(seed: int) -> None:
    rng = np.random.default_rng(seed)
    eco = pr.LoanEconomics() if seed == 1 else _economics(rng)
    for term in (1.0, 3.0, 12.0, 36.0):
        target = 0.05 if seed == 1 else float(rng.uniform(-0.05, 0.3))
        # PDs and amounts across and beyond the table (0.6, 250): those fall back
        pd_ = rng.uniform(0.0, 0.7, 1500)
        amount = np.exp(rng.uniform(math.log(150.0), math.log(1e6), 1500))
        online = np.array(
            [
                pr.risk_based_apr(float(p), float(a), term, target, eco)
                for p, a in zip(pd_, amount, strict=True)
            ]
        )
        exact = np.array(
            [
                _solve.apr_float(float(p), float(a), term, target, eco)
                for p, a in zip(pd_, amount, strict=True)
            ]
        )
        assert np.max(np.abs(online - exact)) <= 1e-7
        # batch: the same cells and arithmetic (so the same bits), the exact solve's arrays
        # elsewhere (the same steps as its floats, each stopping within ~1e-12 of the root)
        batch = pr.risk_based_apr(pd_, amount, np.full(pd_.size, term), target, eco)
        np.testing.assert_allclose(batch, online, rtol=1e-11, atol=1e-11)
        # and the table does the work: most prices are not the exact solve's bits
        inside = (pd_ < _table.PD_MAX) & (amount > _table.AMOUNT_MIN) & (exact < 1.0)
        assert np.mean(online[inside] != exact[inside]) > 0.5


def test_cells_at_the_solvers_cap_fall_back_to_the_exact_solve() -> None:
    eco = pr.LoanEconomics()
    coef, bad = _table.build(eco, 1.0, 0.05)  # one month: high PDs need APRs above the cap
    assert bad > 0
    cells = coef.reshape(_table.PD_NODES - 1, _table.X_NODES - 1, 16)
    assert np.isnan(cells[-1, -1]).all()  # pd 0.6, amount 250: priced at the cap
    assert not np.isnan(cells[5, 5]).any()
    assert pr.risk_based_apr(0.59, 260.0, 1, 0.05, eco) == _solve.apr_float(
        0.59, 260.0, 1.0, 0.05, eco
    )


def test_a_bounded_number_of_tables_is_kept() -> None:
    eco = pr.LoanEconomics(cost_per_loan=77.0)
    for k in range(_table.TABLES + 3):
        pr.risk_based_apr(0.05, 10_000.0, 12, 0.01 + k / 1000, eco)
    assert len(_table._KEPT) <= _table.TABLES
    assert len(eco._tables) <= _table.TABLES
    assert (12.0, 0.01) not in eco._tables  # the first built went first
    # a dropped table is built again, to the same prices
    again = pr.risk_based_apr(0.05, 10_000.0, 12, 0.01, eco)
    assert again == pytest.approx(_solve.apr_float(0.05, 10_000.0, 12.0, 0.01, eco), abs=1e-7)
