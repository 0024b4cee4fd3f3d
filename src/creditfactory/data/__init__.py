"""The portfolio twin and data loaders.

``simulate(SimulationConfig(...))`` generates a whole lending book from a known causal model
(customers, applications, truth, incumbent decisions, loans, schedules, performance, collections,
campaigns); ``Portfolio.write``/``Portfolio.read`` store it as Parquet; ``read_table`` loads real
data against a declared schema.
"""

from creditfactory.data._config import SimulationConfig
from creditfactory.data._identity import is_valid_id_number, valid_id_mask
from creditfactory.data._portfolio import TABLES, Portfolio
from creditfactory.data._schedule import amortisation_schedule
from creditfactory.data._simulate import simulate

__all__ = [
    "TABLES",
    "Portfolio",
    "SimulationConfig",
    "amortisation_schedule",
    "is_valid_id_number",
    "simulate",
    "valid_id_mask",
]
