"""The demonstration's data files hang together: every name they use is defined in them."""

from __future__ import annotations

from eventsite.demo import data


def test_every_reference_in_the_data_files_is_defined() -> None:
    demo = data.demo()
    assert len(set(demo.event_slugs)) == len(demo.events)
    for event in demo.events:
        assert event.organisation in demo.organisation_slugs, event.slug
        assert set(event.topics) <= set(demo.topic_slugs), event.slug
        assert event.all_day or (event.start and event.end), event.slug
        for agenda_session in event.sessions:
            assert set(agenda_session.speakers) <= set(demo.speakers), agenda_session.title
            assert 0 <= agenda_session.day < event.days, agenda_session.title
    registered = [r.event for r in demo.registrations]
    assert set(demo.asked) | set(registered) | set(demo.closed_events) <= set(demo.event_slugs)
    assert all(set(keys) <= set(demo.questions) for keys in demo.asked.values())
    by_slug = {e.slug: e for e in demo.events}
    for spec in demo.registrations:
        capacity = by_slug[spec.event].capacity
        assert capacity is None or spec.confirmed + spec.pending <= capacity, spec.event
        assert spec.confirmed + spec.pending + spec.waitlisted <= demo.attendees.count


def test_every_speaker_speaks() -> None:
    demo = data.demo()
    named = {key for e in demo.events for s in e.sessions for key in s.speakers}
    assert named == set(demo.speakers)
