"""Small simulated books and what is fitted on them, shared by the collections tests (each built
once per session: the scores, the written book and the scored history are reused across
modules)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest

from creditfactory.collections import CollectionScores, account_months, scored_history
from creditfactory.data import Portfolio, SimulationConfig, simulate


@pytest.fixture(scope="session")
def book() -> Portfolio:
    return simulate(SimulationConfig(n_applications=25_000, seed=21))


@pytest.fixture(scope="session")
def accounts(book: Portfolio) -> pd.DataFrame:
    return account_months(book)


@pytest.fixture(scope="session")
def scores(accounts: pd.DataFrame) -> CollectionScores:
    """C-scores fitted on the months before the book's last six (out of time for all six)."""
    cut = sorted(accounts["month"].unique())[-6]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the scorecards' selection notes
        return CollectionScores().fit(accounts[accounts["month"] < cut])


@pytest.fixture(scope="session")
def history(book: Portfolio) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return scored_history(book)


@pytest.fixture(scope="session")
def book_dir(book: Portfolio, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The book written to disk once, for the commands (which only read it)."""
    root = tmp_path_factory.mktemp("collections_book") / "book"
    book.write(root)
    return root
