"""The calendar revision rule: SEQUENCE goes up only when the date, time or place changes."""

from __future__ import annotations

from eventsite.events import revision
from eventsite.extensions import db


def test_revision_goes_up_only_when_date_time_or_place_changes(app, make_event):
    event = make_event()
    event.title = "New title"
    event.description = "New words"
    assert revision.bump_revision_if_moved(event) is False
    assert event.revision == 0
    event.city = "Lausanne"
    assert revision.bump_revision_if_moved(event) is True
    assert event.revision == 1
    db.session.commit()
    assert revision.bump_revision_if_moved(event, ["starts_at"]) is True
    assert revision.bump_revision_if_moved(event, ["title", "summary"]) is False
    assert event.revision == 2
