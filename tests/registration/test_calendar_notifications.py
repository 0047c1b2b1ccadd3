"""Update and cancellation emails, end to end: outbox, real SMTP, the .ics attached."""

from __future__ import annotations

import email
import email.policy
from datetime import timedelta

from eventsite.events import revision
from eventsite.events import services as events_services
from eventsite.extensions import db
from eventsite.feeds import tokens
from eventsite.mail.sender import deliver_due
from eventsite.registration import notifications
from eventsite.registration import services as registration_services
from eventsite.registration.models import RegistrationStatus

from ..ical.ics_check import assert_times_match, check_export
from ..mail.invitations import calendar_part, invitation
from .conftest import NOW


def _messages(handler):
    return [
        email.message_from_bytes(m.content, policy=email.policy.default) for m in handler.messages
    ]


def test_moving_an_event_emails_registrants_an_updated_invitation(
    smtp_sink, client, make_event, make_user, make_registration
):
    _controller, handler = smtp_sink
    event = make_event(title="Water forum")
    ann, bob, cyd = make_user(name="Ann"), make_user(name="Bob"), make_user(name="Cyd")
    make_registration(ann, event, RegistrationStatus.CONFIRMED)
    make_registration(bob, event, RegistrationStatus.WAITLISTED)
    make_registration(cyd, event, RegistrationStatus.CANCELLED)
    feed_uid = check_export(client.get("/calendar.ics").data).uids()[0]

    event.starts_at += timedelta(hours=2)
    event.ends_at += timedelta(hours=2)
    event.venue_name = "Palais des Nations"
    assert revision.raise_revision_if_shown(event)
    assert notifications.notify_event_changed(event, NOW) == 2
    db.session.commit()
    report = deliver_due()
    assert report.sent == 2

    messages = {str(m["To"]): m for m in _messages(handler)}
    assert set(messages) == {ann.email, bob.email}
    for user in (ann, bob):
        message = messages[user.email]
        assert str(message["Subject"]) == "Changed: Water forum"
        body = message.get_body(preferencelist=("plain",)).get_content()
        assert "Palais des Nations" in body and f"/events/{event.slug}" in body
    # The waiting person hears of the change but gets no invitation (item 6 of #13): a
    # REQUEST would put an event they have no place at into their calendar.
    assert calendar_part(messages[bob.email]) is None
    assert "calendar file" not in messages[bob.email].get_body(("plain",)).get_content()
    message = messages[ann.email]
    parsed = check_export(invitation(message, "REQUEST"))
    assert message.get_payload()[1].get_filename() == f"{event.slug}.ics"
    assert parsed.ical["METHOD"] == "REQUEST"
    assert parsed.uids() == [feed_uid]  # the same UID as in the feed
    vevent = parsed.ical_events()[feed_uid]
    assert vevent.decoded("SEQUENCE") == 1
    assert vevent["ATTENDEE"] == f"mailto:{ann.email}"
    assert vevent["ATTENDEE"].params["PARTSTAT"] == "ACCEPTED"
    assert vevent["STATUS"] == "CONFIRMED"
    assert "Palais des Nations" in str(vevent["LOCATION"])
    assert_times_match(parsed, feed_uid, event)


def test_cancelling_an_event_emails_method_cancel(
    smtp_sink, make_event, make_user, make_registration
):
    _controller, handler = smtp_sink
    event = make_event(title="Water forum")
    ann = make_user()
    make_registration(ann, event, RegistrationStatus.CONFIRMED)
    # Cancelling tells registrants (signals.event_cancelled, connected in registration/).
    events_services.cancel_event(event, "The venue flooded.", NOW)
    db.session.commit()
    deliver_due()
    [message] = _messages(handler)
    assert str(message["Subject"]) == "Cancelled: Water forum"
    assert "The venue flooded." in message.get_body(preferencelist=("plain",)).get_content()
    parsed = check_export(invitation(message, "CANCEL"))
    assert parsed.ical["METHOD"] == "CANCEL"
    vevent = parsed.ical_events()[f"event-{event.id}@localhost"]
    assert vevent["STATUS"] == "CANCELLED"
    assert vevent.decoded("SEQUENCE") == 1
    assert vevent["ORGANIZER"] == "mailto:no-reply@eventsite.test"


def test_confirmation_attachment_has_the_same_uid_as_the_feed(
    smtp_sink, client, make_event, make_user
):
    _controller, handler = smtp_sink
    event = make_event()
    ann = make_user()
    registration_services.register_attendee(ann, event, {}, NOW)
    db.session.commit()
    deliver_due()
    [message] = _messages(handler)
    parsed = check_export(invitation(message, "REQUEST"))
    assert parsed.ical["METHOD"] == "REQUEST"
    token = tokens.regenerate_user_calendar_token(ann)
    db.session.commit()
    feed = check_export(client.get(f"/account/calendar/{token}.ics").data)
    download = check_export(client.get(f"/events/{event.slug}.ics").data)
    assert parsed.uids() == feed.uids() == download.uids() == [f"event-{event.id}@localhost"]


def _invitation(message):
    parsed = check_export(invitation(message, "REQUEST"))  # times == the database's, in UTC
    assert parsed.vcal.method.value == "REQUEST"
    [vevent] = parsed.vobject_events().values()
    return vevent


def test_confirmation_invitation_names_the_registrant_as_attendee(smtp_sink, make_event, make_user):
    """RFC 5546 3.2.2: a REQUEST carries the ATTENDEE it invites, as the update emails do."""
    _controller, handler = smtp_sink
    event = make_event(capacity=10)
    ann = make_user(name="Ann Example")
    registration_services.register_attendee(ann, event, {}, NOW)
    db.session.commit()
    deliver_due()
    [message] = _messages(handler)
    vevent = _invitation(message)
    assert vevent.attendee.value == f"mailto:{ann.email}"
    assert vevent.attendee.params["CN"] == ["Ann Example"]
    assert vevent.attendee.params["PARTSTAT"] == ["ACCEPTED"]
    assert vevent.attendee.params["RSVP"] == ["FALSE"]
    assert vevent.status.value == "CONFIRMED"
    assert vevent.organizer.value == "mailto:no-reply@eventsite.test"
    assert vevent.dtstamp.value == NOW  # the message's own time


def test_approval_and_promotion_invitations_are_accepted(
    smtp_sink, make_event, make_user, make_registration
):
    """A place given later (approval, off the waiting list) brings the same invitation."""
    _controller, handler = smtp_sink
    approval = make_event(capacity=5, requires_approval=True)
    pending = make_registration(make_user(name="Pat"), approval, RegistrationStatus.PENDING)
    registration_services.approve_registration(pending, NOW)
    full = make_event(capacity=1, has_waiting_list=True)
    holder = make_registration(make_user(name="Hal"), full, RegistrationStatus.CONFIRMED)
    waiting = make_registration(make_user(name="Wes"), full, RegistrationStatus.WAITLISTED)
    registration_services.cancel_registration(holder, NOW)
    db.session.commit()
    deliver_due()
    messages = {str(m["To"]): m for m in _messages(handler)}
    # The holder's own cancellation takes the event out of their calendar.
    assert calendar_part(messages.pop(holder.user.email)).get_param("method") == "CANCEL"
    invitations = {to: _invitation(m) for to, m in messages.items() if calendar_part(m)}
    assert set(invitations) == {pending.user.email, waiting.user.email}
    for registration in (pending, waiting):
        vevent = invitations[registration.user.email]
        assert vevent.attendee.value == f"mailto:{registration.user.email}"
        assert vevent.attendee.params["CN"] == [registration.user.name]
        assert vevent.attendee.params["PARTSTAT"] == ["ACCEPTED"]


def test_invitations_follow_organisation_and_topic_renames(
    smtp_sink, make_event, make_topic, make_user
):
    """Nothing of an earlier invitation is reused: a renamed organisation (ORGANIZER CN)
    or topic (CATEGORIES) shows in the next one, though the event row did not change."""
    _controller, handler = smtp_sink
    climate = make_topic("Climate")
    event = make_event(capacity=10, topics=[climate])
    registration_services.register_attendee(make_user(), event, {}, NOW)
    db.session.commit()
    deliver_due()  # a message is written when it is sent
    event.organisation.name = "Renamed Institute"
    climate.name = "Climate and oceans"
    db.session.commit()
    registration_services.register_attendee(make_user(), event, {}, NOW + timedelta(minutes=1))
    db.session.commit()
    deliver_due()
    first, second = (_invitation(m) for m in _messages(handler))
    assert first.organizer.params["CN"] != ["Renamed Institute"]
    assert first.categories.value == ["Climate"]
    assert second.organizer.params["CN"] == ["Renamed Institute"]
    assert second.categories.value == ["Climate and oceans"]
