"""Content lines (RFC 5545 3.1) written the way icalendar 7 writes them: TEXT escaping,
folding, DATE/DATE-TIME values and parameters, for the feeds' hand-written VEVENTs
(vevent.feed_vevent; why they exist is said there).

Each function is the same bytes as one step of icalendar's `to_ical()`, and
tests/ical/test_lean_vevents.py holds them to it; parameters, whose quoting rules are
many, are written by icalendar itself, once per value.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo
from functools import lru_cache

from icalendar import Parameters, vDDDTypes

# icalendar folds when a segment's next character would make it 75 octets: a first line
# holds at most 74 octets, a continuation 74 after its leading space.
_MAX_OCTETS = 74


def escape_text(value: str) -> str:
    """A TEXT value escaped as icalendar's vText writes it, in its order (a literal
    backslash-N is read as a line break first, as icalendar does)."""
    return (
        value.replace("\\N", "\n")
        .replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def fold(line: str) -> str:
    """icalendar's folding: segments of at most 74 octets joined by CRLF and a space, never
    inside a UTF-8 character, and a backslash or caret that would end a segment (but not
    begin it) starts the next one instead, so no escape is split."""
    if line.isascii():
        if len(line) <= _MAX_OCTETS:
            return line
        return _fold_ascii(line)
    data = line.encode()
    if len(data) <= _MAX_OCTETS:
        return line
    return _fold_utf8(data)


def _fold_ascii(line: str) -> str:
    segments: list[str] = []
    start, size = 0, len(line)
    while size - start > _MAX_OCTETS:
        cut = start + _MAX_OCTETS
        if line[cut - 1] in "\\^" and cut - 1 > start:
            cut -= 1
        segments.append(line[start:cut])
        start = cut
    segments.append(line[start:])
    return "\r\n ".join(segments)


def _fold_utf8(data: bytes) -> str:
    segments: list[str] = []
    start, size = 0, len(data)
    while size - start > _MAX_OCTETS:
        cut = start + _MAX_OCTETS
        while data[cut] & 0xC0 == 0x80:  # a continuation octet: back to the character's first
            cut -= 1
        if data[cut - 1] in b"\\^" and cut - 1 > start:
            cut -= 1
        segments.append(data[start:cut].decode())
        start = cut
    segments.append(data[start:].decode())
    return "\r\n ".join(segments)


def text_line(name: str, value: str) -> str:
    """NAME:escaped TEXT, folded."""
    return fold(f"{name}:{escape_text(value)}")


def utc_stamp(value: datetime) -> str:
    """A DATE-TIME in UTC (DTSTAMP, CREATED, LAST-MODIFIED), without fractions."""
    value = value.astimezone(UTC)
    return (
        f"{value.year:04}{value.month:02}{value.day:02}"
        f"T{value.hour:02}{value.minute:02}{value.second:02}Z"
    )


@lru_cache(maxsize=1024)
def _zone_form(zone: tzinfo) -> tuple[str, str]:
    """The parameters (";TZID=...") and suffix ("Z" for a zone icalendar takes for UTC)
    icalendar writes for a DATE-TIME in `zone`: they depend on the zone only, so icalendar
    decides them once per zone."""
    sample = vDDDTypes(datetime(2000, 1, 1, tzinfo=zone))
    parameters = sample.params.to_ical().decode()
    suffix = "Z" if sample.to_ical().endswith(b"Z") else ""
    return (f";{parameters}" if parameters else ""), suffix


def date_line(name: str, value: date | datetime) -> str:
    """DTSTART/DTEND as icalendar writes them: a DATE, a UTC DATE-TIME with Z, or wall
    time with TZID."""
    if not isinstance(value, datetime):
        return f"{name};VALUE=DATE:{value.year:04}{value.month:02}{value.day:02}"
    stamp = (
        f"{value.year:04}{value.month:02}{value.day:02}"
        f"T{value.hour:02}{value.minute:02}{value.second:02}"
    )
    if value.tzinfo is UTC:
        return f"{name}:{stamp}Z"
    assert value.tzinfo is not None  # the builders never write floating times
    parameters, suffix = _zone_form(value.tzinfo)
    return f"{name}{parameters}:{stamp}{suffix}"


@lru_cache(maxsize=1024)
def parameters(pairs: tuple[tuple[str, str], ...]) -> str:
    """Parameters as icalendar quotes and escapes them (RFC 6868, its quoting rules),
    decided by icalendar once per combination (organisers, the join link's label)."""
    return Parameters(dict(pairs)).to_ical().decode()
