"""Command-line tools: `flask demo`, `flask users`, `flask outbox`."""

from __future__ import annotations

from sqlalchemy import func, select

from eventsite.demo import clear, data
from eventsite.extensions import db
from eventsite.models import (
    AgendaSession,
    Event,
    EventStatus,
    Organisation,
    Registration,
    Speaker,
    Topic,
    User,
)

# --- flask demo ------------------------------------------------------------------------------


def _row_counts() -> dict[str, int]:
    db.session.expire_all()
    return {
        model.__name__: db.session.scalar(select(func.count()).select_from(model))
        for model in (Organisation, Topic, Event, AgendaSession, Speaker, User, Registration)
    }


def test_demo_load_creates_a_believable_programme(runner) -> None:
    result = runner.invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    assert "Created 4 organisations" in result.output

    counts = _row_counts()
    assert counts["Organisation"] >= 3
    assert counts["Topic"] >= 5
    assert counts["Event"] >= 12
    events = db.session.scalars(select(Event)).all()
    assert {e.timezone for e in events} >= {
        "Asia/Shanghai",
        "Europe/Zurich",
        "Africa/Nairobi",
        "America/Sao_Paulo",
        "America/New_York",
    }
    assert {e.kind for e in events} == {"forum", "conference", "summit", "workshop", "lecture"}
    assert {e.format for e in events} == {"in_person", "online", "hybrid"}
    statuses = [e.status for e in events]
    assert statuses.count(EventStatus.CANCELLED) == 1
    assert statuses.count(EventStatus.DRAFT) == 1
    cancelled = next(e for e in events if e.status == EventStatus.CANCELLED)
    assert cancelled.cancellation_reason

    from eventsite.timeutil import utcnow

    now = utcnow()
    public = [e for e in events if e.status == EventStatus.PUBLISHED]
    assert sum(e.starts_at > now for e in public) >= 5
    assert sum(e.ends_at < now for e in public) >= 2
    for event in events:
        assert event.ends_at > event.starts_at
        if event.format != "online":
            assert event.latitude is not None and event.longitude is not None
        if event.status == EventStatus.PUBLISHED:
            assert event.sessions, event.slug
            assert event.search_text == event.search_text.lower()
            assert event.title.lower() in event.search_text

    flagship = db.session.scalar(select(Event).where(Event.slug == data.demo().event_slugs[0]))
    assert "205 experts" in flagship.description
    assert "seven Nobel laureates" in flagship.description
    assert "19 countries and regions" in flagship.description
    assert len({s.starts_at.date() for s in flagship.sessions}) == 3
    laureates = {
        speaker.name
        for agenda_session in flagship.sessions
        for speaker in agenda_session.speakers
        if speaker.honours.startswith("Nobel laureate")
    }
    assert len(laureates) == 7
    # Speakers' names are searchable.
    assert "amara okonkwo-reyes" in flagship.search_text


def test_demo_load_twice_changes_nothing(runner) -> None:
    assert runner.invoke(args=["demo", "load"]).exit_code == 0
    first = _row_counts()
    slugs_and_dates = set(db.session.execute(select(Event.slug, Event.starts_at)).all())

    result = runner.invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    assert "already loaded" in result.output
    assert _row_counts() == first
    assert set(db.session.execute(select(Event.slug, Event.starts_at)).all()) == slugs_and_dates


def test_demo_clear_removes_exactly_the_demo_rows(runner, make_event, make_topic) -> None:
    own_topic = make_topic("Astronomy")
    own_event = make_event(title="Our own meeting", slug="our-own-meeting", topics=[own_topic])
    before = _row_counts()

    assert runner.invoke(args=["demo", "load"]).exit_code == 0
    result = runner.invoke(args=["demo", "clear"])
    assert result.exit_code == 0, result.output
    assert "Removed" in result.output

    assert _row_counts() == before
    assert db.session.get(Event, own_event.id).title == "Our own meeting"
    assert db.session.get(Topic, own_topic.id).name == "Astronomy"
    assert clear.demo_counts() == {"organisations": 0, "topics": 0, "events": 0, "speakers": 0}

    # Clearing again is harmless, and loading afterwards works.
    assert runner.invoke(args=["demo", "clear"]).exit_code == 0
    assert runner.invoke(args=["demo", "load"]).exit_code == 0
    assert clear.demo_counts()["events"] == len(data.demo().events)


def test_demo_clear_keeps_what_other_events_still_use(runner, make_event) -> None:
    assert runner.invoke(args=["demo", "load"]).exit_code == 0
    organisation = db.session.scalar(
        select(Organisation).where(Organisation.slug == data.demo().organisation_slugs[0])
    )
    topic = db.session.scalar(select(Topic).where(Topic.slug == "connectivity"))
    own_event = make_event(title="A user's own event", organisation=organisation, topics=[topic])

    result = runner.invoke(args=["demo", "clear"])
    assert result.exit_code == 0, result.output
    assert "Kept 1 organisations, 1 topics" in result.output

    db.session.expire_all()
    assert db.session.get(Event, own_event.id) is not None
    assert db.session.get(Organisation, organisation.id) is not None
    assert db.session.get(Topic, topic.id) is not None
    assert clear.demo_counts() == {"organisations": 1, "topics": 1, "events": 0, "speakers": 0}
