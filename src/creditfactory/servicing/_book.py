"""A servicing book: the loans and their monthly performance, simulated or read from files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from creditfactory.data import Column, Portfolio, Schema, read_table
from creditfactory.exceptions import DataError

BUCKETS = ["M0", "M1", "M2", "M3", "M4", "M5", "M6+", "charged_off"]

#: the ``loans`` table of a real book (``loans.csv`` or ``loans.parquet``)
LOANS_SCHEMA = Schema(
    [
        Column("loan_id", "string", nullable=False, unique=True),
        Column("disbursed_at", "date", nullable=False),
        Column("principal", "float", nullable=False, min=0),
        Column("product", "string", nullable=False),
        Column("term", "int", required=False, min=1),
        Column("channel", "string", required=False),
        Column("cohort", "string", required=False),
        Column("customer_id", "string", required=False),
        Column("limit", "float", required=False, min=0),
        Column("months_observed", "int", required=False, min=0),
    ],
    extra="ignore",
)

#: the ``performance`` table of a real book: one row per loan and month on book
PERFORMANCE_SCHEMA = Schema(
    [
        Column("loan_id", "string", nullable=False),
        Column("month", "date", nullable=False),
        Column("mob", "int", nullable=False, min=0),
        Column("dpd", "int", nullable=False, min=0),
        Column("bucket", "category", nullable=False, allowed=BUCKETS),
        Column("principal_outstanding", "float", nullable=False, min=0),
        Column("arrears", "float", required=False, min=0),
        Column("written_off", "float", required=False, min=0),
        Column("amount_due", "float", required=False, min=0),
        Column("amount_paid", "float", required=False, min=0),
        Column("closed", "bool", required=False),
    ],
    extra="ignore",
)


@dataclass(frozen=True)
class ServicingBook:
    """The loans (one row each, with their segments) and their monthly performance.

    ``loans`` has at least ``loan_id``, ``disbursed_at``, ``principal``, ``product`` and
    ``months_observed``, and where known ``channel``, ``cohort`` (birth generation),
    ``customer_id``, ``term`` and ``limit``; ``performance`` the columns of
    :data:`PERFORMANCE_SCHEMA`. ``source`` says where it came from.
    """

    loans: pd.DataFrame
    performance: pd.DataFrame
    source: str

    @property
    def observed_until(self) -> pd.Timestamp:
        """The last snapshot date of the book."""
        return pd.Timestamp(self.performance["month"].max())


def book_from_portfolio(portfolio: Portfolio) -> ServicingBook:
    """The servicing view of a simulated book: its loans with the application's channel, the
    customer's cohort and the incumbent's limit."""
    loans = portfolio.loans.merge(
        portfolio.applications[["application_id", "channel"]], on="application_id", how="left"
    )
    loans = loans.merge(
        portfolio.customers[["customer_id", "cohort"]], on="customer_id", how="left"
    )
    limits = portfolio.incumbent_decisions[["application_id", "limit"]]
    loans = loans.merge(limits, on="application_id", how="left")
    return ServicingBook(loans=loans, performance=portfolio.performance, source="simulated")


def _find(directory: Path, name: str) -> Path:
    for ext in (".parquet", ".csv", ".csv.gz"):
        candidate = directory / f"{name}{ext}"
        if candidate.is_file():
            return candidate
    raise DataError(f"{directory}: no {name}.parquet or {name}.csv (the {name} table)")


def read_book(directory: str | Path) -> ServicingBook:
    """Read a book: a simulated one (a directory written by ``Portfolio.write`` or
    ``creditfactory simulate --out``) or real tables, ``loans`` and ``performance`` as CSV or
    Parquet, validated against :data:`LOANS_SCHEMA` and :data:`PERFORMANCE_SCHEMA` (a
    missing column or a bad value is a ``SchemaError`` naming it)."""
    src = Path(directory)
    if not src.is_dir():
        raise DataError(f"{src}: no such directory")
    if (src / "portfolio.json").is_file():
        return book_from_portfolio(Portfolio.read(src))
    loans = read_table(_find(src, "loans"), LOANS_SCHEMA)
    perf = read_table(_find(src, "performance"), PERFORMANCE_SCHEMA)
    return book_from_tables(loans, perf, source=str(src))


def book_from_tables(
    loans: pd.DataFrame, performance: pd.DataFrame, source: str = "tables"
) -> ServicingBook:
    """A book from two frames already in memory (validated like files)."""
    loans = LOANS_SCHEMA.validate(loans)
    perf = PERFORMANCE_SCHEMA.validate(performance)
    unknown = ~perf["loan_id"].isin(loans["loan_id"])
    if unknown.any():
        first = perf.loc[unknown, "loan_id"].iloc[0]
        raise DataError(f"performance: loan_id {first!r} is not in loans ({unknown.sum()} rows)")
    if perf.duplicated(["loan_id", "mob"]).any():
        raise DataError("performance: more than one row for a (loan_id, mob)")
    loans = loans.copy()
    end = pd.Period(perf["month"].max(), freq="M")
    if loans["months_observed"].isna().all():
        # months from the disbursement month to the book's last month: the due dates seen
        start = pd.PeriodIndex(loans["disbursed_at"], freq="M")
        loans["months_observed"] = [(end - s).n for s in start]
    elif loans["months_observed"].isna().any():
        raise DataError("loans: column 'months_observed' is missing for some loans")
    if "closed" in perf and perf["closed"].isna().all():
        perf["closed"] = False
    for col in ("arrears", "written_off"):
        if col in perf and perf[col].isna().all():
            perf[col] = 0.0
    perf["bucket"] = perf["bucket"].astype(pd.CategoricalDtype(BUCKETS))
    perf["month"] = perf["month"].astype("datetime64[ms]")
    loans["disbursed_at"] = loans["disbursed_at"].astype("datetime64[ms]")
    return ServicingBook(loans=loans, performance=perf, source=source)
