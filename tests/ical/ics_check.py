"""Reading .ics exports back as calendar apps do, for any test that receives one.

`check_export(raw)` is the one call to make on every file a test gets (a download, a feed,
an email attachment): it checks the RFC 5545 surface clients trip over, parses the file
with icalendar, with vobject and with ical.js (the parser of Thunderbird and many web
calendars, run under Node: `js/read_ics.mjs`) and asserts that all three read, for every
VEVENT, the DTSTART and DTEND of its row in the database, compared in UTC (all-day
events: the dates of their local days), and the same SUMMARY, DESCRIPTION and LOCATION.
Other test folders import it relatively: `from ..ical.ics_check import check_export`.

ical.js is installed by `make install` (`npm ci` in tests/ical/js/, needs Node 18 or
later). Without it the ical.js reading is left out and `test_ical_js_reads_the_exports`
is skipped saying why; CI sets EVENTSITE_REQUIRE_ICAL_JS=1, which makes that a failure.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import shutil
import subprocess
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import icalendar
import vobject
from sqlalchemy import select

from eventsite import timeutil
from eventsite.extensions import db
from eventsite.ical import content
from eventsite.models import AgendaSession, Event

_UID = re.compile(r"(event|session)-([0-9]+)@(.+)")
JS_DIR = Path(__file__).parent / "js"


class IcalJs:
    """One Node process running read_ics.mjs for the whole test run (starting Node for
    each file would cost ~50 ms a file)."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()

    @staticmethod
    def unavailable() -> str | None:
        """Why ical.js cannot run here, or None."""
        if shutil.which("node") is None:
            return "Node.js is not installed (apt install nodejs npm), so ical.js cannot run"
        if not (JS_DIR / "node_modules" / "ical.js").is_dir():
            return f"ical.js is not installed: run `npm ci --prefix {JS_DIR}` (make install)"
        return None

    def read(self, raw: bytes) -> dict[str, Any]:
        with self._lock:
            if self._process is None or self._process.poll() is not None:
                self._process = subprocess.Popen(
                    ["node", str(JS_DIR / "read_ics.mjs")],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                    encoding="utf-8",
                    cwd=JS_DIR,
                )
                atexit.register(self.close)
            assert self._process.stdin is not None and self._process.stdout is not None
            self._process.stdin.write(json.dumps({"ics": raw.decode("utf-8")}) + "\n")
            self._process.stdin.flush()
            answer = json.loads(self._process.stdout.readline())
        assert "error" not in answer, f"ical.js cannot read the file: {answer['error']}"
        return answer["ok"]

    def close(self) -> None:
        if self._process is not None:
            self._process.stdin.close()  # type: ignore[union-attr]
            self._process.wait(timeout=10)
            self._process.stdout.close()  # type: ignore[union-attr]
            self._process = None


ICAL_JS = IcalJs()


def ical_js_required() -> bool:
    return os.environ.get("EVENTSITE_REQUIRE_ICAL_JS") == "1"


@dataclass
class Parsed:
    raw: bytes
    ical: icalendar.Calendar
    vcal: Any  # vobject component
    js: dict[str, Any] | None = None  # ical.js's reading, when Node is here

    def js_events(self) -> dict[str, dict[str, Any]]:
        assert self.js is not None
        return {e["uid"]: e for e in self.js["events"]}

    def ical_events(self) -> dict[str, icalendar.Event]:
        return {str(e["UID"]): e for e in self.ical.walk("VEVENT")}

    def vobject_events(self) -> dict[str, Any]:
        return {e.uid.value: e for e in getattr(self.vcal, "vevent_list", [])}

    def uids(self) -> list[str]:
        return [str(e["UID"]) for e in self.ical.walk("VEVENT")]


def _utc(value: date | datetime) -> date | datetime:
    if isinstance(value, datetime):
        assert value.tzinfo is not None, f"floating time {value!r}"
        return value.astimezone(UTC)
    return value


def assert_conformant(raw: bytes) -> None:
    """CRLF only, content lines of at most 75 octets (folds never split a UTF-8
    character), VERSION and PRODID, and a VTIMEZONE for every TZID in use."""
    assert raw.startswith(b"BEGIN:VCALENDAR\r\n")
    assert raw.endswith(b"END:VCALENDAR\r\n")
    assert b"\n" not in raw.replace(b"\r\n", b""), "bare LF"
    assert b"\r" not in raw.replace(b"\r\n", b""), "bare CR"
    for line in raw.split(b"\r\n"):
        assert len(line) <= 75, f"line of {len(line)} octets: {line[:40]!r}"
        line.decode("utf-8")  # each physical line is valid UTF-8 on its own
    text = raw.decode("utf-8")
    unfolded = re.sub(r"\r\n[ \t]", "", text)
    lines = unfolded.split("\r\n")
    assert "VERSION:2.0" in lines
    assert any(line.startswith("PRODID:") for line in lines)
    used = set(re.findall(r";TZID=\"?([^:;\"]+)\"?[:;]", unfolded))
    defined = {line[5:] for line in lines if line.startswith("TZID:")}
    assert used <= defined, f"TZID without VTIMEZONE: {used - defined}"
    assert len(defined) == len([line for line in lines if line == "BEGIN:VTIMEZONE"])
    for line in lines:
        if line.startswith("GEO:"):  # RFC 5545 FLOAT: digits, no exponent
            assert re.fullmatch(r"GEO:-?[0-9]+(\.[0-9]+)?;-?[0-9]+(\.[0-9]+)?", line), line


def parse_calendar(raw: bytes) -> Parsed:
    """Both parsers' reading of the file (and its conformance); no database check."""
    assert_conformant(raw)
    ical = icalendar.Calendar.from_ical(raw)
    # vobject keeps the first VTIMEZONE it ever saw per TZID for the whole process; a
    # calendar app reads each file on its own, so forget the earlier files' zones.
    vars(vobject.icalendar)["__tzidMap"].clear()
    vcal = vobject.readOne(raw.decode("utf-8"))
    js = None if IcalJs.unavailable() and not ical_js_required() else ICAL_JS.read(raw)
    parsed = Parsed(raw=raw, ical=ical, vcal=vcal, js=js)
    assert set(parsed.ical_events()) == set(parsed.vobject_events())
    if js is not None:
        assert set(parsed.ical_events()) == set(parsed.js_events())
        for uid, event in parsed.ical_events().items():
            _assert_texts_agree(uid, event, parsed.vobject_events()[uid], parsed.js_events()[uid])
    return parsed


def _assert_texts_agree(uid: str, event: icalendar.Event, v_event: Any, js: dict) -> None:
    """The three parsers read the same SUMMARY, DESCRIPTION and LOCATION."""
    for name in ("summary", "description", "location"):
        ical_value = str(event[name]) if name in event else None
        v_value = getattr(v_event, name).value if name in v_event.contents else None
        assert ical_value == v_value == js[name], (
            f"{uid} {name.upper()}: icalendar {ical_value!r}, vobject {v_value!r}, "
            f"ical.js {js[name]!r}"
        )


def _js_value(value: dict[str, Any]) -> date | datetime:
    assert "floating" not in value, f"ical.js read a floating time {value['floating']}"
    if "date" in value:
        return date.fromisoformat(value["date"])
    return datetime.fromisoformat(value["utc"]).replace(tzinfo=UTC)


def instants(parsed: Parsed, uid: str) -> tuple[Any, Any]:
    """DTSTART and DTEND of one VEVENT in UTC (or dates), checked to agree between parsers."""
    ical_event = parsed.ical_events()[uid]
    v_event = parsed.vobject_events()[uid]
    ical_values = (_utc(ical_event.decoded("DTSTART")), _utc(ical_event.decoded("DTEND")))
    v_values = (_utc(v_event.dtstart.value), _utc(v_event.dtend.value))
    assert ical_values == v_values, f"parsers disagree: {ical_values} != {v_values}"
    if parsed.js is not None:
        js_event = parsed.js_events()[uid]
        js_values = (_js_value(js_event["start"]), _js_value(js_event["end"]))
        assert ical_values == js_values, f"ical.js reads {js_values}, icalendar {ical_values}"
    return ical_values


@dataclass(frozen=True)
class _Row:
    """What the database says of one VEVENT's row (read afresh, not from the session's
    identity map, so an object changed in memory cannot vouch for itself)."""

    starts_at: datetime
    ends_at: datetime
    timezone: str
    is_all_day: bool


def _row(kind: str, row_id: int) -> _Row:
    if kind == "event":
        stmt = select(Event.starts_at, Event.ends_at, Event.timezone, Event.is_all_day).where(
            Event.id == row_id
        )
    else:
        stmt = (
            select(AgendaSession.starts_at, AgendaSession.ends_at, Event.timezone)
            .join(Event, Event.id == AgendaSession.event_id)
            .where(AgendaSession.id == row_id)
        )
    found = db.session.execute(stmt).one_or_none()
    assert found is not None, f"no {kind} {row_id} in the database"
    return _Row(found[0], found[1], found[2], bool(found[3]) if kind == "event" else False)


def _days_fit(row: _Row) -> bool:
    """Whether the row's local days can be DATE values (not after 31 December 9999)."""
    try:
        timeutil.to_local(row.starts_at, row.timezone)
        last = timeutil.to_local(row.ends_at - timedelta(microseconds=1), row.timezone)
        last.date() + timedelta(days=1)
    except OverflowError:
        return False
    return True


def _assert_row_times(parsed: Parsed, uid: str, row: _Row) -> None:
    start, end = instants(parsed, uid)
    if row.is_all_day and _days_fit(row):
        assert not isinstance(start, datetime), f"{uid}: all-day start {start!r} is not a DATE"
        assert not isinstance(end, datetime), f"{uid}: all-day end {end!r} is not a DATE"
        last_day = end - timedelta(days=1)  # DTEND of a DATE event is exclusive
        got = timeutil.all_day_bounds(start, last_day, row.timezone)
        assert got == (row.starts_at, row.ends_at), f"{uid}: {got} != database"
    else:
        assert isinstance(start, datetime) and isinstance(end, datetime), (start, end)
        assert (start, end) == (row.starts_at, row.ends_at), (
            f"{uid}: file {start}–{end} != database {row.starts_at}–{row.ends_at}"
        )


def assert_times_match(parsed: Parsed, uid: str, event: Event) -> None:
    """One VEVENT's instants are the database's (UTC); all-day events are DATE values."""
    row = _row("event", event.id)
    assert (row.starts_at, row.ends_at) == (event.starts_at, event.ends_at), "unsaved change"
    _assert_row_times(parsed, uid, row)


def check_export(raw: bytes, *, empty: bool = False) -> Parsed:
    """Parse an export with icalendar and vobject and assert every VEVENT's DTSTART and
    DTEND are its event's (or agenda session's) in the database, compared in UTC; UIDs
    name the rows (event-<id>@ / session-<id>@ and the configured domain). A file
    without events fails unless `empty`."""
    parsed = parse_calendar(raw)
    uids = parsed.uids()
    assert uids or empty, "no VEVENT in the file"
    assert len(uids) == len(set(uids)), f"repeated UID in {uids}"
    domain = content.current_settings().uid_domain
    for uid in uids:
        match = _UID.fullmatch(uid)
        assert match is not None and match[3] == domain, f"unexpected UID {uid!r}"
        _assert_row_times(parsed, uid, _row(match[1], int(match[2])))
    return parsed
