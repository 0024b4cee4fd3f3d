"""Fraud links: what the online fraud features need of each decided application, stored with the
decision so that every engine process sees every other's applications.

The factory's fraud source (:class:`creditfactory.fraud.FraudSource`) keeps its history in
memory; an engine process adds the applications it decides itself and, before each batch,
*tails* this table for the ones other processes decided since (``seq`` above its high-water
mark). A row holds the application's arrival time (seconds), whether its ID number is valid, when
it became known bad (if the application said so) and its identifiers as keyed hashes
(:meth:`creditfactory.fraud.FraudSource.link`, never clear text): customer, device, phone,
emergency contact, ID number, IP address, /24 subnet and address.

``seq`` is the decision's ledger sequence number. The ledger head is locked (or guarded) by every
writer until it commits, so sequence numbers are committed in increasing order and a reader that
has seen ``seq`` ``s`` will never later find a committed row below ``s`` (application ids, which
the PostgreSQL writer reserves ahead, do not have that property). The row is written by the
group-commit writer in the decision's transaction (:func:`link_rows`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, synonym

from creditfactory.store._tables import Base

#: the columns of a link row after ``seq`` and ``application_id`` (what ``FraudSource.link``
#: gives, in this order)
LINK_COLS = (
    "t", "id_valid", "known_bad_at", "customer", "device", "phone", "contact", "id_number", "ip",
    "subnet", "address",
)  # fmt: skip
#: every column, in insert order
ALL_LINK_COLS = ("seq", "application_id", *LINK_COLS)


class FraudLink(Base):
    """One decided application's fraud link row (since revision 0005)."""

    __tablename__ = "fraud_links"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    application_id: Mapped[int] = mapped_column(Integer, ForeignKey("applications.id"))
    t: Mapped[int] = mapped_column(BigInteger)
    id_valid: Mapped[bool] = mapped_column(Boolean)
    known_bad_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    customer: Mapped[str | None] = mapped_column(String(64), nullable=True)
    device: Mapped[str | None] = mapped_column(String(64), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    contact: Mapped[str | None] = mapped_column(String(64), nullable=True)
    id_number: Mapped[str | None] = mapped_column(String(64), nullable=True)
    ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    subnet: Mapped[str | None] = mapped_column(String(64), nullable=True)
    address: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # the ledger names a link by its seq (``fraud_link:<seq>``), as other records by their id
    id = synonym("seq")


def insert_links(quote: Any, mark: str, n: int) -> str:
    """``INSERT`` of ``n`` link rows (``ALL_LINK_COLS``, one ``mark`` a value)."""
    cols = ", ".join(quote(c) for c in ALL_LINK_COLS)
    row = "(" + ", ".join([mark] * len(ALL_LINK_COLS)) + ")"
    return f"INSERT INTO {quote(FraudLink.__tablename__)} ({cols}) VALUES {', '.join([row] * n)}"


class LinkReader:
    """Reads the link rows after a sequence number on a DB-API connection of its own (one
    indexed range query a batch; no SQLAlchemy session on the hot path)."""

    def __init__(self, engine: Any):
        self.engine = engine
        dialect = engine.dialect
        quote = dialect.identifier_preparer.quote
        mark = "%s" if dialect.paramstyle in ("format", "pyformat") else "?"
        cols = ", ".join(quote(c) for c in ALL_LINK_COLS)
        self.query = (
            f"SELECT {cols} FROM {quote(FraudLink.__tablename__)} "
            f"WHERE {quote('seq')} > {mark} ORDER BY {quote('seq')}"
        )
        self._conn: Any = None

    def after(self, seq: int) -> list[tuple[Any, ...]]:
        """``(seq, application_id, *LINK_COLS)`` of the rows after ``seq``, in order."""
        if self._conn is None:
            self._conn = self.engine.raw_connection()
        raw = self._conn.dbapi_connection
        try:
            cur = raw.cursor()
            cur.execute(self.query, (seq,))
            rows = [tuple(r) for r in cur.fetchall()]
            raw.commit()  # end the read transaction: the next read sees newer commits
        except BaseException:
            self.close(invalidate=True)
            raise
        return rows

    def close(self, invalidate: bool = False) -> None:
        """Let go of the connection."""
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.invalidate() if invalidate else conn.close()
            except Exception:  # closing a broken connection
                return
