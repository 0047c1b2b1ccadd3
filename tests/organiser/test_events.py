"""Creating, editing, publishing, cancelling and duplicating events in the workspace."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from eventsite.extensions import db
from eventsite.mail.sender import deliver_due
from eventsite.models import (
    AuditEntry,
    Event,
    JoinedVia,
    Membership,
    Question,
    QuestionKind,
    Registration,
    RegistrationStatus,
)

from ..ical.ics_check import check_export
from .conftest import submitted_event_form


def _event(slug: str) -> Event:
    return db.session.scalar(select(Event).where(Event.slug == slug))


def _log(event: Event) -> list[AuditEntry]:
    return list(
        db.session.scalars(
            select(AuditEntry).where(AuditEntry.event_id == event.id).order_by(AuditEntry.id)
        )
    )


# --- creating ------------------------------------------------------------------------------


def test_organiser_creates_a_draft_with_times_in_the_events_zone(
    client, as_member, event_form, make_topic
) -> None:
    climate = make_topic("Climate")
    make_topic("Health")
    url = f"/manage/organisations/{as_member.organisation.id}/events/new"
    assert client.get(url).status_code == 200
    response = client.post(url, data=event_form(topics=[str(climate.id)]))
    assert response.status_code == 302
    event = _event("world-science-forum")
    assert event.status == "draft"
    assert event.organisation_id == as_member.organisation.id
    # Nairobi is UTC+3 all year.
    assert event.starts_at == datetime(2027, 5, 12, 6, 0, tzinfo=UTC)
    assert event.ends_at == datetime(2027, 5, 14, 14, 0, tzinfo=UTC)
    assert event.registration_closes_at == datetime(2027, 5, 10, 20, 59, tzinfo=UTC)
    assert event.confirmation_hold_hours == 24
    assert event.country == "KE" and event.capacity == 300
    assert event.latitude == pytest.approx(-1.2886)
    assert [t.slug for t in event.topics] == ["climate"]
    assert "world science forum" in event.search_text
    [entry] = _log(event)
    assert entry.action == "create" and entry.actor_id == as_member.member.id


def test_the_event_form_offers_topics_as_checkboxes_and_names_the_web_address(
    client, as_member, make_topic, make_event
) -> None:
    climate = make_topic("Climate")
    health = make_topic("Health")
    url = f"/manage/organisations/{as_member.organisation.id}/events/new"
    html = client.get(url).get_data(as_text=True)
    assert "<select multiple" not in html and 'name="topics"' in html
    for topic in (climate, health):
        assert f'name="topics" type="checkbox" value="{topic.id}">' in html
        assert f">{topic.name}</label>" in html
    assert '<label for="slug">Web address</label>' in html
    assert '<span class="url-prefix" id="slug-prefix">http://localhost/events/</span>' in html

    event = make_event(organisation=as_member.organisation, topics=[health])
    html = client.get(f"/manage/events/{event.id}/edit").get_data(as_text=True)
    assert f'checked id="topics-1" name="topics" type="checkbox" value="{health.id}">' in html
    assert f'name="topics" type="checkbox" value="{climate.id}">' in html


def test_all_day_events_run_from_the_first_midnight_to_after_the_last_day(
    client, as_member, event_form
) -> None:
    url = f"/manage/organisations/{as_member.organisation.id}/events/new"
    data = event_form(
        title="All day",
        is_all_day="y",
        timezone="Europe/Zurich",
        starts_local="2027-05-12",
        ends_local="2027-05-13",
        registration_opens_local="",
        registration_closes_local="",
    )
    assert client.post(url, data=data).status_code == 302
    event = _event("all-day")
    assert event.is_all_day
    assert event.starts_at == datetime(2027, 5, 11, 22, 0, tzinfo=UTC)
    assert event.ends_at == datetime(2027, 5, 13, 22, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"ends_local": "2027-05-11T09:00"}, "The end must come after the start."),
        (
            {"registration_closes_local": "2027-05-20T09:00"},
            "Registration must close before the event ends.",
        ),
        ({"format": "online", "online_url": ""}, "Online and hybrid events need the online"),
        ({"timezone": "Mars/Olympus"}, "Not a valid choice"),
        ({"capacity": "-5"}, "Give a number of places between 0 and 1000000."),
        ({"confirmation_hold_hours": "0"}, "Give a number of hours between 1 and 168."),
        ({"confirmation_hold_hours": "169"}, "Give a number of hours between 1 and 168."),
        ({"starts_local": "tomorrow"}, "Not a valid datetime value"),
    ],
)
def test_invalid_events_come_back_with_a_clear_message(
    client, as_member, event_form, overrides, message
) -> None:
    url = f"/manage/organisations/{as_member.organisation.id}/events/new"
    response = client.post(url, data=event_form(**overrides))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert _event("world-science-forum") is None


def test_preview_renders_the_markdown_without_saving(client, as_member, event_form) -> None:
    url = f"/manage/organisations/{as_member.organisation.id}/events/new"
    data = event_form(description="# Welcome\n\n<script>x</script> **bold**", preview="Preview")
    data.pop("submit")
    response = client.post(url, data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<h3>Welcome</h3>" in html and "<strong>bold</strong>" in html
    assert "<script>x</script>" not in html
    assert _event("world-science-forum") is None


# --- editing -------------------------------------------------------------------------------


def test_the_address_of_a_published_event_is_read_only(client, as_member) -> None:
    event = as_member.event
    response = client.get(f"/manage/events/{event.id}/edit")
    assert "readonly" in response.get_data(as_text=True)
    response = client.get(f"/manage/events/{as_member.draft.id}/edit")
    assert "readonly" not in response.get_data(as_text=True)


def test_moving_a_published_event_bumps_its_revision_and_emails_registrants(
    smtp_sink, app, client, world, login, event_form
) -> None:
    _controller, handler = smtp_sink
    world.registration.status = RegistrationStatus.CONFIRMED
    world.session.starts_at = world.event.starts_at
    world.session.ends_at = world.event.starts_at + timedelta(hours=1)
    db.session.commit()
    login(world.member)
    event = world.event
    response = client.get(f"/manage/events/{event.id}/edit")
    assert response.status_code == 200
    # The form as the browser would send it back, with the venue changed.
    response = client.post(
        f"/manage/events/{event.id}/edit",
        data=event_form(
            title=event.title,
            slug=event.slug,
            kind=event.kind,
            timezone=event.timezone,
            starts_local=event.starts_at.astimezone(_zone(event.timezone)).strftime(
                "%Y-%m-%dT%H:%M"
            ),
            ends_local=event.ends_at.astimezone(_zone(event.timezone)).strftime("%Y-%m-%dT%H:%M"),
            venue_name="Palais des Nations",
            registration_opens_local="",
            registration_closes_local="",
            capacity="100",
            has_waiting_list="y",
            requires_approval="y",
            emails_confirmed="1",  # "Saving will email 1 registered person" confirmed
        ),
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    event = db.session.get(Event, event.id)
    assert event.venue_name == "Palais des Nations"
    assert event.revision == 1
    entry = _log(event)[-1]
    assert entry.details["changes"]["venue_name"]["new"] == "Palais des Nations"
    assert entry.details["revision"] == 1
    report = deliver_due()
    assert report is not None
    assert len(handler.messages) == 1
    message = email.message_from_bytes(handler.messages[0].content, policy=email.policy.default)
    assert message["To"] == world.attendee.email
    assert "Changed" in message["Subject"]
    ics = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
    parsed = check_export(ics.get_payload(decode=True))  # times == the database's, in UTC
    assert parsed.vcal.method.value == "REQUEST"
    [vevent] = parsed.vobject_events().values()
    assert vevent.uid.value == f"event-{event.id}@localhost"
    assert vevent.sequence.value == "1"
    assert vevent.location.value.startswith("Palais des Nations")
    assert vevent.attendee.value == f"mailto:{world.attendee.email}"
    assert vevent.attendee.params["PARTSTAT"] == ["ACCEPTED"]


def _zone(name: str):
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


# --- lifecycle -----------------------------------------------------------------------------


def test_publishing_a_draft_from_the_workspace(client, as_member) -> None:
    draft = as_member.draft
    response = client.post(f"/manage/events/{draft.id}/publish")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Event, draft.id).status == "published"
    assert _log(draft)[-1].action == "publish"
    # Publishing twice says why not, and changes nothing.
    response = client.post(f"/manage/events/{draft.id}/publish", follow_redirects=True)
    assert "Only a draft can be published" in response.get_data(as_text=True)


def test_publishing_refuses_a_form_nobody_could_submit_and_says_why(client, as_member) -> None:
    draft = as_member.draft
    db.session.add(
        Question(
            event=draft,
            label="Workshop track",
            kind=QuestionKind.SINGLE_CHOICE,
            is_required=True,
            options=[],
            position=0,
        )
    )
    db.session.commit()
    before = len(_log(draft))
    response = client.post(f"/manage/events/{draft.id}/publish", follow_redirects=True)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Nobody could register: the required question “Workshop track” has no choices." in html
    assert "is published." not in html
    db.session.expire_all()
    stored = db.session.get(Event, draft.id)
    assert stored.status == "draft" and stored.published_at is None
    assert len(_log(draft)) == before


def test_the_question_form_says_a_choice_question_needs_two_choices(client, as_member) -> None:
    html = client.get(f"/manage/events/{as_member.draft.id}/questions").get_data(as_text=True)
    assert "at least two choices, one per line." in html


def test_cancelling_asks_for_a_reason_and_tells_registrants(
    smtp_sink, app, client, world, login
) -> None:
    _controller, handler = smtp_sink
    world.registration.status = RegistrationStatus.CONFIRMED
    db.session.commit()
    login(world.member)
    url = f"/manage/events/{world.event.id}/cancel"
    response = client.post(url, data={"reason": "  "})
    assert response.status_code == 422
    assert "Say why" in response.get_data(as_text=True)
    response = client.post(url, data={"reason": "The venue flooded."})
    assert response.status_code == 302
    db.session.expire_all()
    event = db.session.get(Event, world.event.id)
    assert event.status == "cancelled"
    assert event.cancellation_reason == "The venue flooded."
    assert event.revision == 1
    assert _log(event)[-1].details["reason"] == "The venue flooded."
    deliver_due()
    [envelope] = handler.messages
    message = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert envelope.rcpt_tos == [world.attendee.email]
    ics = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
    parsed = check_export(ics.get_payload(decode=True))  # times == the database's, in UTC
    assert parsed.vcal.method.value == "CANCEL"
    [vevent] = parsed.vobject_events().values()
    assert vevent.uid.value == f"event-{event.id}@localhost"
    assert (vevent.status.value, vevent.sequence.value) == ("CANCELLED", "1")
    assert vevent.attendee.value == f"mailto:{world.attendee.email}"


def test_duplicate_copies_agenda_and_questions_with_new_dates(client, as_member) -> None:
    event = as_member.event
    db.session.add(
        Question(event=event, label="Removed", kind=QuestionKind.SHORT_TEXT, is_active=False)
    )
    db.session.commit()
    new_start = (event.starts_at + timedelta(days=365)).astimezone(_zone(event.timezone))
    response = client.post(
        f"/manage/events/{event.id}/duplicate",
        data={"title": "Forum next year", "starts_local": new_start.strftime("%Y-%m-%dT%H:%M")},
    )
    assert response.status_code == 302
    copy = _event("forum-next-year")
    assert copy.status == "draft" and copy.revision == 0
    assert copy.starts_at == event.starts_at + timedelta(days=365)
    assert copy.ends_at - copy.starts_at == event.ends_at - event.starts_at
    [session] = copy.sessions
    assert session.starts_at == as_member.session.starts_at + timedelta(days=365)
    assert [s.name for s in session.speakers] == [as_member.speaker.name]
    labels = db.session.scalars(select(Question.label).where(Question.event_id == copy.id)).all()
    assert labels == ["Affiliation"]
    assert db.session.scalar(select(Registration).where(Registration.event_id == copy.id)) is None


# --- the list ------------------------------------------------------------------------------


def test_the_workspace_lists_events_with_counts_by_status(
    client, as_member, make_event, make_user, count_queries
) -> None:
    world = as_member
    for status in ("confirmed", "confirmed", "waitlisted", "cancelled"):
        db.session.add(Registration(event=world.event, user=make_user(), status=status))
    db.session.commit()
    response = client.get("/manage/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert world.event.title in html and world.draft.title in html
    assert world.other_event.title not in html
    row = html.split(world.event.title, 1)[1].split("</tr>", 1)[0]
    assert [c.split("</td>")[0] for c in row.split("<td>")[-4:]] == ["2", "1", "1", "1"]
    with count_queries() as few:
        client.get("/manage/")
    assert few.count <= 8
    for _ in range(10):
        make_event(organisation=world.organisation)
    client.get("/manage/")  # the factories' commits expired the logged-in user: reload it
    with count_queries() as many:
        client.get("/manage/")
    assert many.count == few.count, "\n".join(many.statements)


def test_the_tabs_filter_drafts_published_cancelled_and_past(client, as_member, make_event) -> None:
    world = as_member
    past = make_event(
        organisation=world.organisation,
        title="Long ago",
        starts_at=datetime(2020, 1, 1, tzinfo=UTC),
    )
    html = client.get("/manage/?status=draft").get_data(as_text=True)
    assert world.draft.title in html and world.event.title not in html
    html = client.get("/manage/?status=past").get_data(as_text=True)
    assert past.title in html and world.event.title not in html
    html = client.get("/manage/?status=published").get_data(as_text=True)
    assert world.event.title in html and past.title not in html


def test_the_workspace_lists_upcoming_events_first_then_past_ones(
    client, as_member, make_event
) -> None:
    world = as_member
    now = datetime.now(UTC)
    for title, days in (
        ("Last year's meeting", -365),
        ("Next month's school", 30),
        ("Last month's workshop", -30),
        ("Next week's seminar", 7),
    ):
        make_event(organisation=world.organisation, title=title, starts_at=now + timedelta(days))
    html = client.get("/manage/").get_data(as_text=True)
    order = [
        "Next week's seminar",
        "Next month's school",
        "Last month's workshop",
        "Last year's meeting",
    ]
    positions = [html.index(title.replace("'", "&#39;")) for title in order]
    assert positions == sorted(positions)


def test_admins_see_every_organisations_events(client, world, login) -> None:
    login(world.admin)
    html = client.get("/manage/").get_data(as_text=True)
    assert world.event.title in html and world.other_event.title in html


def test_a_member_of_two_organisations_sees_both(client, world, login) -> None:
    db.session.add(
        Membership(
            user_id=world.member.id,
            organisation_id=world.other_organisation.id,
            joined_via=JoinedVia.INVITATION,
        )
    )
    db.session.commit()
    login(world.member)
    html = client.get("/manage/").get_data(as_text=True)
    assert world.event.title in html and world.other_event.title in html


@pytest.mark.parametrize("all_day", [False, True])
def test_saving_the_edit_form_unchanged_changes_nothing(
    client, as_member, make_topic, all_day
) -> None:
    event = as_member.event
    event.topics = [make_topic("Oceans")]
    event.online_url = None
    event.country = None
    event.registration_closes_at = event.starts_at - timedelta(days=1)
    if all_day:
        event.is_all_day = True
        event.starts_at = datetime(2027, 3, 1, 23, 0, tzinfo=UTC)  # Zurich midnight
        event.ends_at = datetime(2027, 3, 3, 23, 0, tzinfo=UTC)
        as_member.session.starts_at = event.starts_at
        as_member.session.ends_at = event.starts_at + timedelta(hours=1)
    db.session.commit()
    html = client.get(f"/manage/events/{event.id}/edit").get_data(as_text=True)
    response = client.post(f"/manage/events/{event.id}/edit", data=submitted_event_form(html))
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    assert [e.details for e in _log(db.session.get(Event, event.id))] == []
    event = db.session.get(Event, event.id)
    assert event.revision == 0
    assert [e.action for e in _log(event)] == []


def test_the_workspace_list_pages_keeping_its_tab(client, as_member, make_event) -> None:
    organisation = as_member.organisation
    for n in range(55):
        make_event(organisation=organisation, slug=f"extra-{n}", title=f"Extra {n:02d}")
    html = client.get("/manage/", query_string={"status": "published"}).get_data(as_text=True)
    assert "Page 1 of 2" in html
    assert 'href="/manage/?page=2&amp;status=published">Next</a>' in html
    second = client.get("/manage/", query_string={"status": "published", "page": 2})
    assert 'href="/manage/?page=1&amp;status=published">Previous</a>' in second.get_data(
        as_text=True
    )
