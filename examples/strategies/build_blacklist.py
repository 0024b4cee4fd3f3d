"""Rebuild ``blacklist.txt``, the blacklist the example strategies load.

Simulates the demo book (50,000 applications, seed 7) and lists the ID numbers, phones and
devices of the fraud a lender would have confirmed by the end of its history
(``creditfactory.data.confirmed_fraud_identifiers``: booked fraud that missed its first
instalment, confirmed 60 days later, and the ring members investigators linked to it)::

    .venv/bin/python examples/strategies/build_blacklist.py
"""

from __future__ import annotations

from pathlib import Path

from creditfactory.data import (
    SimulationConfig,
    blacklist_lines,
    confirmed_fraud_identifiers,
    simulate,
)

OUT = Path(__file__).parent / "blacklist.txt"


def build(n: int = 50_000, seed: int = 7) -> str:
    """The file's text for the book of ``n`` applications simulated with ``seed``."""
    cfg = SimulationConfig(n_applications=n, seed=seed)
    listed = confirmed_fraud_identifiers(simulate(cfg), before=cfg.observation_date)
    header = (
        "Blacklist: ID numbers, phones and devices of fraud confirmed in the simulated book\n"
        f"(n_applications={n}, seed={seed}) before {cfg.observation_date}.\n"
        "Written by examples/strategies/build_blacklist.py; do not edit by hand.\n"
        'In production the list is supplied at load time: Strategy.load(path, lists={"blacklist":'
        " ...})."
    )
    return blacklist_lines(listed, header)


def main() -> Path:
    OUT.write_text(build(), encoding="utf-8")
    return OUT


if __name__ == "__main__":
    main()
