"""Subscribers to "notify me", and the announcements already made (each exactly once)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from eventsite.extensions import db
from eventsite.timeutil import UTCDateTime, utcnow

FIRST_PUBLICATION = "first-publication"


class AnnouncementSubscriber(db.Model):
    __tablename__ = "announcement_subscribers"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Lower-cased, so the unique constraint ignores case.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set when the person follows the link in the confirmation email (double opt-in).
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The language of its emails (i18n.LANGUAGES): the page's when the person subscribed.
    language: Mapped[str] = mapped_column(String(16), default="en", server_default="en")

    @property
    def is_confirmed(self) -> bool:
        return self.confirmed_at is not None

    def __repr__(self) -> str:
        return f"<AnnouncementSubscriber {self.id} confirmed={self.is_confirmed}>"


class Announcement(db.Model):
    """One row per announcement sent; the unique key is the guard against sending twice."""

    __tablename__ = "announcements"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(50), unique=True)
    recipient_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
