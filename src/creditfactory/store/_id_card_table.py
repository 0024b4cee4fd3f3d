"""The ID-card check table (since revision 0006_id_card_checks); see :mod:`._id_cards`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from creditfactory.store._tables import Base


class IdCardCheck(Base):
    """The cross-check of one ID-card image with an application (rows are never updated: a new
    image adds a row, the latest is the application's check)."""

    __tablename__ = "id_card_checks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    image_hmac: Mapped[str | None] = mapped_column(String(64), nullable=True)
    ok: Mapped[bool] = mapped_column(Boolean)
    problems: Mapped[list[str]] = mapped_column(JSON)
    fields: Mapped[dict[str, str]] = mapped_column(JSON)  # field -> matched | mismatched ...
    confidence: Mapped[str | None] = mapped_column(String(20), nullable=True)  # decimal text
    checked_by: Mapped[str] = mapped_column(String(100))
    checked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


__all__ = ["IdCardCheck"]
