"""The words for an event's kind and format, and what a listing card says about an event:
the events package registers them with its blueprint for every template."""

from __future__ import annotations

from eventsite import templating
from eventsite.events.models import Event, EventFormat, EventKind
from eventsite.i18n import gettext as _
from eventsite.i18n import lazy_gettext as _l

KIND_LABELS = {
    EventKind.FORUM: _l("Forum"),
    EventKind.CONFERENCE: _l("Conference"),
    EventKind.SUMMIT: _l("Summit"),
    EventKind.WORKSHOP: _l("Workshop"),
    EventKind.LECTURE: _l("Lecture"),
}
FORMAT_LABELS = {
    EventFormat.IN_PERSON: _l("In person"),
    EventFormat.ONLINE: _l("Online"),
    EventFormat.HYBRID: _l("Hybrid"),
}


def kind_label(kind: str) -> str:
    """ "Conference" for "conference", in the page's language; an unknown kind as it is."""
    label = KIND_LABELS.get(kind)  # type: ignore[call-overload]  # a StrEnum key equals its str
    return str(label) if label is not None else str(kind)


def card_facts(event: Event) -> dict[str, str]:
    """What a listing card says about when and where, in one call per card (the listing
    is the busiest page): dates, hours with zone, place, kind."""
    if event.format == EventFormat.ONLINE:
        place = _("Online")
    else:
        where = (event.city, templating.country_name(event.country))
        place = ", ".join(part for part in where if part) or _("Venue to be announced")
        if event.format == EventFormat.HYBRID:
            place = _("%(place)s · and online", place=place)
    return {
        "dates": templating.event_dates(event),
        "times": templating.event_times(event),
        "place": place,
        "kind": kind_label(event.kind),
    }
