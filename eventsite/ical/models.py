"""The catalogue version: one row whose counter moves whenever anything a calendar shows does."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Integer
from sqlalchemy.orm import Mapped, mapped_column

from eventsite.extensions import db
from eventsite.timeutil import UTCDateTime

CATALOGUE_ROW_ID = 1


class CatalogueVersion(db.Model):
    """A single row (id 1). `version` goes up in the same transaction as every change to
    events, agenda sessions, speakers, topics or organisations (see ical/catalogue.py),
    so a feed's ETag is one primary-key lookup instead of an aggregate over its events.
    `changed_at` is the time of the last change (a feed's Last-Modified)."""

    __tablename__ = "catalogue_versions"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger, default=0)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<CatalogueVersion {self.version}>"
