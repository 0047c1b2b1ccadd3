"""Every model, imported in one place: the whole schema as Alembic and tests see it."""

from eventsite.accounts.models import Membership, User
from eventsite.events.models import (
    AgendaSession,
    Event,
    EventFormat,
    EventKind,
    EventStatus,
    Organisation,
    SessionSpeaker,
    Speaker,
    Topic,
    event_topics,
)
from eventsite.mail.models import OutboxMessage, OutboxStatus

__all__ = [
    "AgendaSession",
    "Event",
    "EventFormat",
    "EventKind",
    "EventStatus",
    "Membership",
    "Organisation",
    "OutboxMessage",
    "OutboxStatus",
    "SessionSpeaker",
    "Speaker",
    "Topic",
    "User",
    "event_topics",
]
