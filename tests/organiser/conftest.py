"""Fixtures of the organiser workspace: a small world of two organisations."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from itertools import count
from typing import Any

import pytest
from werkzeug.datastructures import MultiDict

from eventsite.extensions import db
from eventsite.images import services as image_services
from eventsite.models import (
    AgendaSession,
    Event,
    JoinedVia,
    Membership,
    Organisation,
    Question,
    QuestionKind,
    Registration,
    RegistrationStatus,
    Speaker,
    User,
)
from eventsite.organisations import access_tokens
from eventsite.organisations.access_tokens import AccessToken
from eventsite.timeutil import utcnow
from eventsite.webhooks import services as webhook_services
from eventsite.webhooks.models import EventType, WebhookDelivery, WebhookEndpoint

# The smallest valid PNG (1×1 pixel).
PNG_BYTES = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63606868f80f000384020057c9fa2e0000000049454e44ae426082"
)

_counter = count(1)


@dataclass
class World:
    organisation: Organisation
    other_organisation: Organisation
    member: User
    second_member: User
    other_member: User
    attendee: User
    admin: User
    event: Event
    draft: Event
    other_event: Event
    session: AgendaSession
    other_session: AgendaSession
    speaker: Speaker
    question: Question
    registration: Registration
    other_registration: Registration
    access_token: AccessToken
    webhook: WebhookEndpoint
    webhook_delivery: WebhookDelivery

    def url_values(self) -> dict[str, Any]:
        """Ids of objects of the organisation, by URL parameter name."""
        return {
            "organisation_id": self.organisation.id,
            "event_id": self.event.id,
            "session_id": self.session.id,
            "speaker_id": self.speaker.id,
            "user_id": self.second_member.id,
            "question_id": self.question.id,
            "registration_id": self.registration.id,
            "token_id": self.access_token.id,
            "endpoint_id": self.webhook.id,
            "delivery_id": self.webhook_delivery.id,
        }


@pytest.fixture
def make_world(app, make_organisation, make_event, make_user, make_speaker, make_session):
    def factory() -> World:
        n = next(_counter)
        organisation = make_organisation(name=f"Science Org {n}", slug=f"science-org-{n}")
        organisation.logo_image = image_services.create_image(PNG_BYTES, "Logo", utcnow())
        other = make_organisation(name=f"Other Org {n}", slug=f"other-org-{n}")
        member = make_user(name=f"Member {n}")
        second = make_user(name=f"Second {n}")
        other_member = make_user(name=f"Other member {n}")
        attendee = make_user(name=f"Attendee {n}")
        admin = make_user(name=f"Admin {n}", is_admin=True)
        db.session.add_all(
            [
                Membership(user=member, organisation=organisation, joined_via=JoinedVia.INVITATION),
                Membership(user=second, organisation=organisation, joined_via=JoinedVia.INVITATION),
                Membership(user=other_member, organisation=other, joined_via=JoinedVia.INVITATION),
            ]
        )
        event = make_event(
            organisation=organisation,
            title=f"Forum {n}",
            slug=f"forum-{n}",
            capacity=100,
            requires_approval=True,
            has_waiting_list=True,
        )
        draft = make_event(
            organisation=organisation, slug=f"draft-{n}", status="draft", published_at=None
        )
        other_event = make_event(organisation=other, slug=f"other-{n}")
        speaker = make_speaker(name=f"Speaker {n}")
        session = make_session(event, speakers=[speaker], title="Opening")
        other_session = make_session(other_event, title="Elsewhere")
        question = Question(
            event=event, label="Affiliation", kind=QuestionKind.SHORT_TEXT, position=0
        )
        registration = Registration(
            event=event, user=attendee, status=RegistrationStatus.PENDING, answers={}
        )
        other_registration = Registration(
            event=other_event, user=attendee, status=RegistrationStatus.CONFIRMED, answers={}
        )
        db.session.add_all([question, registration, other_registration])
        access_token, _secret = access_tokens.create_token(
            organisation,
            name=f"Door app {n}",
            scope=access_tokens.TokenScope.READ,
            expires_at=None,
            created_by=member,
            now=utcnow(),
        )
        webhook = webhook_services.create_endpoint(
            organisation,
            url="https://crm.example.org/hooks",
            event_types=[kind.value for kind in EventType],
            now=utcnow(),
        )
        [webhook_delivery] = webhook_services.queue(
            organisation.id, EventType.EVENT_CHANGED, {"event": {"id": 1}}, utcnow()
        )
        webhook_delivery.attempts = 1
        db.session.commit()
        return World(
            organisation=organisation,
            other_organisation=other,
            member=member,
            second_member=second,
            other_member=other_member,
            attendee=attendee,
            admin=admin,
            event=event,
            draft=draft,
            other_event=other_event,
            session=session,
            other_session=other_session,
            speaker=speaker,
            question=question,
            registration=registration,
            other_registration=other_registration,
            access_token=access_token,
            webhook=webhook,
            webhook_delivery=webhook_delivery,
        )

    return factory


@pytest.fixture
def world(make_world) -> World:
    return make_world()


@pytest.fixture
def as_member(world: World, login) -> World:
    login(world.member)
    return world


def event_form_data(**overrides: Any) -> dict[str, Any]:
    """A complete, valid event form as the browser posts it."""
    data: dict[str, Any] = {
        "title": "World Science Forum",
        "slug": "",
        "kind": "forum",
        "summary": "Science and society.",
        "description": "# Welcome\n\nThe **forum**.",
        "timezone": "Africa/Nairobi",
        "starts_local": "2027-05-12T09:00",
        "ends_local": "2027-05-14T17:00",
        "venue_name": "KICC",
        "venue_address": "Harambee Avenue",
        "city": "Nairobi",
        "country": "KE",
        "latitude": "-1.2886",
        "longitude": "36.8233",
        "format": "in_person",
        "online_url": "",
        "capacity": "300",
        "registration_opens_local": "2027-01-01T09:00",
        "registration_closes_local": "2027-05-10T23:59",
        "edit_deadline_local": "",
        "confirmation_hold_hours": "24",
        "submit": "Save",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def event_form() -> Callable[..., dict[str, Any]]:
    return event_form_data


class _FormFields(HTMLParser):
    """The values a browser would submit from the page's first POST form."""

    def __init__(self) -> None:
        super().__init__()
        self.values: list[tuple[str, str]] = []
        self._select: str | None = None
        self._textarea: str | None = None
        self._text = ""
        self._done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if self._done:
            return
        if tag == "input" and a.get("name") and a.get("type") not in ("submit",):
            if a.get("type") == "checkbox" and "checked" not in a:
                return
            self.values.append(
                (a["name"], a.get("value", "y" if a.get("type") == "checkbox" else ""))
            )
        elif tag == "select":
            self._select = a.get("name")
        elif tag == "option" and self._select and "selected" in a:
            self.values.append((self._select, a.get("value", "")))
        elif tag == "textarea":
            self._textarea, self._text = a.get("name"), ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea:
            # Browsers drop the newline right after <textarea>.
            text = self._text[2:] if self._text.startswith("\r\n") else self._text
            self.values.append((self._textarea, text.removeprefix("\n").replace("\n", "\r\n")))
            self._textarea = None
        elif tag == "form":
            self._done = True

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self._text += data


def submitted_event_form(html: str) -> MultiDict:
    """What the browser posts back from the event form on the page, with "Save" pressed."""
    parser = _FormFields()
    parser.feed(html[html.index('<form method="post" class="event-form"') :])
    return MultiDict([*parser.values, ("submit", "Save")])
