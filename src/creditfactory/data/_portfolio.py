"""``Portfolio``: the simulated book as pandas tables, written to and read from Parquet."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from creditfactory.data._config import SimulationConfig
from creditfactory.exceptions import ArtefactError

FORMAT_VERSION = 1
TABLES: tuple[str, ...] = (
    "customers",
    "applications",
    "truth",
    "incumbent_decisions",
    "loans",
    "schedules",
    "performance",
    "collections",
    "campaigns",
)
"""The tables of a portfolio, in the order they are written."""

TRUTH_PREFIX = "true_"
"""Columns of observable tables that hold the simulator's truth start with this prefix."""


@dataclass
class Portfolio:
    """A lending book: what the lender observed, and (in ``truth`` and ``true_*`` columns) what
    only the simulator knows.

    Attributes
    ----------
    customers, applications, truth, incumbent_decisions, loans, schedules, performance,
    collections, campaigns : pandas.DataFrame
        The tables; ``docs/data.md`` documents every column.
    config : SimulationConfig or None
        The configuration that generated the book (None for a book of real data).
    meta : dict
        Calibrated quantities (e.g. the intercept of the true model) and provenance.
    """

    customers: pd.DataFrame
    applications: pd.DataFrame
    truth: pd.DataFrame
    incumbent_decisions: pd.DataFrame
    loans: pd.DataFrame
    schedules: pd.DataFrame
    performance: pd.DataFrame
    collections: pd.DataFrame
    campaigns: pd.DataFrame
    config: SimulationConfig | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Parquet has no seconds unit: keep every timestamp in milliseconds so that a book read
        # back from disk is identical to the one written
        for name in TABLES:
            table = getattr(self, name)
            for col in table.columns:
                dtype = table[col].dtype
                if pd.api.types.is_datetime64_dtype(dtype) and str(dtype) != "datetime64[ms]":
                    table[col] = table[col].astype("datetime64[ms]")

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables by name, in :data:`TABLES` order."""
        return {name: getattr(self, name) for name in TABLES}

    def observable(self, name: str) -> pd.DataFrame:
        """Table ``name`` without the simulator's ``true_*`` columns (``truth`` has none that
        a lender could see, so asking for it is an error)."""
        if name == "truth":
            raise KeyError("'truth' is the simulator's ground truth; nothing in it is observable")
        table = getattr(self, name)
        return table.drop(columns=[c for c in table.columns if c.startswith(TRUTH_PREFIX)])

    def observed_outcomes(self, months: int = 12, dpd: int = 90) -> pd.DataFrame:
        """What the lender knows: for each loan observed at least ``months`` months on book,
        whether it reached ``dpd`` days past due (or was charged off) within them.

        Returns ``application_id``, ``loan_id`` and ``bad`` (0/1), one row per such loan.
        """
        seasoned = self.loans.loc[
            self.loans["months_observed"] >= months, ["application_id", "loan_id"]
        ]
        perf = self.performance
        window = perf[perf["loan_id"].isin(seasoned["loan_id"]) & (perf["mob"] <= months)]
        hit = (window["dpd"] >= dpd) | (window["bucket"] == "charged_off")
        bad = hit.groupby(window["loan_id"], observed=True).any()
        out = seasoned.assign(bad=seasoned["loan_id"].map(bad).fillna(False).astype(np.int64))
        return out.reset_index(drop=True)

    def write(self, directory: str | Path) -> Path:
        """Write one Parquet file per table plus ``portfolio.json`` (config and metadata).

        Returns the directory. Existing files of the same names are replaced.
        """
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        for name, table in self.tables().items():
            table.to_parquet(out / f"{name}.parquet", index=False)
        manifest = {
            "format_version": FORMAT_VERSION,
            "tables": {name: len(table) for name, table in self.tables().items()},
            "config": None if self.config is None else self.config.model_dump(mode="json"),
            "meta": self.meta,
        }
        (out / "portfolio.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
        return out

    @classmethod
    def read(cls, directory: str | Path) -> Portfolio:
        """Read a portfolio written by :meth:`write`; raises ``ArtefactError`` when files are
        missing, damaged or of a newer format."""
        src = Path(directory)
        manifest_path = src / "portfolio.json"
        if not manifest_path.is_file():
            raise ArtefactError(f"{src}: not a portfolio directory (no portfolio.json)")
        try:
            manifest = json.loads(manifest_path.read_text())
        except (OSError, ValueError) as exc:
            raise ArtefactError(f"{manifest_path}: unreadable ({exc})") from exc
        version = manifest.get("format_version")
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise ArtefactError(
                f"{manifest_path}: format_version {version!r} is not supported by this version "
                f"of creditfactory (reads up to {FORMAT_VERSION}); upgrade creditfactory"
            )
        tables = {}
        for name in TABLES:
            path = src / f"{name}.parquet"
            if not path.is_file():
                raise ArtefactError(f"{src}: table {name!r} is missing ({path.name})")
            try:
                tables[name] = pd.read_parquet(path)
            except Exception as exc:  # pyarrow raises several unrelated types
                raise ArtefactError(f"{path}: not a readable Parquet file ({exc})") from exc
            expected = manifest.get("tables", {}).get(name)
            if expected is not None and expected != len(tables[name]):
                raise ArtefactError(
                    f"{path}: has {len(tables[name])} rows, the manifest says {expected}"
                )
        config = manifest.get("config")
        return cls(
            **tables,
            config=None if config is None else SimulationConfig.model_validate(config),
            meta=manifest.get("meta", {}),
        )

    def __repr__(self) -> str:
        sizes = ", ".join(
            f"{f.name}={len(getattr(self, f.name)):,}" for f in fields(self) if f.name in TABLES
        )
        return f"Portfolio({sizes})"
