"""VTIMEZONE components for the zones a calendar writes times in: built from each zone's
real transitions, for only the years written with its TZID."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from datetime import MAXYEAR, MINYEAR, UTC, datetime, timedelta, tzinfo
from functools import lru_cache

from icalendar import Timezone, TimezoneDaylight, TimezoneStandard

from eventsite import timeutil
from eventsite.ical import lines

# Zones whose times are written in UTC, with no TZID and no VTIMEZONE.
UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Etc/Universal", "Universal", "Etc/Zulu", "Zulu"})
# Wall times and VTIMEZONEs stay a day inside the years a datetime can hold (1 to 9999,
# also RFC 5545's four digits), so no zone's offset carries them over the edge; instants
# outside this range are written in UTC.
FIRST_WALL = datetime(MINYEAR, 1, 2, tzinfo=UTC)
LAST_WALL = datetime(MAXYEAR, 12, 31, tzinfo=UTC)


def _offset_state(value: datetime, tz: tzinfo) -> tuple[timedelta, bool, str]:
    local = value.astimezone(tz)
    return local.utcoffset() or timedelta(0), bool(local.dst()), local.tzname() or ""


def _transitions(tz: tzinfo, start: datetime, end: datetime) -> list[datetime]:
    """UTC instants (to the second) where the zone's offset, DST flag or name changes."""
    found: list[datetime] = []
    step = timedelta(days=1)
    previous = start
    state = _offset_state(start, tz)
    while previous < end:
        current = min(previous + step, end)  # never a step past the end (nor year 9999)
        new_state = _offset_state(current, tz)
        if new_state != state:
            low, high = previous, current
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                if _offset_state(middle, tz) == state:
                    low = middle
                else:
                    high = middle
            found.append(high.replace(microsecond=0))
            state = new_state
        previous = current
    return found


YearSpans = tuple[tuple[int, int], ...]


@lru_cache(maxsize=256)
def vtimezone_bytes(tz_name: str, spans: YearSpans) -> bytes:
    """A VTIMEZONE for the zone, valid in each (first_year, last_year) span: from 1 January
    of first_year to the end of last_year (a day less at the edges of years 1 and 9999).

    icalendar's own `Timezone.from_tzinfo` writes the onset of DAYLIGHT observances in
    the new offset's wall time; RFC 5545 3.6.5 wants the old one (TZOFFSETFROM), and
    parsers that honour the VTIMEZONE (dateutil, libical without a zone database) put
    times in the hour after a spring change one hour off. So the observances are built
    here from the zone's real transitions, one component per kind, repeated by RDATE.
    Between spans nothing is listed (no time there is written with this TZID) except,
    when the rule in force differs across the gap, one onset at the next span's start.
    """
    tz = timeutil.zone(tz_name)
    groups: OrderedDict[tuple[bool, timedelta, timedelta, str], list[datetime]] = OrderedDict()
    state: tuple[timedelta, bool, str] | None = None  # in force after the last onset listed
    for first_year, last_year in spans:
        start = max(datetime(first_year, 1, 1, tzinfo=UTC), FIRST_WALL)
        end = datetime(last_year + 1, 1, 1, tzinfo=UTC) if last_year < MAXYEAR else LAST_WALL
        offset, is_dst, name = _offset_state(start, tz)
        if state is None:
            groups[(is_dst, offset, offset, name)] = [(start + offset).replace(tzinfo=None)]
        elif state != (offset, is_dst, name):
            before = state[0]
            onset = (start + before).replace(tzinfo=None)
            groups.setdefault((is_dst, before, offset, name), []).append(onset)
        for instant in _transitions(tz, start, end):
            before = _offset_state(instant - timedelta(seconds=1), tz)[0]
            after, is_dst, name = _offset_state(instant, tz)
            onset = (instant + before).replace(tzinfo=None)  # wall time in TZOFFSETFROM
            groups.setdefault((is_dst, before, after, name), []).append(onset)
        state = _offset_state(end, tz)
    component = Timezone()
    component.add("tzid", tz_name)
    for (is_dst, before, after, name), onsets in groups.items():
        observance = TimezoneDaylight() if is_dst else TimezoneStandard()
        observance.add("dtstart", onsets[0])
        # One RDATE per line: vobject keeps only the first value of a comma list.
        for onset in onsets[1:]:
            observance.add("rdate", onset)
        if name:
            observance.add("tzname", name)
        observance.add("tzoffsetfrom", before)
        observance.add("tzoffsetto", after)
        component.add_component(observance)
    return lines.to_ical(component)


def zone_spans(items: Iterable[tuple[str, datetime, datetime]]) -> dict[str, YearSpans]:
    """The years each zone's VTIMEZONE must cover: around every start and end written
    with its TZID (a year either side, for the change in force before the first),
    merged into spans. Only those instants are written, so an event in 9998 next to
    this year's events adds two short spans, not eight thousand years of transitions."""
    years: dict[str, set[int]] = {}
    for tz_name, starts_at, ends_at in items:
        if tz_name in UTC_NAMES:
            continue
        found = years.get(tz_name)
        if found is None:
            found = years[tz_name] = set()
        found.add(starts_at.year)
        found.add(ends_at.year)
    return {tz_name: _year_spans(found) for tz_name, found in years.items()}


def _year_spans(years: Iterable[int]) -> YearSpans:
    spans: list[tuple[int, int]] = []
    for year in sorted(years):
        first, last = max(year - 1, MINYEAR), min(year + 1, MAXYEAR)
        if spans and first <= spans[-1][1] + 1:
            spans[-1] = (spans[-1][0], max(spans[-1][1], last))
        else:
            spans.append((first, last))
    return tuple(spans)
