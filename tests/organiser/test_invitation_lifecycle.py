"""One registrant's calendar through a whole lifecycle, as the mail arrives at a real SMTP
server: register, the organiser moves the event and renames it, the attendee cancels,
registers again, the organiser cancels them, they register once more, the event is
cancelled. Every message is an Outlook-style invitation (MS-OXCMAIL) with the same UID and
a SEQUENCE that rises with each REQUEST and CANCEL (RFC 5546 2.1.4, 3.2.2, 3.2.5)."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from eventsite.extensions import db
from eventsite.models import Event, Registration, RegistrationStatus

from ..ical.ics_check import assert_times_match, check_export
from ..mail.invitations import invitation
from .conftest import event_form_data

pytestmark = pytest.mark.usefixtures("smtp_sink")


def _edit_form(event: Event, **changes: str) -> dict[str, str]:
    """The edit form as the browser sends it back: the event's values, with `changes`."""
    zone = ZoneInfo(event.timezone)

    def local(value) -> str:
        return value.astimezone(zone).strftime("%Y-%m-%dT%H:%M")

    values = {
        "title": event.title,
        "slug": event.slug,
        "kind": event.kind,
        "summary": event.summary,
        "description": event.description,
        "timezone": event.timezone,
        "starts_local": local(event.starts_at),
        "ends_local": local(event.ends_at),
        "venue_name": event.venue_name,
        "venue_address": event.venue_address,
        "city": event.city,
        "country": event.country or "",
        "latitude": "",
        "longitude": "",
        "format": event.format,
        "online_url": event.online_url or "",
        "capacity": str(event.capacity or ""),
        "registration_opens_local": "",
        "registration_closes_local": "",
        "has_waiting_list": "y",
    }
    values.update(changes)
    return event_form_data(**values)


def _active_registration(event: Event, user) -> Registration:
    db.session.expire_all()
    return db.session.scalars(
        select(Registration).where(
            Registration.event_id == event.id,
            Registration.user_id == user.id,
            Registration.status == RegistrationStatus.CONFIRMED,
        )
    ).one()


def test_every_step_sends_the_right_itip_message_with_a_rising_sequence(
    client, world, login, mailbox
) -> None:
    event, ann, organiser = world.event, world.attendee, world.member
    event.requires_approval = False
    db.session.delete(world.registration)  # ann starts without a registration
    db.session.delete(world.session)  # the agenda would pin the dates
    db.session.commit()
    uid = f"event-{event.id}@localhost"
    sequences: list[int] = []
    texts: list[str] = []  # the plain-text body of each step's message

    def one_invitation(method: str, subject_start: str):
        """The single message this step sent to ann, its calendar checked and parsed."""
        [received] = mailbox()
        assert received.rcpt_tos == [ann.email]
        message = received.message
        assert str(message["Subject"]).startswith(subject_start)
        texts.append(message.get_body(preferencelist=("plain",)).get_content())
        parsed = check_export(invitation(message, method))  # icalendar + vobject, times
        assert parsed.ical["METHOD"] == method
        assert parsed.uids() == [uid]
        vevent = parsed.ical_events()[uid]
        assert vevent["ATTENDEE"] == f"mailto:{ann.email}"
        assert vevent["STATUS"] == ("CONFIRMED" if method == "REQUEST" else "CANCELLED")
        sequence = vevent.decoded("SEQUENCE")
        if sequences:
            assert sequence > sequences[-1], f"{method} SEQUENCE {sequence} after {sequences}"
        sequences.append(sequence)
        return parsed, vevent

    def register() -> None:
        login(ann)
        response = client.post(f"/events/{event.slug}/register", data={})
        assert response.status_code == 302, response.get_data(as_text=True)

    # 1. Ann registers: her first REQUEST.
    register()
    parsed, vevent = one_invitation("REQUEST", "You are registered:")
    assert vevent["ATTENDEE"].params["PARTSTAT"] == "ACCEPTED"
    assert_times_match(parsed, uid, event)

    # 2. The organiser moves it by two hours: an updated REQUEST.
    login(organiser)
    zone = ZoneInfo(event.timezone)
    new_start = event.starts_at + timedelta(hours=2)
    new_end = event.ends_at + timedelta(hours=2)
    response = client.post(
        f"/manage/events/{event.id}/edit",
        data=_edit_form(
            event,
            starts_local=new_start.astimezone(zone).strftime("%Y-%m-%dT%H:%M"),
            ends_local=new_end.astimezone(zone).strftime("%Y-%m-%dT%H:%M"),
            emails_confirmed="1",  # Ann is told, and the organiser knew it
        ),
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    event = db.session.get(Event, event.id)
    assert event.starts_at == new_start
    parsed, _vevent = one_invitation("REQUEST", "Changed:")
    assert_times_match(parsed, uid, event)

    # 3. The organiser renames it: calendars must show the new title (issue #13 item 10).
    response = client.post(
        f"/manage/events/{event.id}/edit",
        data=_edit_form(event, title="Renamed forum", emails_confirmed="1"),
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    _parsed, vevent = one_invitation("REQUEST", "Changed:")
    assert str(vevent["SUMMARY"]) == "Renamed forum"

    # 4. Ann cancels: METHOD:CANCEL takes it out of her calendar.
    login(ann)
    registration = _active_registration(event, ann)
    response = client.post(f"/registrations/{registration.public_id}/cancel", data={})
    assert response.status_code == 302
    _parsed, vevent = one_invitation("CANCEL", "Registration cancelled:")
    assert "Thank you for letting the organisers know." in texts[-1]
    assert vevent["ATTENDEE"].params["PARTSTAT"] == "DECLINED"

    # 5. She registers again: a new REQUEST that supersedes the CANCEL.
    register()
    one_invitation("REQUEST", "You are registered:")

    # 6. The organiser cancels her registration: another CANCEL.
    login(organiser)
    registration = _active_registration(event, ann)
    response = client.post(
        f"/manage/events/{event.id}/registrants/{registration.id}/cancel",
        data={"confirm": "Yes"},  # the confirmation page's button
    )
    assert response.status_code == 302
    one_invitation("CANCEL", "The organisers cancelled your registration:")
    assert "The organisers have cancelled your registration." in texts[-1]
    assert "Thank you for letting the organisers know" not in texts[-1]

    # 7. She registers a third time, then the event is cancelled: the event's CANCEL.
    register()
    one_invitation("REQUEST", "You are registered:")
    login(organiser)
    response = client.post(f"/manage/events/{event.id}/cancel", data={"reason": "Flooded."})
    assert response.status_code == 302
    one_invitation("CANCEL", "Cancelled:")

    assert len(sequences) == 8
