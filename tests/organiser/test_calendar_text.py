"""Text an organiser types, through the workspace's form into the public feed and the
event's download, read alike by icalendar, vobject and ical.js."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from eventsite.extensions import db
from eventsite.models import Event

from ..ical.ics_check import check_export

SPECIAL = ",;:\\\"'`~!@#$%^&*()-_=+[]{}|<>?/."


def _has_control(value: str) -> bool:
    return any((ord(ch) < 0x20 and ch not in "\t\n") or 0x7F <= ord(ch) <= 0x9F for ch in value)


def test_titles_with_every_special_character_go_through_the_form_into_the_public_feed(
    client, as_member, event_form
):
    """What an organiser can type (the forms refuse control characters in one-line
    fields, keep tabs and line breaks in others) reaches the public feed and the event's
    download as typed, read alike by icalendar, vobject and ical.js."""
    title = f"Lab: Science, Tech; Open {SPECIAL} — 科学与社会论坛 🚀🌍"
    url = f"/manage/organisations/{as_member.organisation.id}/events/new"
    data = event_form(
        title=title,
        slug="special",
        summary=f"Tabs\there; and, commas {SPECIAL}",
        description=f"Line one\r\nLine two\twith tab\r\n\r\n{SPECIAL} 気候",
        venue_name=f"Hall {SPECIAL}",
        timezone="Europe/Zurich",
    )
    assert client.post(url, data=data).status_code == 302
    event = db.session.scalars(db.select(Event).where(Event.slug == "special")).one()
    assert client.post(f"/manage/events/{event.id}/publish").status_code == 302
    for path in ("/calendar.ics", f"/events/{event.slug}.ics"):
        response = client.get(path)
        assert response.status_code == 200
        parsed = check_export(response.data)
        vevent = parsed.ical_events()[f"event-{event.id}@localhost"]
        assert str(vevent["SUMMARY"]) == title
        assert str(vevent["LOCATION"]).startswith(f"Hall {SPECIAL}, ")
        assert f"Tabs\there; and, commas {SPECIAL}" in str(vevent["DESCRIPTION"])
        assert not _has_control(response.data.decode().replace("\r\n", ""))


def test_the_zone_picker_offers_canonical_names_and_keeps_an_events_legacy_one(
    client, as_member, event_form
):
    url = f"/manage/organisations/{as_member.organisation.id}/events/new"
    page = client.get(url).get_data(as_text=True)
    assert '<option value="Asia/Kolkata">Kolkata, India (UTC+5:30)</option>' in page
    assert '<option value="America/Sao_Paulo">' in page
    for legacy in ("Asia/Calcutta", "Brazil/East", "US/Eastern"):
        assert f'value="{legacy}"' not in page
    response = client.post(url, data=event_form(timezone="Asia/Calcutta"))
    assert response.status_code == 422 and "Not a valid choice" in response.get_data(as_text=True)
    # An event saved before keeps its zone through an edit.
    event = as_member.event
    event.timezone = "Asia/Calcutta"
    db.session.commit()
    edit = f"/manage/events/{event.id}/edit"
    assert '<option selected value="Asia/Calcutta">' in client.get(edit).get_data(as_text=True)
    local = event.starts_at.astimezone(ZoneInfo("Asia/Calcutta"))
    data = event_form(
        title=event.title,
        slug=event.slug,
        kind=event.kind,
        timezone="Asia/Calcutta",
        starts_local=local.strftime("%Y-%m-%dT%H:%M"),
        ends_local=(local + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"),
        registration_opens_local="",
        registration_closes_local="",
        emails_confirmed="1",  # the world's one registrant hears of the change
    )
    response = client.post(edit, data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Event, event.id).timezone == "Asia/Calcutta"
