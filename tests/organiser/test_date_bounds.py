"""Dates in the workspace forms stay within the years the site works with (1900–2200):
a typo such as year 9998 is refused on its field, and year 9999 no longer overflows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import vobject
from sqlalchemy import func, select

from eventsite.events import rules, services
from eventsite.extensions import db
from eventsite.models import AgendaSession, AuditEntry, Event
from eventsite.timeutil import utcnow

MESSAGE = "Give a date between the years 1900 and 2200."
EVENT_FIELDS = (
    "starts_local",
    "ends_local",
    "registration_opens_local",
    "registration_closes_local",
    "edit_deadline_local",
)


def _counts() -> tuple[int, int, int]:
    db.session.expire_all()
    return (
        db.session.scalar(select(func.count()).select_from(Event)),
        db.session.scalar(select(func.count()).select_from(AgendaSession)),
        db.session.scalar(select(func.count()).select_from(AuditEntry)),
    )


def _refused_on(html: str, field: str) -> bool:
    """The message is shown, and next to the field (its error list follows its input)."""
    position = html.find(f'id="{field}"')
    return position != -1 and MESSAGE in html[position:]


def test_the_bounds_are_the_listing_filters_bounds() -> None:
    assert (rules.MIN_YEAR, rules.MAX_YEAR) == (1900, 2200)


@pytest.mark.parametrize("field", EVENT_FIELDS)
@pytest.mark.parametrize(
    ("value", "timezone"),
    [
        ("9998-05-12T09:00", "Africa/Nairobi"),  # a typo that used to be saved
        ("9999-12-31T20:00", "America/New_York"),  # used to overflow (500)
        ("2201-01-01T00:00", "UTC"),
        ("1899-12-31T23:59", "UTC"),
        ("0001-01-01T00:00", "Asia/Tokyo"),
    ],
)
def test_creating_an_event_with_a_date_out_of_range_is_refused_on_that_field(
    client, as_member, event_form, field, value, timezone
) -> None:
    before = _counts()
    url = f"/manage/organisations/{as_member.organisation.id}/events/new"
    response = client.post(url, data=event_form(timezone=timezone, **{field: value}))
    assert response.status_code == 422
    assert _refused_on(response.get_data(as_text=True), field)
    assert _counts() == before


@pytest.mark.parametrize("field", EVENT_FIELDS)
def test_editing_an_event_with_a_date_out_of_range_is_refused_on_that_field(
    client, as_member, event_form, field
) -> None:
    event = as_member.draft
    old = (event.starts_at, event.ends_at, event.registration_closes_at, event.updated_at)
    before = _counts()
    response = client.post(
        f"/manage/events/{event.id}/edit",
        data=event_form(
            title=event.title,
            timezone="America/New_York",
            **{field: "9999-12-31T20:00"},
        ),
    )
    assert response.status_code == 422
    assert _refused_on(response.get_data(as_text=True), field)
    assert _counts() == before
    db.session.expire_all()
    event = db.session.get(Event, event.id)
    assert (event.starts_at, event.ends_at, event.registration_closes_at, event.updated_at) == old


def test_an_all_day_event_ending_on_the_last_day_of_9999_is_refused(
    client, as_member, event_form
) -> None:
    before = _counts()
    url = f"/manage/organisations/{as_member.organisation.id}/events/new"
    data = event_form(
        is_all_day="y",
        timezone="America/New_York",
        starts_local="9999-12-30",
        ends_local="9999-12-31",
        registration_opens_local="",
        registration_closes_local="",
    )
    response = client.post(url, data=data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert _refused_on(html, "starts_local") and _refused_on(html, "ends_local")
    assert _counts() == before


def test_the_last_day_of_2200_is_accepted_and_its_calendar_reads_back(
    client, as_member, event_form
) -> None:
    """The edge of the range works end to end: saved, published, in the calendar feed."""
    url = f"/manage/organisations/{as_member.organisation.id}/events/new"
    data = event_form(
        title="Far future",
        is_all_day="y",
        timezone="America/New_York",
        starts_local="2200-12-30",
        ends_local="2200-12-31",
        registration_opens_local="2200-01-01T09:00",
        registration_closes_local="2200-12-29T09:00",
        edit_deadline_local="2200-12-29T09:00",
    )
    assert client.post(url, data=data).status_code == 302
    event = db.session.scalar(select(Event).where(Event.slug == "far-future"))
    # Midnight in New York (UTC-5 in winter) of the day after the last day.
    assert event.ends_at == datetime(2201, 1, 1, 5, 0, tzinfo=UTC)
    assert client.post(f"/manage/events/{event.id}/publish").status_code == 302
    response = client.get(f"/events/{event.slug}.ics")
    assert response.status_code == 200
    calendar = vobject.readOne(response.get_data(as_text=True))
    assert calendar.vevent.dtstart.value.isoformat() == "2200-12-30"
    response = client.get("/calendar.ics")
    assert response.status_code == 200
    summaries = [
        v.summary.value for v in vobject.readOne(response.get_data(as_text=True)).vevent_list
    ]
    assert "Far future" in summaries


def test_a_start_in_1900_is_accepted(client, as_member, event_form) -> None:
    url = f"/manage/organisations/{as_member.organisation.id}/events/new"
    data = event_form(
        title="Old times",
        timezone="Asia/Tokyo",
        starts_local="1900-01-01T00:00",
        ends_local="1900-01-01T08:00",
        registration_opens_local="",
        registration_closes_local="",
    )
    assert client.post(url, data=data).status_code == 302
    assert db.session.scalar(select(Event).where(Event.slug == "old-times")) is not None


# --- the agenda and the copy ------------------------------------------------------------------


@pytest.mark.parametrize("field", ["starts_local", "ends_local"])
def test_a_session_out_of_range_is_refused_on_that_field(client, as_member, field) -> None:
    event = as_member.event
    event.timezone = "America/New_York"
    db.session.commit()
    data = {
        "title": "Far session",
        "starts_local": "2027-05-12T09:00",
        "ends_local": "2027-05-12T10:00",
        field: "9999-12-31T23:00",
    }
    before = _counts()
    # Adding a session, then editing the existing one.
    response = client.post(f"/manage/events/{event.id}/agenda", data=data)
    assert response.status_code == 422
    assert _refused_on(response.get_data(as_text=True), field)
    session = as_member.session
    old = (session.title, session.starts_at, session.ends_at)
    response = client.post(f"/manage/events/{event.id}/sessions/{session.id}", data=data)
    assert response.status_code == 422
    assert _refused_on(response.get_data(as_text=True), field)
    assert _counts() == before
    db.session.expire_all()
    session = db.session.get(AgendaSession, session.id)
    assert (session.title, session.starts_at, session.ends_at) == old


@pytest.mark.parametrize("value", ["9998-05-12T09:00", "9999-12-31T23:00", "1850-06-01T09:00"])
def test_a_copy_starting_out_of_range_is_refused(client, as_member, value) -> None:
    event = as_member.event
    event.timezone = "America/New_York"
    db.session.commit()
    before = _counts()
    response = client.post(
        f"/manage/events/{event.id}/duplicate",
        data={"title": "Forum far away", "starts_local": value},
    )
    assert response.status_code == 422
    assert _refused_on(response.get_data(as_text=True), "starts_local")
    assert _counts() == before


@pytest.mark.parametrize("field", ["starts_at", "ends_at", "registration_closes_at"])
def test_the_service_refuses_dates_out_of_range_too(make_organisation, field) -> None:
    """What does not come through the form (the CLI, an import) meets the same rule."""
    values = {
        "title": "Far Future Forum",
        "timezone": "UTC",
        "starts_at": datetime(2030, 1, 1, 9, tzinfo=UTC),
        "ends_at": datetime(2030, 1, 1, 17, tzinfo=UTC),
    }
    values[field] = datetime(9998, 1, 1, tzinfo=UTC)
    before = _counts()
    with pytest.raises(rules.EventError) as refused:
        services.create_event(make_organisation(), values, now=utcnow())
    assert refused.value.field == field
    assert MESSAGE in str(refused.value)
    db.session.rollback()
    assert _counts()[0] == before[0]
