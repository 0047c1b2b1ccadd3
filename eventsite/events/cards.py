"""Listing cards, rendered once per event and language while the catalogue stays the same.

A card shows the event, its organisation and topics (all of which move the catalogue
version) and what registration's rules say about registering, which changes with every
registration. The card is kept with a stand-in for those words and filled in per request,
so a registration shows on the next listing while the rest of the card is not rendered
again. Measured with `python -m bench public --no-http` (10,000 events, SQLite): the cards
were ~45 % of a rendered listing's time (the macro, `card_facts`' Babel dates and ~80
`url_for` calls a page).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.orm import defer, joinedload, selectinload

from eventsite import catalogue
from eventsite.events.models import Event, EventStatus
from eventsite.extensions import db
from eventsite.i18n import current_code
from eventsite.i18n import gettext as _
from eventsite.organisations.models import Organisation

# Between two of these, the name of the words' attribute that stands there.
_MARK = "\x1e"
_SLOT_PATTERN = re.compile(f"{_MARK}(\\w+){_MARK}")


class _Slot:
    """Stands for the card's registration words while the card is rendered for keeping:
    each attribute the macro reads (`label`, `tone`) renders as its marked name."""

    def __getattr__(self, name: str) -> str:
        if name.startswith("_"):
            raise AttributeError(name)
        return f"{_MARK}{name}{_MARK}"


_SLOT = _Slot()


@dataclass(frozen=True, slots=True)
class CardFacts:
    """The event's columns a card's registration words are worked out from, kept with the
    card: like the rest of it they move the catalogue version, so a kept card's event need
    not be read again (`card_registration` takes these or events alike)."""

    id: int
    status: EventStatus
    ends_at: datetime
    timezone: str
    registration_opens_at: datetime | None
    registration_closes_at: datetime | None
    capacity: int | None
    has_waiting_list: bool

    @classmethod
    def of(cls, event: Event) -> CardFacts:
        return cls(
            id=event.id,
            status=event.status,
            ends_at=event.ends_at,
            timezone=event.timezone,
            registration_opens_at=event.registration_opens_at,
            registration_closes_at=event.registration_closes_at,
            capacity=event.capacity,
            has_waiting_list=event.has_waiting_list,
        )

    def has_ended(self, now: datetime) -> bool:
        return self.ends_at <= now


class _Kept:
    """A card's HTML with the words as text between slots, and without them (cancelled and
    ended events), and the facts the words are worked out from."""

    __slots__ = ("facts", "parts", "slots", "without")

    def __init__(self, with_slots: str, without: str, facts: CardFacts) -> None:
        self.parts = _SLOT_PATTERN.split(with_slots)  # text, name, text, name, ..., text
        self.slots = tuple((i, self.parts[i]) for i in range(1, len(self.parts), 2))
        self.without = Markup(without)
        self.facts = facts

    def fill(self, words: Any) -> str:
        """The card with `words` (escaped) in its slots: HTML, for a Markup to hold."""
        if words is None:
            return self.without
        parts = self.parts.copy()
        for i, name in self.slots:
            parts[i] = escape(getattr(words, name))
        return "".join(parts)


_cards: catalogue.VersionedMemo[_Kept] = catalogue.VersionedMemo(max_entries=2048)
# A page's cards together, by their ids in page order: a listing seen again looks its cards
# up once, not once each (the twenty lookups, each with its key in the request's language,
# were ~5 % of a rendered listing's time in a gunicorn worker: py-spy under `make bench`).
_pages: catalogue.VersionedMemo[tuple[_Kept, ...]] = catalogue.VersionedMemo(max_entries=1024)


def _key(event_id: int, heading: str, eager_image: bool) -> tuple[int, str, str, bool]:
    return (event_id, heading, current_code(), eager_image)


def kept_facts(event_ids: Sequence[int], heading: str = "h3") -> dict[int, CardFacts]:
    """The facts of the events whose card is kept (for this catalogue and language), in
    page order (the first card loads its cover at once, the others lazily): the listing
    need not read those events at all."""
    stamp = catalogue.request_stamp()
    page = _pages.peek(stamp, _page_key(event_ids, heading))
    if page is not None:
        return {kept.facts.id: kept.facts for kept in page}
    found = {}
    for position, event_id in enumerate(event_ids):
        kept = _cards.peek(stamp, _key(event_id, heading, position == 0))
        if kept is not None:
            found[event_id] = kept.facts
    return found


def _page_key(event_ids: Sequence[int], heading: str) -> tuple[Any, ...]:
    return (tuple(event_ids), heading, current_code())


def card_labels() -> dict[str, str]:
    """The words of every card, in the reader's language: translated when cards are
    rendered, not on every listing."""
    return {
        "when": _("When"),
        "where": _("Where"),
        "organiser": _("Organiser"),
        "topics": _("Topics"),
        "cancelled": _("Cancelled"),
    }


def cached_cards(
    macro: Callable[..., str],
    events: Sequence[Event | CardFacts],
    registration: Mapping[int, Any],
    heading: str = "h3",
) -> Markup:
    """A page's cards, each in its `<li>`: `macro(event, labels, heading=...,
    registration=..., eager_image=...)` (macros/events.html's `event_card`, given
    `card_labels()`; the first card loads its cover at once, the others lazily), each card
    from this process's copy while the catalogue version holds, with
    `registration[event.id]`'s words (None: none). `events`: events, or the facts
    `kept_facts` found for them (their cards are kept)."""
    ids = [event.id for event in events]

    def render() -> tuple[_Kept, ...]:
        labels = card_labels()
        return tuple(
            _card(macro, event, labels, heading, position == 0)
            for position, event in enumerate(events)
        )

    page = _pages.get(catalogue.request_stamp(), _page_key(ids, heading), render)
    filled = (kept.fill(registration[kept.facts.id]) for kept in page)
    return Markup("".join(f"<li>{card}</li>" for card in filled if card))  # none: gone


def _card(
    macro: Callable[..., str],
    event: Event | CardFacts,
    labels: Mapping[str, str],
    heading: str,
    eager_image: bool,
) -> _Kept:
    """One card, kept: rendered with a stand-in for its registration words, and without
    them (cancelled and ended events)."""

    def render() -> _Kept:
        # Given facts, the card was kept when the page was read; if it is gone now (another
        # thread's request moved the memo to another catalogue version meanwhile), its
        # event is read again. Gone from the database too: no card (`cached_cards`).
        full = event if isinstance(event, Event) else next(iter(events_for_cards([event.id])), None)
        if full is None:
            assert isinstance(event, CardFacts)
            return _Kept("", "", event)
        # With and without the words: a card shown without them (a past event's) is shown
        # from the facts alone, like any other kept card.
        return _Kept(
            macro(full, labels, heading=heading, registration=_SLOT, eager_image=eager_image),
            macro(full, labels, heading=heading, registration=None, eager_image=eager_image),
            CardFacts.of(full),
        )

    return _cards.get(catalogue.request_stamp(), _key(event.id, heading, eager_image), render)


def events_for_cards(ids: Sequence[int]) -> list[Event]:
    """The events with what their cards show (organisation and logo, cover, topics), in
    one query and one more for the topics, in no particular order."""
    return list(
        db.session.scalars(
            select(Event)
            .where(Event.id.in_(ids))
            .options(
                # The cards show neither description nor search text: the widest columns
                # of the table.
                defer(Event.description),
                defer(Event.search_text),
                joinedload(Event.organisation).joinedload(Organisation.logo_image),
                joinedload(Event.cover_image),
                selectinload(Event.topics),
            )
        )
    )


def clear() -> None:
    """Forget every kept card (the tests, the scale bench: what a fresh process holds)."""
    _cards.clear()
    _pages.clear()
