"""Every model, imported in one place: the whole schema as Alembic and tests see it."""

from eventsite.accounts.models import LoginFailure, User
from eventsite.announcements.models import Announcement, AnnouncementSubscriber
from eventsite.catalogue import CatalogueVersion
from eventsite.events.models import (
    AgendaSession,
    Event,
    EventFormat,
    EventKind,
    EventStatus,
    SessionSpeaker,
    Speaker,
    Topic,
    event_topics,
)
from eventsite.images.models import Image
from eventsite.mail.models import OutboxMessage, OutboxStatus
from eventsite.organisations.access_tokens import AccessToken, TokenScope
from eventsite.organisations.models import (
    JoinedVia,
    Membership,
    Organisation,
    OrganisationInvitation,
)
from eventsite.organiser.models import AuditEntry
from eventsite.registration.models import (
    CheckInDuplicate,
    OpeningAlert,
    Question,
    QuestionKind,
    Registration,
    RegistrationStatus,
    SentReminder,
)
from eventsite.sharing.models import EventShare
from eventsite.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

__all__ = [
    "AccessToken",
    "AgendaSession",
    "Announcement",
    "AnnouncementSubscriber",
    "AuditEntry",
    "CatalogueVersion",
    "CheckInDuplicate",
    "DeliveryStatus",
    "Event",
    "EventFormat",
    "EventKind",
    "EventShare",
    "EventStatus",
    "Image",
    "JoinedVia",
    "LoginFailure",
    "Membership",
    "OpeningAlert",
    "Organisation",
    "OrganisationInvitation",
    "OutboxMessage",
    "OutboxStatus",
    "Question",
    "QuestionKind",
    "Registration",
    "RegistrationStatus",
    "SentReminder",
    "SessionSpeaker",
    "Speaker",
    "TokenScope",
    "Topic",
    "User",
    "WebhookDelivery",
    "WebhookEndpoint",
    "event_topics",
]
