"""The month view of the listing: which month the address asks for, the events of that
month under the listing's filters, and the weeks of the grid."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from babel import Locale
from babel.dates import format_skeleton
from flask_babel import get_locale
from sqlalchemy.orm import defer, joinedload

from eventsite import timeutil
from eventsite.events.listing import ListingFilters, apply_listing_filters, public_events, shorten
from eventsite.events.models import Event
from eventsite.events.rules import MAX_YEAR, MIN_YEAR
from eventsite.extensions import db
from eventsite.i18n import gettext as _

# A month's page lists at most this many events (and says so when there are more).
MAX_EVENTS = 300


class BadMonth(ValueError):
    """The `month=` value is not a month the calendar can show; the sentence says why."""


def parse_month(value: str | None, today: date) -> date:
    """The first day of the month `value` names ("2027-01"), or of today's month when
    there is none; BadMonth with a sentence for anything else."""
    if value is None or value == "":
        return today.replace(day=1)
    year_text, dash, month_text = value.strip().partition("-")
    digits = year_text + month_text
    if not (dash and len(year_text) == 4 and len(month_text) == 2 and _ascii_digits(digits)):
        raise BadMonth(
            _(
                "“%(value)s” is not a month: use the form YYYY-MM, e.g. 2027-01.",
                value=shorten(value),
            )
        )
    year, month = int(year_text), int(month_text)
    if not 1 <= month <= 12:
        raise BadMonth(_("There is no month %(month)d: months go from 01 to 12.", month=month))
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise BadMonth(
            _(
                "The calendar shows the years %(first)d to %(last)d.",
                first=MIN_YEAR,
                last=MAX_YEAR,
            )
        )
    return date(year, month, 1)


def _ascii_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def next_month(first: date) -> date:
    return (first + timedelta(days=31)).replace(day=1)


def previous_month(first: date) -> date:
    return (first - timedelta(days=1)).replace(day=1)


def month_arg(first: date) -> str:
    return f"{first.year:04d}-{first.month:02d}"


def events_in_month(filters: ListingFilters, first: date) -> tuple[list[Event], bool]:
    """Public events under the filters that take place during the month (any part of
    them, in UTC days as the listing's dates are), soonest first; and whether more than
    MAX_EVENTS did (only the first ones are returned)."""
    start = datetime.combine(first, time.min, UTC)
    end = datetime.combine(next_month(first), time.min, UTC)
    stmt = (
        apply_listing_filters(public_events(), filters)
        .where(Event.starts_at < end, Event.ends_at > start)
        .order_by(Event.starts_at, Event.id)
        .options(defer(Event.description), defer(Event.search_text), joinedload(Event.organisation))
        .limit(MAX_EVENTS + 1)
    )
    events = list(db.session.scalars(stmt))
    return events[:MAX_EVENTS], len(events) > MAX_EVENTS


@dataclass
class Day:
    day: date
    in_month: bool
    events: list[Event] = field(default_factory=list)


def weeks(first: date, events: list[Event]) -> list[list[Day]]:
    """The month's weeks, each seven days from the locale's first weekday; days of the
    neighbouring months fill the first and last weeks (without events). An event shows
    on every day of the month it covers, in its own zone."""
    first_weekday = Locale.parse(str(get_locale())).first_week_day  # 0 = Monday
    last = next_month(first) - timedelta(days=1)
    grid_start = first - timedelta(days=(first.weekday() - first_weekday) % 7)
    grid_end = last + timedelta(days=(first_weekday - 1 - last.weekday()) % 7)
    days = {
        grid_start + timedelta(days=n): Day(grid_start + timedelta(days=n), False)
        for n in range((grid_end - grid_start).days + 1)
    }
    for day in days.values():
        day.in_month = first <= day.day <= last
    for event in events:
        start = timeutil.to_local(event.starts_at, event.timezone).date()
        end = timeutil.to_local(event.ends_at, event.timezone)
        # An event ending at midnight does not take place on that day.
        last_day = (
            (end - timedelta(microseconds=1)).date() if end.time() == time.min else end.date()
        )
        day = max(start, first)
        while day <= min(last_day, last):
            days[day].events.append(event)
            day += timedelta(days=1)
    ordered = list(days.values())
    return [ordered[n : n + 7] for n in range(0, len(ordered), 7)]


def month_heading(first: date) -> str:
    """ "January 2027", in the page's language."""
    return format_skeleton("yMMMM", first, locale=get_locale())


def weekday_names() -> list[tuple[str, str]]:
    """(short, full) weekday names in the grid's order, in the page's language."""
    locale = Locale.parse(str(get_locale()))
    order = [(locale.first_week_day + n) % 7 for n in range(7)]
    short = locale.days["format"]["abbreviated"]
    full = locale.days["format"]["wide"]
    return [(short[n], full[n]) for n in order]
