"""The loan tables (since revision 0004_loans): loans, their payments and write-offs.

Rows are never updated: a loan's state is replayed from them by
:mod:`creditfactory.servicing` (``loan_position``). Money is integer fen; dates are ISO-8601
text and rates Decimal text, so that what the ledger's digests cover survives every database.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from creditfactory.store._tables import Base


class Loan(Base):
    """A loan disbursed from an approved decision (one loan per decision)."""

    __tablename__ = "loans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id"), unique=True)
    amount: Mapped[int] = mapped_column(BigInteger)  # fen
    apr: Mapped[str] = mapped_column(String(30))  # Decimal text
    term: Mapped[int] = mapped_column(Integer)
    method: Mapped[str] = mapped_column(String(30))
    disbursed_on: Mapped[str] = mapped_column(String(10))  # YYYY-MM-DD
    penalty_rate: Mapped[str] = mapped_column(String(30))  # Decimal text
    late_fee: Mapped[int] = mapped_column(BigInteger)  # fen
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LoanPayment(Base):
    """A payment posted to a loan; ``idempotency_key`` is unique per loan."""

    __tablename__ = "loan_payments"
    __table_args__ = (
        UniqueConstraint("loan_id", "idempotency_key", name="uq_loan_payment_idempotency"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"), index=True)
    paid_on: Mapped[str] = mapped_column(String(10))  # YYYY-MM-DD
    amount: Mapped[int] = mapped_column(BigInteger)  # fen
    reference: Mapped[str | None] = mapped_column(String(200), nullable=True)
    idempotency_key: Mapped[str] = mapped_column(String(200))
    request_sha256: Mapped[str] = mapped_column(String(64))
    posted_by: Mapped[str] = mapped_column(String(100))
    posted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LoanWriteOff(Base):
    """The write-off of a loan (at most one)."""

    __tablename__ = "loan_write_offs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"), unique=True)
    written_off_on: Mapped[str] = mapped_column(String(10))  # YYYY-MM-DD
    amount: Mapped[int] = mapped_column(BigInteger)  # fen written off
    reason: Mapped[str] = mapped_column(String(500))
    written_off_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


__all__ = ["Loan", "LoanPayment", "LoanWriteOff"]
