"""A record of each "send to a friend", so limits hold across servers and restarts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from eventsite.extensions import db
from eventsite.timeutil import UTCDateTime, utcnow


class EventShare(db.Model):
    __tablename__ = "event_shares"
    __table_args__ = (
        Index("ix_event_shares_recipient_digest_created_at", "recipient_digest", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    # A digest, not the address: enough to count messages per recipient, and nothing more.
    recipient_digest: Mapped[str] = mapped_column(String(64))
    sender_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<EventShare {self.id} event={self.event_id}>"
