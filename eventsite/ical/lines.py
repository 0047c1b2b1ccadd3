"""Content lines (RFC 5545 3.1): folding, TEXT escaping, and the single lines of the
feeds' hand-written VEVENTs, each the way icalendar writes it.

One module rather than two: folding and the line writers are one concern (values into
physical lines) and small together. `feed_vevent`, which assembles these lines into a
VEVENT, stays in builders.py beside `event_component`: it needs the event's summary,
description, location and times from there, and builders.py's VEVENT cache needs it, so
here it would make an import cycle.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from icalendar import Event as VEvent
from icalendar import Parameters, vText

# --- folding ------------------------------------------------------------------------------


def fold_line(line: str) -> str:
    """RFC 5545 3.1 folding: at most 75 octets per physical line, the continuation's
    leading space included, never inside a UTF-8 character, and (like icalendar) never
    between a backslash and the character it escapes, which some clients mis-read."""
    if len(line) <= 75 and line.isascii():
        return line
    if line.isascii():
        text, size = line, len(line)
    else:
        data = line.encode()
        if len(data) <= 75:
            return line
        return _fold_bytes(data)
    segments: list[str] = []
    start, limit = 0, 75
    while size - start > limit:
        cut = start + limit
        if text[cut - 1] == "\\" and cut - 1 > start:
            cut -= 1
        segments.append(text[start:cut])
        start, limit = cut, 74
    segments.append(text[start:])
    return "\r\n ".join(segments)


def _fold_bytes(data: bytes) -> str:
    """fold_line for a line with multi-byte characters: cut on octets, then step back to
    the first octet of the character (UTF-8 continuation octets are 0b10xxxxxx)."""
    segments: list[str] = []
    start, limit, size = 0, 75, len(data)
    while size - start > limit:
        cut = start + limit
        while data[cut] & 0xC0 == 0x80:
            cut -= 1
        if data[cut - 1] == 0x5C and cut - 1 > start:  # a backslash
            cut -= 1
        segments.append(data[start:cut].decode())
        start, limit = cut, 74
    segments.append(data[start:].decode())
    return "\r\n ".join(segments)


def to_ical(component: Any) -> bytes:
    """The component's bytes: icalendar writes and escapes every content line; only the
    folding is ours (icalendar folds character by character, a third of a feed's time)."""
    lines = component.content_lines()
    return ("\r\n".join(fold_line(line) for line in lines if line) + "\r\n").encode()


# --- single lines of the feeds' VEVENTs, as icalendar writes them -------------------------


def text(value: str) -> str:
    """A TEXT value escaped by icalendar (backslash, comma, semicolon, newlines)."""
    return vText(value).to_ical().decode()


@lru_cache(maxsize=1024)
def tzid_parameter(tz_name: str) -> str:
    return ";" + Parameters({"TZID": tz_name}).to_ical().decode()


def date_property(name: str, value: date | datetime) -> str:
    """DTSTART/DTEND as icalendar writes them: a DATE, UTC with Z, or wall time and TZID."""
    if not isinstance(value, datetime):
        return f"{name};VALUE=DATE:{value.year:04}{value.month:02}{value.day:02}"
    stamp = (
        f"{value.year:04}{value.month:02}{value.day:02}"
        f"T{value.hour:02}{value.minute:02}{value.second:02}"
    )
    if value.tzinfo is UTC:
        return f"{name}:{stamp}Z"
    return f"{name}{tzid_parameter(value.tzinfo.key)}:{stamp}"  # type: ignore[union-attr]


def utc_stamp(value: datetime) -> str:
    value = value.astimezone(UTC)
    return (
        f"{value.year:04}{value.month:02}{value.day:02}"
        f"T{value.hour:02}{value.minute:02}{value.second:02}Z"
    )


@lru_cache(maxsize=4096)
def icalendar_line(name: str, value: Any, parameters: tuple[tuple[str, str], ...] = ()) -> str:
    """One content line as icalendar's component writes it, folded; for the values many
    events share (organisers, topic lists), so the full machinery runs once per value."""
    component = VEvent()
    component.add(name, list(value) if isinstance(value, tuple) else value)
    prop = component[name]
    for key, item in parameters:
        prop.params[key] = item
    return fold_line(component.content_lines()[1])
