"""What only the organiser workspace keeps: the audit log of who changed what."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eventsite.accounts.models import User
from eventsite.extensions import db
from eventsite.timeutil import UTCDateTime, utcnow


class AuditEntry(db.Model):
    """One thing someone did in the workspace.

    `details` holds what changed, e.g. `{"changes": {"title": {"old": "A", "new": "B"}}}`;
    values are JSON-ready (datetimes as ISO 8601 UTC strings).
    """

    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_entries_event_id_created_at", "event_id", "created_at"),
        Index("ix_audit_entries_organisation_id_created_at", "organisation_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    # Kept when the event or the person goes away: the log outlives what it describes.
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="SET NULL"))
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    action: Mapped[str] = mapped_column(String(50))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    actor: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<AuditEntry {self.id} {self.action} event={self.event_id}>"
