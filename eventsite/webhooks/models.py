"""Webhook endpoints (an organisation's receivers) and their deliveries (an outbox: a row is
written in the transaction of the change it tells of, then sent by the worker)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eventsite import catalogue
from eventsite.extensions import db
from eventsite.organisations.models import Organisation
from eventsite.timeutil import UTCDateTime, utcnow

MAX_URL_LENGTH = 500


class EventType(StrEnum):
    REGISTRATION_CREATED = "registration.created"
    REGISTRATION_CHANGED = "registration.changed"
    REGISTRATION_CANCELLED = "registration.cancelled"
    REGISTRATION_CHECKED_IN = "registration.checked_in"
    EVENT_PUBLISHED = "event.published"
    EVENT_CHANGED = "event.changed"
    EVENT_CANCELLED = "event.cancelled"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # out of attempts (or its endpoint was removed)


class WebhookEndpoint(db.Model):
    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    url: Mapped[str] = mapped_column(String(MAX_URL_LENGTH))
    # The HMAC key: kept as it is (a hash could not sign), shown to the organisation's members.
    secret: Mapped[str] = mapped_column(String(100))
    # The EventType values this endpoint is sent.
    event_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    organisation: Mapped[Organisation] = relationship()

    def __repr__(self) -> str:
        return f"<WebhookEndpoint {self.id} {self.url}>"


class WebhookDelivery(db.Model):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'sent', 'failed')", name="status_known"),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        # What the sender polls: pending deliveries that are due.
        Index("ix_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
        # The delivery log: an endpoint's latest first.
        Index("ix_webhook_deliveries_endpoint_id_id", "endpoint_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    event_type: Mapped[str] = mapped_column(String(50))
    # Sent as Eventsite-Webhook-Id and as the body's "id": the same on every attempt, so a
    # receiver can drop a delivery it has already handled.
    webhook_id: Mapped[str] = mapped_column(String(40), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[DeliveryStatus] = mapped_column(String(20), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A sender's claim while it waits for the receiver (eventsite.leases).
    lease_token: Mapped[str | None] = mapped_column(String(32))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    endpoint: Mapped[WebhookEndpoint] = relationship()

    def __repr__(self) -> str:
        return f"<WebhookDelivery {self.id} {self.event_type} {self.status}>"


# An organisation's endpoints are kept in memory by the catalogue's stamp
# (`services.queue`): adding, changing or removing one moves it.
catalogue.track(WebhookEndpoint)
