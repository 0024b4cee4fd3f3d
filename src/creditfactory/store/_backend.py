"""What a database back-end of the group-commit writer provides: :class:`WriteBackend`.

A back-end writes a batch of :class:`~creditfactory.store._rows.Pending` decisions in one
transaction (lock the ledger head, take ids, insert every table, move the head, commit) and lays
the rows out its own way (:class:`~creditfactory.store._rows.RowFormat`). The writer
(:class:`~creditfactory.store._writer.Writer`) owns the connection and the error handling and
chooses a back-end by name (:data:`~creditfactory.store._writer.BACKENDS`): ``sqlite``
(:mod:`~creditfactory.store._backend_sqlite`) and ``postgresql``
(:mod:`~creditfactory.store._backend_postgres`).
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import Engine, Table

from creditfactory.store._rows import Pending, RowFormat
from creditfactory.store._tables import Application, DecisionRecord, LedgerHead, LedgerRow, Review


class WriteBackend(RowFormat, Protocol):
    """One database's way of writing a batch."""

    #: the name it is chosen by (a SQLAlchemy dialect name)
    name: str

    def connected(self, conn: Any) -> None:
        """The writer opened ``conn`` (the pool's proxy of its DB-API connection)."""

    def write(self, raw: Any, batch: list[Pending]) -> list[tuple[Any, Any, Any]]:
        """Write ``batch`` in one transaction on the DB-API connection ``raw`` and commit it:
        ``(application, decision, review or None)`` per item, in order. On an error the writer
        rolls back and calls :meth:`failed`."""

    def failed(self) -> None:
        """The last :meth:`write` failed: forget what it assumed about the database."""

    def others_wrote(self, raw: Any) -> bool:
        """Whether another connection may have committed on the database since the last call
        on ``raw`` (the writer's idle DB-API connection); True when the back-end cannot tell
        cheaply. Never False after another connection's commit."""

    def committed(self) -> None:
        """A batch was committed (e.g. wake the SQLite checkpointer)."""

    def close(self) -> None:
        """The writer let go of its connection."""


class Tables:
    """The writer's tables and their quoted names for one engine's dialect."""

    def __init__(self, engine: Engine):
        dialect = engine.dialect
        self.quote = dialect.identifier_preparer.quote
        self.mark = "%s" if dialect.paramstyle in ("format", "pyformat") else "?"
        self.app: Table = Application.__table__  # type: ignore[assignment]  # declarative
        self.dec: Table = DecisionRecord.__table__  # type: ignore[assignment]
        self.rev: Table = Review.__table__  # type: ignore[assignment]
        self.ledger: Table = LedgerRow.__table__  # type: ignore[assignment]
        self.head: Table = LedgerHead.__table__  # type: ignore[assignment]
        h, mark = self.quote(self.head.name), self.mark
        # taking the write lock first (an UPDATE) makes writers in other processes queue up
        self.lock_head = f"UPDATE {h} SET seq = seq WHERE id = 1 RETURNING seq, hash"
        self.move_head = (
            f"UPDATE {h} SET seq = {mark}, hash = {mark}, updated_at = {mark} WHERE id = 1"
        )

    def names(self, cols: tuple[str, ...]) -> str:
        """``cols`` quoted, comma-separated."""
        return ", ".join(self.quote(c) for c in cols)
