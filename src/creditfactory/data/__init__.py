"""The portfolio twin and data loaders.

``simulate(SimulationConfig(...))`` generates a whole lending book from a known causal model
(customers, applications, truth, incumbent decisions, loans, schedules, performance, collections,
campaigns); ``offer_outcomes`` is its oracle for any offer (true take-up and 12-month PD);
``incumbent_price`` is the incumbent's APR (the lifetime model at its own risk estimate);
``Portfolio.write``/``Portfolio.read`` store it as Parquet; ``read_table`` loads real data against
a declared schema.
"""

import typing

from creditfactory import _lazy_exports

if typing.TYPE_CHECKING:
    from creditfactory.data._blacklist import blacklist_lines, confirmed_fraud_identifiers
    from creditfactory.data._config import SimulationConfig
    from creditfactory.data._identity import is_valid_id_number, valid_id_mask
    from creditfactory.data._incumbent import incumbent_price
    from creditfactory.data._loader import read_table
    from creditfactory.data._offers import offer_outcomes
    from creditfactory.data._oracles import collection_horizon, collection_oracle, response_oracle
    from creditfactory.data._portfolio import TABLES, Portfolio
    from creditfactory.data._schedule import amortisation_schedule
    from creditfactory.data._schema import Column, Schema
    from creditfactory.data._simulate import simulate
    from creditfactory.data._summary import PortfolioSummary, summarise

__all__ = [
    "TABLES",
    "Column",
    "Portfolio",
    "PortfolioSummary",
    "Schema",
    "SimulationConfig",
    "amortisation_schedule",
    "blacklist_lines",
    "collection_horizon",
    "collection_oracle",
    "confirmed_fraud_identifiers",
    "incumbent_price",
    "is_valid_id_number",
    "offer_outcomes",
    "read_table",
    "response_oracle",
    "simulate",
    "summarise",
    "valid_id_mask",
]

if not typing.TYPE_CHECKING:  # each name is imported from its module on first use
    __getattr__, __dir__ = _lazy_exports(__name__)
