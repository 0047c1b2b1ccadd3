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
from typing import Any

from flask_babel import get_locale
from markupsafe import Markup, escape

from eventsite import catalogue
from eventsite.events.models import Event

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


class _Kept:
    """A card's HTML with the words as text between slots, and without them (rendered the
    first time a card without words is asked for: cancelled and ended events)."""

    __slots__ = ("parts", "without")

    def __init__(self, with_slots: str) -> None:
        self.parts = _SLOT_PATTERN.split(with_slots)  # text, name, text, name, ..., text
        self.without: Markup | None = None

    def fill(self, words: Any) -> Markup:
        return Markup(
            "".join(
                part if i % 2 == 0 else str(escape(getattr(words, part)))
                for i, part in enumerate(self.parts)
            )
        )


_cards: catalogue.VersionedMemo[_Kept] = catalogue.VersionedMemo(max_entries=2048)


def _key(event_id: int, heading: str, eager_image: bool) -> tuple[int, str, str, bool]:
    return (event_id, heading, str(get_locale()), eager_image)


def kept_ids(event_ids: Sequence[int], heading: str = "h3") -> set[int]:
    """The events whose card is kept (for this catalogue and language), in page order (the
    first card loads its cover at once, the others lazily): the listing need not load their
    organisation, pictures and topics."""
    stamp = catalogue.request_stamp()
    return {
        event_id
        for position, event_id in enumerate(event_ids)
        if _cards.peek(stamp, _key(event_id, heading, position == 0)) is not None
    }


def cached_card(
    macro: Callable[..., str],
    event: Event,
    labels: Mapping[str, str],
    registration: Any = None,
    heading: str = "h3",
    eager_image: bool = False,
) -> Markup:
    """`macro(event, labels, heading=..., registration=..., eager_image=...)`
    (macros/events.html's `event_card`; the first card of a page loads its cover at once),
    from this process's copy while the catalogue version holds. `labels`
    are the page's translated words, the same for every page in one language."""

    def render() -> _Kept:
        return _Kept(
            macro(event, labels, heading=heading, registration=_SLOT, eager_image=eager_image)
        )

    kept = _cards.get(catalogue.request_stamp(), _key(event.id, heading, eager_image), render)
    if registration is not None:
        return kept.fill(registration)
    if kept.without is None:
        kept.without = Markup(
            macro(event, labels, heading=heading, registration=None, eager_image=eager_image)
        )
    return kept.without
