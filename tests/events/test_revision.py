"""The calendar revision rule: once per save, for what calendars show, with the update email."""

from __future__ import annotations

import pytest

from eventsite.events import revision, services
from eventsite.events.models import EventStatus
from eventsite.extensions import db
from eventsite.registration.models import RegistrationStatus

from ..conftest import NOW
from ..ical.ics_check import check_export
from ..mail.invitations import calendar_part

pytestmark = pytest.mark.usefixtures("smtp_sink")


def _sequence(client, event) -> int:
    parsed = check_export(client.get(f"/events/{event.slug}.ics").data)
    return parsed.ical_events()[f"event-{event.id}@localhost"].decoded("SEQUENCE")


def test_the_rule_reads_what_calendars_show(make_event) -> None:
    event = make_event(capacity=10)
    event.capacity = 20
    event.has_waiting_list = True
    assert revision.raise_revision_if_shown(event) is False
    event.title = "New title"
    assert revision.raise_revision_if_shown(event) is True
    assert event.revision == 1
    db.session.commit()
    assert revision.raise_revision_if_shown(event, ["description"]) is True
    assert revision.raise_revision_if_shown(event, ["starts_at", "city", "agenda"]) is True
    assert revision.raise_revision_if_shown(event, ["capacity", "slug"]) is False
    assert event.revision == 3
    draft = make_event(status=EventStatus.DRAFT, published_at=None)
    assert revision.raise_revision_if_shown(draft, ["title"]) is False
    assert draft.revision == 0


def test_editing_the_title_raises_the_revision_once_and_emails_the_new_title(
    client, make_event, make_user, make_registration, mailbox
) -> None:
    event = make_event(title="Ocean Forum")
    ann = make_user()
    make_registration(ann, event, RegistrationStatus.CONFIRMED)
    assert _sequence(client, event) == 0
    changes = {"title": "Deep Sea Forum", "summary": "Now about the deep sea."}
    update = services.update_event(event, changes, NOW)
    db.session.commit()
    assert update.revision_raised and event.revision == 1
    assert _sequence(client, event) == 1
    [received] = mailbox()
    assert received.rcpt_tos == [ann.email]
    message = received.message
    assert str(message["Subject"]) == "Changed: Deep Sea Forum"
    assert "Deep Sea Forum" in message.get_body(preferencelist=("plain",)).get_content()
    part = calendar_part(message)
    assert part is not None
    vevent = check_export(part.get_payload(decode=True)).ical_events()[
        f"event-{event.id}@localhost"
    ]
    assert str(vevent["SUMMARY"]) == "Deep Sea Forum"
    assert vevent.decoded("SEQUENCE") == 1


def test_editing_what_calendars_do_not_show_neither_raises_nor_emails(
    client, make_event, make_user, make_registration, mailbox
) -> None:
    event = make_event(capacity=100)
    make_registration(make_user(), event, RegistrationStatus.CONFIRMED)
    update = services.update_event(event, {"capacity": 150, "has_waiting_list": True}, NOW)
    db.session.commit()
    assert set(update.changes) == {"capacity", "has_waiting_list"}
    assert not update.revision_raised
    assert event.revision == 0
    assert _sequence(client, event) == 0
    assert mailbox() == []
