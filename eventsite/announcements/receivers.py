"""What announcements do when the events domain signals: the first publication is news."""

from __future__ import annotations

from datetime import datetime

from eventsite import signals
from eventsite.announcements import services
from eventsite.events.models import Event


@signals.event_published.connect
def announce_on_first_publication(sender: Event, *, now: datetime, **_extra: object) -> None:
    services.announce_first_publication(now)
