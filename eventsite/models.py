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

__all__ = [
    "AgendaSession",
    "Event",
    "EventFormat",
    "EventKind",
    "EventStatus",
    "Membership",
    "Organisation",
    "SessionSpeaker",
    "Speaker",
    "Topic",
    "User",
    "event_topics",
]
