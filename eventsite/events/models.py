"""Events, topics, the agenda and its speakers."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eventsite import catalogue, database
from eventsite.extensions import db
from eventsite.images.models import Image
from eventsite.organisations.models import Organisation
from eventsite.timeutil import UTCDateTime, utcnow


class EventKind(StrEnum):
    FORUM = "forum"
    CONFERENCE = "conference"
    SUMMIT = "summit"
    WORKSHOP = "workshop"
    LECTURE = "lecture"


class EventFormat(StrEnum):
    IN_PERSON = "in_person"
    ONLINE = "online"
    HYBRID = "hybrid"


class EventStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    CANCELLED = "cancelled"


# Changing any of these moves an event in people's calendars: its revision (the calendar
# SEQUENCE) goes up and registrants of a published event are told.
TIME_PLACE_FIELDS = (
    "starts_at",
    "ends_at",
    "timezone",
    "is_all_day",
    "venue_name",
    "venue_address",
    "city",
    "country",
    "latitude",
    "longitude",
    "format",
    "online_url",
)


# Places of one event: far above any real venue, far below what an INTEGER column holds
# (a larger number typed in the workspace would otherwise fail inside the database driver).
MAX_CAPACITY = 1_000_000
# A place taken before the email address is confirmed is held this long (hours).
DEFAULT_HOLD_HOURS = 24
MIN_HOLD_HOURS = 1
MAX_HOLD_HOURS = 168
# Registrants are reminded this long before the start (hours); 0: no reminder.
DEFAULT_REMINDER_HOURS = 24
MAX_REMINDER_HOURS = 336


def _enum_values(enum: type[StrEnum]) -> str:
    return ", ".join(f"'{member.value}'" for member in enum)


event_topics = Table(
    "event_topics",
    db.metadata,
    Column("event_id", ForeignKey("events.id", ondelete="CASCADE"), primary_key=True),
    Column("topic_id", ForeignKey("topics.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Topic(db.Model):
    __tablename__ = "topics"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")

    def __repr__(self) -> str:
        return f"<Topic {self.slug}>"


class Event(db.Model):
    __tablename__ = "events"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_starts"),
        CheckConstraint(
            f"capacity IS NULL OR capacity BETWEEN 0 AND {MAX_CAPACITY}", name="capacity_range"
        ),
        CheckConstraint(
            "registration_closes_at IS NULL OR registration_opens_at IS NULL "
            "OR registration_closes_at > registration_opens_at",
            name="registration_window_order",
        ),
        CheckConstraint("latitude IS NULL OR latitude BETWEEN -90 AND 90", name="latitude_range"),
        CheckConstraint(
            "longitude IS NULL OR longitude BETWEEN -180 AND 180", name="longitude_range"
        ),
        CheckConstraint(f"kind IN ({_enum_values(EventKind)})", name="kind_known"),
        CheckConstraint(f"format IN ({_enum_values(EventFormat)})", name="format_known"),
        CheckConstraint(f"status IN ({_enum_values(EventStatus)})", name="status_known"),
        CheckConstraint("revision >= 0", name="revision_not_negative"),
        CheckConstraint(
            f"confirmation_hold_hours BETWEEN {MIN_HOLD_HOURS} AND {MAX_HOLD_HOURS}",
            name="confirmation_hold_hours_range",
        ),
        CheckConstraint(
            f"reminder_hours BETWEEN 0 AND {MAX_REMINDER_HOURS}", name="reminder_hours_range"
        ),
        # The listing: published events by start (upcoming) or end (past).
        Index("ix_events_status_starts_at", "status", "starts_at"),
        # Covering for the upcoming listing's page of ids and its count (filter on ends_at,
        # sort on starts_at, id), so neither reads whole rows. The id is named: SQLite's
        # indexes hold the rowid anyway, PostgreSQL's do not (scale bench, 100,000 events:
        # without it the listing read the whole table twice, 766 ms; with it 96 ms).
        Index("ix_events_status_ends_at_starts_at_id", "status", "ends_at", "starts_at", "id"),
        # The Atom feed: the latest changes first (without it, a sort of every event).
        Index("ix_events_updated_at_id", "updated_at", "id"),
        Index("ix_events_status_country", "status", "country"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[EventKind] = mapped_column(String(20), default=EventKind.CONFERENCE)
    summary: Mapped[str] = mapped_column(String(500), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    # `description` as plain text (Markdown rendered, tags stripped), kept current on every
    # flush by events/search_text.py, so calendars never render Markdown per request.
    description_text: Mapped[str] = mapped_column(Text, default="")
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    is_all_day: Mapped[bool] = mapped_column(Boolean, default=False)
    venue_name: Mapped[str] = mapped_column(String(200), default="")
    venue_address: Mapped[str] = mapped_column(String(300), default="")
    city: Mapped[str] = mapped_column(String(120), default="")
    country: Mapped[str | None] = mapped_column(String(2), index=True)  # ISO 3166-1 alpha-2
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    format: Mapped[EventFormat] = mapped_column(String(20), default=EventFormat.IN_PERSON)
    online_url: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[EventStatus] = mapped_column(String(20), default=EventStatus.DRAFT)
    cancellation_reason: Mapped[str] = mapped_column(Text, default="")
    capacity: Mapped[int | None] = mapped_column(Integer)
    registration_opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    registration_closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Attendees may edit their answers until then; defaults to registration close.
    edit_deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    has_waiting_list: Mapped[bool] = mapped_column(Boolean, default=False)
    requires_approval: Mapped[bool] = mapped_column(Boolean, default=False)
    # How long a place taken by someone who has yet to confirm their email address is held.
    confirmation_hold_hours: Mapped[int] = mapped_column(Integer, default=DEFAULT_HOLD_HOURS)
    # Confirmed registrants get a reminder this many hours before the start; 0: none.
    reminder_hours: Mapped[int] = mapped_column(Integer, default=DEFAULT_REMINDER_HOURS)
    # The active registrations per status, and how many of them are holds (a hold's end is
    # not counted here: see `registration.services._lock_and_count`). Kept by the database
    # itself, by triggers on registrations (`registration.models.PLACES_DDL`), whoever
    # writes; read under the event's lock, not loaded with the event (a loaded value would
    # not see the triggers' later changes).
    places_confirmed: Mapped[int] = mapped_column(
        Integer, default=0, server_default="0", deferred=True
    )
    places_pending: Mapped[int] = mapped_column(
        Integer, default=0, server_default="0", deferred=True
    )
    places_waitlisted: Mapped[int] = mapped_column(
        Integer, default=0, server_default="0", deferred=True
    )
    places_held: Mapped[int] = mapped_column(Integer, default=0, server_default="0", deferred=True)
    # A cancelled event's page points to the event that replaces it (a copy on a new date).
    rescheduled_as_id: Mapped[int | None] = mapped_column(
        ForeignKey("events.id", ondelete="SET NULL")
    )
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT"), index=True
    )
    # Lower-cased title, summary, description and speaker names, kept by the services,
    # so the listing's free-text search is one LIKE per word over one column, backed by a
    # trigram index (see the DDL at the end of this module).
    search_text: Mapped[str] = mapped_column(Text, default="")
    # Calendar SEQUENCE: raised whenever the date, time or place changes, or on cancel.
    revision: Mapped[int] = mapped_column(Integer, default=0)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    # Shown at the top of the event page, on its card and in link previews (listings load
    # it with the events: events/listing.py).
    cover_image_id: Mapped[int | None] = mapped_column(
        ForeignKey("images.id", ondelete="SET NULL"), index=True
    )

    organisation: Mapped[Organisation] = relationship(back_populates="events")
    rescheduled_as: Mapped[Event | None] = relationship(remote_side=[id])
    cover_image: Mapped[Image | None] = relationship()
    topics: Mapped[list[Topic]] = relationship(secondary=event_topics, order_by="Topic.name")
    sessions: Mapped[list[AgendaSession]] = relationship(
        back_populates="event",
        cascade="all, delete-orphan",
        order_by="(AgendaSession.starts_at, AgendaSession.id)",
    )

    def __repr__(self) -> str:
        return f"<Event {self.slug}>"

    @property
    def is_published(self) -> bool:
        return self.status == EventStatus.PUBLISHED

    @property
    def is_cancelled(self) -> bool:
        return self.status == EventStatus.CANCELLED

    @property
    def is_public(self) -> bool:
        return self.status in (EventStatus.PUBLISHED, EventStatus.CANCELLED)

    @property
    def is_online_only(self) -> bool:
        return self.format == EventFormat.ONLINE

    def has_ended(self, now: datetime) -> bool:
        return self.ends_at <= now

    def effective_edit_deadline(self) -> datetime:
        return self.edit_deadline_at or self.registration_closes_at or self.starts_at


class Speaker(db.Model):
    __tablename__ = "speakers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    affiliation: Mapped[str] = mapped_column(String(300), default="")
    country: Mapped[str | None] = mapped_column(String(2))
    honours: Mapped[str] = mapped_column(String(300), default="")
    bio: Mapped[str] = mapped_column(Text, default="")
    photo_image_id: Mapped[int | None] = mapped_column(
        ForeignKey("images.id", ondelete="SET NULL"), index=True
    )

    photo_image: Mapped[Image | None] = relationship()

    def __repr__(self) -> str:
        return f"<Speaker {self.name}>"


class AgendaSession(db.Model):
    __tablename__ = "agenda_sessions"
    __table_args__ = (CheckConstraint("ends_at > starts_at", name="ends_after_starts"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    room: Mapped[str] = mapped_column(String(120), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    event: Mapped[Event] = relationship(back_populates="sessions")
    speaker_links: Mapped[list[SessionSpeaker]] = relationship(
        back_populates="session",
        cascade="all, delete-orphan",
        order_by="SessionSpeaker.position",
    )

    @property
    def speakers(self) -> list[Speaker]:
        return [link.speaker for link in self.speaker_links]


class SessionSpeaker(db.Model):
    """A speaker's place in a session's ordered list of speakers."""

    __tablename__ = "session_speakers"
    __table_args__ = (CheckConstraint("position >= 0", name="position_not_negative"),)

    session_id: Mapped[int] = mapped_column(
        ForeignKey("agenda_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    speaker_id: Mapped[int] = mapped_column(
        ForeignKey("speakers.id", ondelete="RESTRICT"), primary_key=True, index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)

    session: Mapped[AgendaSession] = relationship(back_populates="speaker_links")
    speaker: Mapped[Speaker] = relationship()


# --- trigram index for the listing's free-text search ----------------------------------------
# Not expressible as metadata, so attached to create_all()/drop_all() here and written out by
# hand in migration 0004 (migrations/env.py keeps autogenerate from reporting them as drift).
# SQLite: an FTS5 trigram table over events.search_text (external content, no second copy of
# the text), kept in step by triggers, so Core inserts and updates stay indexed too. It is
# case-sensitive on purpose: the text and the query are lower-cased by Python already, and
# Unicode case folding on top could let a phrase match what a substring test would not.
# PostgreSQL: a GIN trigram index, which LIKE on search_text uses as it is.
SEARCH_INDEX_DDL: dict[str, tuple[str, ...]] = {
    "sqlite": (
        "CREATE VIRTUAL TABLE events_fts USING fts5(search_text, content='events',"
        " content_rowid='id', tokenize='trigram case_sensitive 1')",
        "CREATE TRIGGER events_fts_after_insert AFTER INSERT ON events BEGIN"
        " INSERT INTO events_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
        "CREATE TRIGGER events_fts_after_delete AFTER DELETE ON events BEGIN"
        " INSERT INTO events_fts(events_fts, rowid, search_text)"
        " VALUES ('delete', old.id, old.search_text); END",
        "CREATE TRIGGER events_fts_after_update AFTER UPDATE OF id, search_text ON events BEGIN"
        " INSERT INTO events_fts(events_fts, rowid, search_text)"
        " VALUES ('delete', old.id, old.search_text);"
        " INSERT INTO events_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
    ),
    "postgresql": (
        "CREATE EXTENSION IF NOT EXISTS pg_trgm",
        "CREATE INDEX ix_events_search_text_trgm ON events USING gin (search_text gin_trgm_ops)",
    ),
}
# Dropping events drops its triggers and index; the FTS table is separate.
SEARCH_INDEX_DROP_DDL: dict[str, tuple[str, ...]] = {
    "sqlite": ("DROP TABLE IF EXISTS events_fts",),
}

database.attach_ddl(Event.__table__, "after_create", SEARCH_INDEX_DDL)
database.attach_ddl(Event.__table__, "before_drop", SEARCH_INDEX_DROP_DDL)

# What calendars and the cached pages show: the catalogue version moves with every change to
# these rows.
catalogue.track(Event, AgendaSession, SessionSpeaker, Speaker, Topic, event_topics)
