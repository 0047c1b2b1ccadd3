"""VTIMEZONE components for the zones a calendar writes times in: the zone's real
transitions (tzdata, through zoneinfo) for only the years written with its TZID, said as
yearly RRULEs wherever the zone follows a yearly rule.

Why not icalendar's `Timezone.from_tzid` (icalendar 7.3): it lists every change as an
RDATE, and writes the onset of an observance in the *new* offset's wall time. Outlook
reads only TZID, DTSTART, RRULE, TZOFFSETFROM and TZOFFSETTO of a VTIMEZONE and ignores
RDATE ([MS-STANOICAL] 2.2.47), so summer times would be an hour off there; and RFC 5545
3.6.5 wants onsets in the old offset (TZOFFSETFROM), which parsers that honour the
VTIMEZONE (dateutil, libical without a zone database) rely on. So the observances are
found here and written with icalendar's components: one STANDARD/DAYLIGHT per run of
yearly changes that follow one rule (RRULE, as Outlook and Google export), RDATE only
for changes that follow none (Morocco's Ramadan, one-off changes).
"""

from __future__ import annotations

import calendar
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import MAXYEAR, MINYEAR, UTC, datetime, time, timedelta, tzinfo
from functools import lru_cache

from icalendar import Timezone, TimezoneDaylight, TimezoneStandard

from eventsite import timeutil

# Zones whose times are written in UTC, with no TZID and no VTIMEZONE.
UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Etc/Universal", "Universal", "Etc/Zulu", "Zulu"})
# Wall times and VTIMEZONEs stay a day inside the years a datetime can hold (1 to 9999,
# also RFC 5545's four digits), so no zone's offset carries them over the edge; instants
# outside this range are written in UTC.
FIRST_WALL = datetime(MINYEAR, 1, 2, tzinfo=UTC)
LAST_WALL = datetime(MAXYEAR, 12, 31, tzinfo=UTC)

YearSpans = tuple[tuple[int, int], ...]
# What an observance changes to: (is DST, offset before, offset after, abbreviation).
Kind = tuple[bool, timedelta, timedelta, str]
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


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


@dataclass(frozen=True)
class Onset:
    """One change: its wall time in the offset before it (RFC 5545 3.6.5) and its kind."""

    local: datetime  # naive
    kind: Kind

    @property
    def utc(self) -> datetime:
        return (self.local - self.kind[1]).replace(tzinfo=UTC)


def _onset(instant: datetime, tz: tzinfo) -> Onset:
    before = _offset_state(instant - timedelta(seconds=1), tz)[0]
    after, is_dst, name = _offset_state(instant, tz)
    return Onset((instant + before).replace(tzinfo=None), (is_dst, before, after, name))


# --- yearly rules ----------------------------------------------------------------------------
# A rule is one of: ("nth", n, weekday) the n-th (1-4) weekday of the month; ("last", -1,
# weekday); ("from", day, weekday) the first weekday on or after a day (Israel's "Friday
# from the 23rd", Nuuk's "Saturday from the 24th"); ("day", day, None) a fixed date.
# Sorted, the tuples put the forms Outlook can read (BYDAY=2SU, BYDAY=-1SU) first.
Rule = tuple[str, int, int | None]
_RANK = {"nth": 0, "last": 1, "from": 2, "day": 3}


def _rules(day: datetime) -> set[Rule]:
    """Every rule that names this day (in any year, for the weekday forms)."""
    weekday, month_days = day.weekday(), calendar.monthrange(day.year, day.month)[1]
    shortest = 28 if day.month == 2 else month_days  # February's "from" must fit 28 days
    found: set[Rule] = {("day", day.day, None)}
    if day.day <= 28:
        found.add(("nth", (day.day - 1) // 7 + 1, weekday))
    if day.day + 7 > month_days:
        found.add(("last", -1, weekday))
    for first in range(max(day.day - 6, 1), day.day + 1):
        if first + 6 <= shortest:
            found.add(("from", first, weekday))
    return found


def _best(rules: set[Rule]) -> Rule:
    return min(rules, key=lambda rule: (_RANK[rule[0]], rule[1]))


def _recur(rule: Rule, month: int, until: datetime | None) -> dict[str, object]:
    form, number, weekday = rule
    recur: dict[str, object] = {"freq": "YEARLY", "bymonth": month}
    if form in ("nth", "last"):
        recur["byday"] = f"{number}{_WEEKDAYS[weekday or 0]}"
    elif form == "from":
        recur["byday"] = _WEEKDAYS[weekday or 0]
        recur["bymonthday"] = list(range(number, number + 7))
    else:
        recur["bymonthday"] = number
    if until is not None:
        # In a VTIMEZONE, UNTIL is always UTC (RFC 5545 3.8.5.3).
        recur["until"] = until
    return recur


@dataclass
class _Run:
    """Onsets of one kind in consecutive years, on one wall time, that share a rule."""

    onsets: list[Onset]
    rules: set[Rule] = field(default_factory=set)

    def key(self) -> tuple[Kind, int, time]:
        first = self.onsets[0].local
        return self.onsets[0].kind, first.month, first.time()

    def takes(self, onset: Onset) -> bool:
        last = self.onsets[-1].local
        return (
            onset.local.year == last.year + 1
            and (onset.kind, onset.local.month, onset.local.time()) == self.key()
            and bool(self.rules & _rules(onset.local))
        )


def _runs(onsets: Iterable[Onset]) -> list[_Run]:
    open_runs: dict[tuple[Kind, int, time], _Run] = {}
    runs: list[_Run] = []
    for onset in sorted(onsets, key=lambda item: item.utc):
        key = (onset.kind, onset.local.month, onset.local.time())
        run = open_runs.get(key)
        if run is not None and run.takes(onset):
            run.onsets.append(onset)
            run.rules &= _rules(onset.local)
            continue
        run = _Run([onset], _rules(onset.local))
        open_runs[key] = run
        runs.append(run)
    return runs


# --- the component ------------------------------------------------------------------------


@lru_cache(maxsize=256)
def span_onsets(tz_name: str, spans: YearSpans) -> tuple[Onset, ...]:
    """Every change in the spans, plus an onset at a span's start when nothing in its
    first year says which offset is in force (zones without DST, a rule that changed
    between spans); times are only ever written from a span's second year (or its
    first at the edges of the calendar), so a change in the first year is enough."""
    tz = timeutil.zone(tz_name)
    onsets: list[Onset] = []
    state: tuple[timedelta, bool, str] | None = None  # in force after the last onset
    for first_year, last_year in spans:
        start = max(datetime(first_year, 1, 1, tzinfo=UTC), FIRST_WALL)
        end = datetime(last_year + 1, 1, 1, tzinfo=UTC) if last_year < MAXYEAR else LAST_WALL
        found = _transitions(tz, start, end)
        offset, is_dst, name = _offset_state(start, tz)
        if not found or found[0].year > start.year:
            before = offset if state is None else state[0]
            onsets.append(
                Onset((start + before).replace(tzinfo=None), (is_dst, before, offset, name))
            )
        onsets.extend(_onset(instant, tz) for instant in found)
        state = _offset_state(end, tz)
    return tuple(onsets)


# How many years past the last span tzdata must keep a run's rule for its RRULE to be left
# open (no UNTIL), as clients' own exports of a rule in force are. Over a few years
# several rules fit the same days (Israel's "Friday from the 23rd" is also "the fourth
# Friday" from 2025 to 2027); years ahead narrow them down to the one tzdata follows.
LOOKAHEAD_YEARS = 12


def _rules_ahead(tz: tzinfo, run: _Run, last_year: int) -> set[Rule] | None:
    """The run's rules that tzdata still follows every year for LOOKAHEAD_YEARS after
    the last span, or None when the run stops (or no single rule fits) before then."""
    if last_year + LOOKAHEAD_YEARS >= MAXYEAR:
        return None
    start = datetime(last_year + 1, 1, 1, tzinfo=UTC)
    end = datetime(last_year + 1 + LOOKAHEAD_YEARS, 1, 1, tzinfo=UTC)
    ahead = _Run(list(run.onsets), set(run.rules))
    for instant in _transitions(tz, start, end):
        onset = _onset(instant, tz)
        if ahead.takes(onset):
            ahead.onsets.append(onset)
            ahead.rules &= _rules(onset.local)
    if ahead.onsets[-1].local.year < last_year + LOOKAHEAD_YEARS:
        return None
    return ahead.rules


def _observance(kind: Kind, start: datetime) -> TimezoneStandard | TimezoneDaylight:
    is_dst, before, after, name = kind
    observance = TimezoneDaylight() if is_dst else TimezoneStandard()
    observance.add("dtstart", start)
    if name:
        observance.add("tzname", name)
    observance.add("tzoffsetfrom", before)
    observance.add("tzoffsetto", after)
    return observance


def vtimezone_component(tz_name: str, spans: YearSpans) -> Timezone:
    """A VTIMEZONE for the zone, valid in each (first_year, last_year) span: from 1 January
    of first_year to the end of last_year (a day less at the edges of years 1 and 9999)."""
    tz = timeutil.zone(tz_name)
    component = Timezone()
    component.add("tzid", tz_name)
    lone: OrderedDict[Kind, list[datetime]] = OrderedDict()
    last_year = spans[-1][1]
    for run in _runs(span_onsets(tz_name, spans)):
        first = run.onsets[0]
        if len(run.onsets) < 2:
            lone.setdefault(first.kind, []).append(first.local)
            continue
        last = run.onsets[-1]
        ahead = _rules_ahead(tz, run, last_year) if last.local.year >= last_year else None
        rule = _best(ahead or run.rules)
        observance = _observance(first.kind, first.local)
        observance.add("rrule", _recur(rule, first.local.month, None if ahead else last.utc))
        component.add_component(observance)
    for kind, starts in lone.items():
        observance = _observance(kind, starts[0])
        # One RDATE per line: vobject keeps only the first value of a comma list. The
        # first onset is listed too: ical.js (2.2) ignores DTSTART when there are RDATEs.
        for onset in starts if len(starts) > 1 else ():
            observance.add("rdate", onset)
        component.add_component(observance)
    return component


@lru_cache(maxsize=256)
def vtimezone_bytes(tz_name: str, spans: YearSpans) -> bytes:
    """vtimezone_component's bytes, as icalendar writes them (a calendar holds them as is)."""
    return vtimezone_component(tz_name, spans).to_ical()


@lru_cache(maxsize=4)
def utc_vtimezone_bytes(tz_name: str) -> bytes:
    """A VTIMEZONE for a UTC name: one STANDARD observance of +00:00 (the only
    component of an empty feed, RFC 5545 3.6)."""
    component = Timezone()
    component.add("tzid", tz_name)
    component.add_component(
        _observance((False, timedelta(0), timedelta(0), "UTC"), datetime(1970, 1, 1))
    )
    return component.to_ical()


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
