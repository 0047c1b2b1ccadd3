"""Each event's registration questions, and the registrations people make."""

from __future__ import annotations

import secrets
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eventsite import catalogue, database
from eventsite.accounts.models import User
from eventsite.events.models import Event
from eventsite.extensions import db
from eventsite.timeutil import UTCDateTime, utcnow


class QuestionKind(StrEnum):
    SHORT_TEXT = "short_text"
    LONG_TEXT = "long_text"
    SINGLE_CHOICE = "single_choice"
    MULTIPLE_CHOICE = "multiple_choice"
    CHECKBOX = "checkbox"
    COUNTRY = "country"
    NUMBER = "number"


CHOICE_KINDS = (QuestionKind.SINGLE_CHOICE, QuestionKind.MULTIPLE_CHOICE)


class RegistrationStatus(StrEnum):
    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    PENDING = "pending"  # awaits an organiser's approval; holds a place meanwhile
    CANCELLED = "cancelled"
    REJECTED = "rejected"


ACTIVE_STATUSES = (
    RegistrationStatus.CONFIRMED,
    RegistrationStatus.WAITLISTED,
    RegistrationStatus.PENDING,
)
# Statuses that hold one of the event's places.
PLACE_STATUSES = (RegistrationStatus.CONFIRMED, RegistrationStatus.PENDING)


def _in_list(values: tuple[StrEnum, ...]) -> str:
    return ", ".join(f"'{v.value}'" for v in values)


_ACTIVE_SQL = f"status IN ({_in_list(ACTIVE_STATUSES)})"


def new_public_id() -> str:
    """16 random URL-safe characters (96 bits), never digits alone: an address of digits
    is an id from a link sent before public ids existed."""
    while (value := secrets.token_urlsafe(12)).isdigit():
        pass
    return value


# The ticket code people read out at the door: no 0/O, 1/I/L look-alikes.
TICKET_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
TICKET_CODE_LENGTH = 8  # 31**8 ≈ 8.5 × 10**11 codes


def new_ticket_code() -> str:
    return "".join(secrets.choice(TICKET_ALPHABET) for _ in range(TICKET_CODE_LENGTH))


class Question(db.Model):
    """One question of an event's registration form.

    Removing a question only sets `is_active` false: the answers already given keep
    their label (they carry a snapshot of it anyway) and exports stay readable.
    """

    __tablename__ = "registration_questions"
    __table_args__ = (
        CheckConstraint(f"kind IN ({_in_list(tuple(QuestionKind))})", name="kind_known"),
        CheckConstraint("position >= 0", name="position_not_negative"),
        Index("ix_registration_questions_event_id_position", "event_id", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[QuestionKind] = mapped_column(String(20), default=QuestionKind.SHORT_TEXT)
    label: Mapped[str] = mapped_column(String(300))
    help_text: Mapped[str] = mapped_column(Text, default="")
    is_required: Mapped[bool] = mapped_column(Boolean, default=False)
    # The choices of single_choice / multiple_choice questions, in order.
    options: Mapped[list[str]] = mapped_column(JSON, default=list)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    event: Mapped[Event] = relationship()

    def __repr__(self) -> str:
        return f"<Question {self.id} {self.kind} {self.label!r}>"

    @property
    def field_name(self) -> str:
        return f"q_{self.id}"


class Registration(db.Model):
    """A person's registration for an event.

    `answers` maps the question id (as a string) to
    `{"label": ..., "kind": ..., "value": ...}`: the label is a snapshot taken when the
    answer was given, so the answer stays readable after the question changes.
    """

    __tablename__ = "registrations"
    __table_args__ = (
        CheckConstraint(f"status IN ({_in_list(tuple(RegistrationStatus))})", name="status_known"),
        # One active registration per person and event, enforced by the database.
        Index(
            "uq_registrations_event_id_user_id_active",
            "event_id",
            "user_id",
            unique=True,
            sqlite_where=text(_ACTIVE_SQL),
            postgresql_where=text(_ACTIVE_SQL),
        ),
        # Counting places and ranking the waiting list. It holds the hold's end too, so the
        # places (which leave out holds that ran out) are counted from the index alone,
        # without reading each registration's row (bench: 1,000 registrations of one event,
        # the places 198 -> 123 µs on SQLite, under the event's lock for every registration).
        Index(
            "ix_registrations_event_id_status_created_at_hold",
            "event_id",
            "status",
            "created_at",
            "hold_expires_at",
        ),
        # The registrants table's default order: its page of 50 without sorting them all
        # (scale bench, 100,000 registrations for one event: 1,098 ms to 1 ms).
        Index("ix_registrations_event_id_created_at_id", "event_id", "created_at", "id"),
        # The listing's page-cache stamp: the latest change to any registration.
        Index("ix_registrations_updated_at", "updated_at"),
        # The holds to release: few rows ever carry one, so the sweep reads a small index.
        Index("ix_registrations_hold_expires_at", "hold_expires_at"),
        # A ticket code names one registration (a unique index: SQLite can add one in place).
        Index("uq_registrations_ticket_code", "ticket_code", unique=True),
        # The confirmations still to be queued (`pending_notice`): a few rows at any time,
        # found by the sender without reading the table.
        Index(
            "ix_registrations_pending_notice",
            "id",
            sqlite_where=text("pending_notice IS NOT NULL"),
            postgresql_where=text("pending_notice IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # What links (emails, pages) carry instead of the id: nobody can count through
    # registrations or land on another person's by changing a digit.
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[RegistrationStatus] = mapped_column(String(20))
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # An organiser cancelled it (not the person): only such a place may be given back.
    cancelled_by_organiser: Mapped[bool] = mapped_column(Boolean, default=False)
    # When an organiser approved or rejected a pending registration.
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When a waitlisted registration got a place.
    promoted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Who checked the person in (door staff); kept when that account is deleted.
    checked_in_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    # The ticket's short code (`registration.tickets`). Every row has one (the default, and
    # migration 0018 filled the older rows); the column is not declared NOT NULL only because
    # SQLite cannot add that without rebuilding the table.
    ticket_code: Mapped[str] = mapped_column(
        String(TICKET_CODE_LENGTH), nullable=True, default=new_ticket_code
    )
    # Set while the place waits for the person to confirm their email address (a visitor
    # who registered without an account, or with an unconfirmed one): until then no
    # confirmation, ticket or calendar; past it the place is released (`is_hold_expired`).
    hold_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Cancelled because the hold ran out, never confirmed (not by the person or organiser).
    is_hold_expired: Mapped[bool] = mapped_column(Boolean, default=False)
    # The facts of the email the registration's creation sends (`notifications`), written
    # with the row instead of an outbox row beside it: the sender moves them to the outbox
    # (and empties this) before it delivers, and so does any later message about the
    # registration before it is queued itself, so they go out once, in order.
    pending_notice: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))

    event: Mapped[Event] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    checked_in_by: Mapped[User | None] = relationship(foreign_keys=[checked_in_by_id])

    def __repr__(self) -> str:
        return f"<Registration {self.id} {self.status} event={self.event_id} user={self.user_id}>"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def holds_place(self) -> bool:
        return self.status in PLACE_STATUSES

    @property
    def is_held(self) -> bool:
        """Active, and waiting for the person to confirm their email address."""
        return self.is_active and self.hold_expires_at is not None


class ReminderKind(StrEnum):
    BEFORE_EVENT = "before_event"  # reminder_hours before the event starts


class SentReminder(db.Model):
    """A reminder claimed for one registration: the unique key (registration, kind, the
    event start it was for) is the claim, written in the transaction that queues the email,
    so any number of workers send each reminder once; an event moved to a new start is a
    new key (registration/jobs.py)."""

    __tablename__ = "sent_reminders"
    __table_args__ = (
        UniqueConstraint("registration_id", "kind", "starts_at"),
        CheckConstraint(f"kind IN ({_in_list(tuple(ReminderKind))})", name="kind_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registrations.id", ondelete="CASCADE"))
    kind: Mapped[ReminderKind] = mapped_column(String(20))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OpeningAlert(db.Model):
    """Someone who asked to be told when an event's registration opens: a logged-in person
    at once, a visitor once they followed the link emailed to the address (double opt-in).
    `sent_at` is the claim: the job sets it in the transaction that queues the email, only
    where it is still empty, so any number of workers send each alert once."""

    __tablename__ = "registration_alerts"
    __table_args__ = (UniqueConstraint("event_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    # Lower-cased, so the unique key ignores case.
    email: Mapped[str] = mapped_column(String(254))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The language of its emails (i18n.LANGUAGES): the page's when the person asked (a
    # logged-in person's: their account's).
    language: Mapped[str] = mapped_column(String(16), default="en", server_default="en")

    event: Mapped[Event] = relationship()

    @property
    def is_confirmed(self) -> bool:
        return self.confirmed_at is not None


class CheckInDuplicate(db.Model):
    """A second check-in of a person who was already in, made on a door device that was
    offline at the time and synced later: the first check-in stays on the registration,
    this one is kept so that both devices can show the person was checked in twice."""

    __tablename__ = "check_in_duplicates"

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("registrations.id", ondelete="CASCADE"), index=True
    )
    # The device's own clock when the door staff pressed Check in.
    checked_in_at: Mapped[datetime] = mapped_column(UTCDateTime)
    checked_in_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    # The door device's name for itself (door.js), so staff can tell the two devices apart.
    device: Mapped[str] = mapped_column(String(40), default="")
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    registration: Mapped[Registration] = relationship()
    checked_in_by: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<CheckInDuplicate {self.id} registration={self.registration_id}>"


# A registration form's questions are kept in memory by the catalogue's stamp
# (`queries.questions_for_event`): changing them moves it.
catalogue.track(Question)


# --- the places the database counts ------------------------------------------------------------
# events.places_* follow every INSERT, DELETE (a cascade's too) and change of status, event
# or hold of a registration, whoever makes it (a service, the ORM, a bulk UPDATE): a
# registration then reads the places taken from the event's row it locks, instead of counting
# the event's registrations under the lock (a tenth of its throughput on PostgreSQL). Not
# expressible as metadata: attached to create_all()/drop_all() here, written out in migration
# 0031 (autogenerate does not compare triggers). Tested against a real count after every kind
# of change (tests/registration/test_place_counters.py).


def _places_change(row: str, sign: str) -> str:
    """`SET` of events.places_* for `row` (OLD or NEW) leaving (-) or joining (+)."""
    active = f"{row}.status IN ({_in_list(ACTIVE_STATUSES)})"
    counted = {
        "places_confirmed": f"{row}.status = '{RegistrationStatus.CONFIRMED.value}'",
        "places_pending": f"{row}.status = '{RegistrationStatus.PENDING.value}'",
        "places_waitlisted": f"{row}.status = '{RegistrationStatus.WAITLISTED.value}'",
        "places_held": f"{active} AND {row}.hold_expires_at IS NOT NULL",
    }
    return ", ".join(
        f"{column} = {column} {sign} CAST(({condition}) AS INTEGER)"
        for column, condition in counted.items()
    )


def _places_update(row: str, sign: str) -> str:
    return f"UPDATE events SET {_places_change(row, sign)} WHERE id = {row}.event_id"


_ACTIVE_OLD = f"OLD.status IN ({_in_list(ACTIVE_STATUSES)})"
_ACTIVE_NEW = f"NEW.status IN ({_in_list(ACTIVE_STATUSES)})"
# An UPDATE that moves none of what is counted leaves the event's row alone.
_UPDATE_COUNTS = (
    f"(OLD.status <> NEW.status OR OLD.event_id <> NEW.event_id"
    f" OR (OLD.hold_expires_at IS NULL) <> (NEW.hold_expires_at IS NULL))"
    f" AND ({_ACTIVE_OLD} OR {_ACTIVE_NEW})"
)
_TRIGGERED_BY = "AFTER UPDATE OF status, event_id, hold_expires_at ON registrations"
PLACES_DDL: dict[str, tuple[str, ...]] = {
    "sqlite": (
        f"CREATE TRIGGER registrations_places_after_insert AFTER INSERT ON registrations"
        f" WHEN {_ACTIVE_NEW} BEGIN {_places_update('NEW', '+')}; END",
        f"CREATE TRIGGER registrations_places_after_delete AFTER DELETE ON registrations"
        f" WHEN {_ACTIVE_OLD} BEGIN {_places_update('OLD', '-')}; END",
        f"CREATE TRIGGER registrations_places_after_update {_TRIGGERED_BY}"
        f" WHEN {_UPDATE_COUNTS}"
        f" BEGIN {_places_update('OLD', '-')}; {_places_update('NEW', '+')}; END",
    ),
    "postgresql": (
        "CREATE OR REPLACE FUNCTION registrations_count_places() RETURNS trigger"
        " LANGUAGE plpgsql AS $$"
        " BEGIN"
        f" IF TG_OP <> 'INSERT' THEN {_places_update('OLD', '-')}; END IF;"
        f" IF TG_OP <> 'DELETE' THEN {_places_update('NEW', '+')}; END IF;"
        " RETURN NULL;"
        " END $$",
        "CREATE TRIGGER registrations_places_after_insert AFTER INSERT ON registrations"
        f" FOR EACH ROW WHEN ({_ACTIVE_NEW}) EXECUTE FUNCTION registrations_count_places()",
        "CREATE TRIGGER registrations_places_after_delete AFTER DELETE ON registrations"
        f" FOR EACH ROW WHEN ({_ACTIVE_OLD}) EXECUTE FUNCTION registrations_count_places()",
        f"CREATE TRIGGER registrations_places_after_update {_TRIGGERED_BY}"
        f" FOR EACH ROW WHEN ({_UPDATE_COUNTS}) EXECUTE FUNCTION registrations_count_places()",
    ),
}
# Dropping registrations drops its triggers; the function is separate.
PLACES_DROP_DDL: dict[str, tuple[str, ...]] = {
    "postgresql": ("DROP FUNCTION IF EXISTS registrations_count_places()",),
}
database.attach_ddl(Registration.__table__, "after_create", PLACES_DDL)
database.attach_ddl(Registration.__table__, "after_drop", PLACES_DROP_DDL)
