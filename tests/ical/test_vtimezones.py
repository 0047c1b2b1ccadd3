"""VTIMEZONEs against tzdata: RRULE observances where a zone follows a yearly rule (what
Outlook reads), the right offset at every change of every offered zone since 1970."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import icalendar
import pytest
from dateutil import rrule

from eventsite import timeutil
from eventsite.ical import vtimezone

ZONES = [name for name in timeutil.timezone_names() if name not in vtimezone.UTC_NAMES]
THIS_YEAR = datetime.now(UTC).year
AHEAD = 10
# Zones that change twice a year but by no rule one RRULE can say; they keep RDATEs (and
# bounded RRULEs for the years that fit), checked against tzdata like every zone.
NO_SINGLE_RULE = {
    # Summer time ends at 24:00 on October's last Thursday: the Friday after it, which
    # is 1 November when 31 October is a Thursday (2030).
    "Africa/Cairo",
    # tzdata lists each year's dates around Ramadan, up to 2086.
    "Asia/Gaza",
    "Asia/Hebron",
}


def _changes(name: str, first_year: int, last_year: int) -> list[datetime]:
    """tzdata's changes of offset, DST or abbreviation (UTC) in those years."""
    start = datetime(first_year, 1, 1, tzinfo=UTC)
    end = datetime(last_year + 1, 1, 1, tzinfo=UTC)
    return vtimezone._transitions(timeutil.zone(name), start, end)


def _has_yearly_rule(changes: list[datetime], first_year: int, last_year: int) -> bool:
    """Two changes (into and out of DST) in each of those years."""
    years = [change.year for change in changes]
    return all(years.count(year) == 2 for year in range(first_year, last_year + 1))


def _offset(value: datetime, tz) -> timedelta:
    return value.astimezone(tz).utcoffset()


def test_every_offered_name_is_a_canonical_zone():
    assert "Asia/Kolkata" in ZONES and "America/Sao_Paulo" in ZONES
    for legacy in ("Asia/Calcutta", "Brazil/East", "US/Eastern", "Europe/Kiev", "GB"):
        assert legacy not in timeutil.timezone_names()


@pytest.mark.parametrize("name", ZONES)
def test_a_zone_with_a_yearly_rule_is_written_as_rrules_that_tzdata_follows(name):
    """This year's VTIMEZONE (as a feed of this year's events writes it): a zone that
    changes twice a year now has RRULE observances, no RDATE, and the rules give
    tzdata's changes, onset wall times and offsets for ten years ahead."""
    spans = ((THIS_YEAR - 1, THIS_YEAR + 1),)
    changes = _changes(name, THIS_YEAR - 1, THIS_YEAR + 1 + AHEAD)
    component = vtimezone.vtimezone_component(name, spans)
    observances = component.standard + component.daylight
    yearly = _has_yearly_rule(changes, THIS_YEAR - 1, THIS_YEAR + 1 + AHEAD)
    if not yearly or name in NO_SINGLE_RULE:
        assert observances  # still a definition, by RDATE or a single onset
        return
    assert all("RDATE" not in o for o in observances), component.to_ical().decode()
    assert len(observances) == 2 and all("RRULE" in o for o in observances)
    assert all("UNTIL" not in o["RRULE"] for o in observances)  # the rule in force
    zone = timeutil.zone(name)
    expanded = []
    for observance in observances:
        start = observance.decoded("DTSTART")
        before = observance.decoded("TZOFFSETFROM")
        after = observance.decoded("TZOFFSETTO")
        rule = rrule.rrulestr(observance["RRULE"].to_ical().decode(), dtstart=start)
        limit = datetime(THIS_YEAR + 1 + AHEAD, 12, 31, 23, 59)
        for onset in rule.between(start, limit, inc=True):
            instant = (onset - before).replace(tzinfo=UTC)
            assert _offset(instant - timedelta(seconds=1), zone) == before, (name, onset)
            assert _offset(instant, zone) == after, (name, onset)
            expanded.append(instant)
    assert sorted(expanded) == [c for c in changes if c >= min(expanded)]


@pytest.mark.slow
@pytest.mark.parametrize("name", ZONES)
def test_every_zone_reads_back_as_tzdata_from_1970_to_2100(name):
    """icalendar (dateutil's RRULE and RDATE expansion) reading the VTIMEZONE written
    for 1970-2100 gives tzdata's offset on both sides of every change found by walking
    tzdata day by day (the walk is shared with the builder, to halve the time), and in
    the middle of every month. About 0.15 s a zone."""
    zone = timeutil.zone(name)
    spans = ((1970, 2100),)
    read = vtimezone.vtimezone_component(name, spans).to_tz()
    instants = [datetime(year, month, 15, 12, tzinfo=UTC) for year in range(1971, 2101)
                for month in range(1, 13)]  # fmt: skip
    for onset in vtimezone.span_onsets(name, spans):
        instants += [onset.utc - timedelta(seconds=1), onset.utc]
    wrong = [i for i in instants if _offset(i, read) != _offset(i, zone)]
    assert not wrong, [(i, _offset(i, read), _offset(i, zone)) for i in wrong[:3]]


def test_rules_of_other_shapes_and_history():
    """Israel's "Friday from the 23rd" and Nuuk's "Saturday from the 24th" (EU changes
    at 01:00 UTC, the evening before in Nuuk) are BYMONTHDAY weeks, not BYDAY=4FR or
    -1SA (which fit a few years only); New York's 2007 change of rule gives bounded
    RRULEs, then the rule in force; Morocco's Ramadan changes follow no rule: RDATE."""
    jerusalem = vtimezone.vtimezone_bytes("Asia/Jerusalem", ((2025, 2027),)).decode()
    assert "RRULE:FREQ=YEARLY;BYDAY=FR;BYMONTHDAY=23,24,25,26,27,28,29;BYMONTH=3" in jerusalem
    nuuk = vtimezone.vtimezone_bytes("America/Nuuk", ((2025, 2027),)).decode()
    assert "RRULE:FREQ=YEARLY;BYDAY=SA;BYMONTHDAY=24,25,26,27,28,29,30;BYMONTH=3" in nuuk
    new_york = vtimezone.vtimezone_bytes("America/New_York", ((2005, 2009),)).decode()
    assert "RRULE:FREQ=YEARLY;UNTIL=20060402T070000Z;BYDAY=1SU;BYMONTH=4" in new_york
    assert "RRULE:FREQ=YEARLY;BYDAY=2SU;BYMONTH=3\r\n" in new_york
    casablanca = vtimezone.vtimezone_bytes("Africa/Casablanca", ((2025, 2027),)).decode()
    assert "RDATE:" in casablanca and "RRULE" not in casablanca
    kolkata = vtimezone.vtimezone_component("Asia/Kolkata", ((2025, 2027),))
    [standard] = kolkata.standard
    assert standard.decoded("TZOFFSETFROM") == standard.decoded("TZOFFSETTO")
    assert not kolkata.daylight


def test_an_empty_feed_zone_is_utc():
    text = vtimezone.utc_vtimezone_bytes("UTC").decode()
    calendar = icalendar.Calendar.from_ical(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n" + text + "END:VCALENDAR\r\n"
    )
    [zone] = calendar.walk("VTIMEZONE")
    assert zone["TZID"] == "UTC" and "TZOFFSETTO:+0000" in text
