"""The outbox: every email is a row first, written in the transaction that causes it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from eventsite.extensions import db
from eventsite.timeutil import UTCDateTime, utcnow


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # permanently: rejected by the server or out of attempts


class OutboxMessage(db.Model):
    __tablename__ = "outbox_messages"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'sent', 'failed')", name="status_known"),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        # What the sender polls: pending messages that are due.
        Index("ix_outbox_messages_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stable Message-ID, chosen when queued: a retry re-sends the same message.
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    category: Mapped[str] = mapped_column(String(50), default="")
    to_address: Mapped[str] = mapped_column(String(254))
    reply_to: Mapped[str | None] = mapped_column(String(254))
    # The From header's display name (e.g. the organisation writing to its registrants);
    # the address is always MAIL_DEFAULT_SENDER's.
    from_name: Mapped[str | None] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    # A message queued as facts (`services.queue_facts`): the renderer that still has to
    # write its subject, bodies and attachments from `facts`, in `locale`; the sender does
    # it once it holds the row's lease, stores the result and clears `renderer`. None: the
    # message was rendered when queued, or has been since.
    renderer: Mapped[str | None] = mapped_column(String(50))
    facts: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    locale: Mapped[str | None] = mapped_column(String(35))
    body_html: Mapped[str | None] = mapped_column(Text)
    # [{"filename": ..., "content_type": "text/calendar; method=REQUEST", "data": base64}]
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # RFC 8058 one-click unsubscribe: an HTTPS address a mail client may POST to. Sent as
    # List-Unsubscribe with List-Unsubscribe-Post; only mail to a list carries one.
    list_unsubscribe: Mapped[str | None] = mapped_column(String(1000))
    status: Mapped[OutboxStatus] = mapped_column(String(20), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A sender's claim while it talks to the mail server (no lock is held meanwhile): the
    # token it must still hold to record the outcome, and when the claim lapses, after
    # which another sender may take the message (a sender that died leaves it so).
    lease_token: Mapped[str | None] = mapped_column(String(32))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<OutboxMessage {self.id} {self.status} to={self.to_address}>"
