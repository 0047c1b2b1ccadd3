"""Calendar test helpers: parse every export twice (icalendar and vobject) and check the
RFC 5545 surface that clients trip over."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import icalendar
import pytest
import vobject

from eventsite import timeutil
from eventsite.extensions import db
from eventsite.models import Event, Registration, User
from eventsite.registration.models import RegistrationStatus

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)  # as in tests/conftest.py


@dataclass
class Parsed:
    raw: bytes
    ical: icalendar.Calendar
    vcal: Any  # vobject component

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


def parse_calendar(raw: bytes) -> Parsed:
    assert_conformant(raw)
    ical = icalendar.Calendar.from_ical(raw)
    # vobject keeps the first VTIMEZONE it ever saw per TZID for the whole process; a
    # calendar app reads each file on its own, so forget the earlier files' zones.
    vars(vobject.icalendar)["__tzidMap"].clear()
    vcal = vobject.readOne(raw.decode("utf-8"))
    parsed = Parsed(raw=raw, ical=ical, vcal=vcal)
    assert set(parsed.ical_events()) == set(parsed.vobject_events())
    return parsed


def instants(parsed: Parsed, uid: str) -> tuple[Any, Any]:
    """DTSTART and DTEND of one VEVENT in UTC (or dates), checked to agree between parsers."""
    ical_event = parsed.ical_events()[uid]
    v_event = parsed.vobject_events()[uid]
    ical_values = (_utc(ical_event.decoded("DTSTART")), _utc(ical_event.decoded("DTEND")))
    v_values = (_utc(v_event.dtstart.value), _utc(v_event.dtend.value))
    assert ical_values == v_values, f"parsers disagree: {ical_values} != {v_values}"
    return ical_values


def assert_times_match(parsed: Parsed, uid: str, event: Event) -> None:
    """The file's instants are the database's (UTC); all-day events are DATE values."""
    start, end = instants(parsed, uid)
    if event.is_all_day:
        assert not isinstance(start, datetime) and not isinstance(end, datetime)
        last_day = end - timedelta(days=1)  # DTEND of a DATE event is exclusive
        assert timeutil.all_day_bounds(start, last_day, event.timezone) == (
            event.starts_at,
            event.ends_at,
        )
    else:
        assert (start, end) == (event.starts_at, event.ends_at)


@pytest.fixture
def make_registration(app) -> Callable[..., Registration]:
    """A registration row in a given state (the registration service has its own tests)."""

    def factory(
        user: User, event: Event, status: str = RegistrationStatus.CONFIRMED
    ) -> Registration:
        registration = Registration(
            user_id=user.id,
            event_id=event.id,
            status=status,
            answers={},
            created_at=NOW,
            updated_at=NOW,
        )
        db.session.add(registration)
        db.session.commit()
        return registration

    return factory


@pytest.fixture
def csrf_enabled(app_config: dict[str, Any]) -> None:
    """Request before `app`/`client` to build the app with CSRF protection on."""
    app_config["WTF_CSRF_ENABLED"] = True


@pytest.fixture
def make_member(make_user) -> Callable[..., User]:
    from eventsite.models import Membership

    def factory(organisation, **overrides: Any) -> User:
        user = make_user(**overrides)
        db.session.add(Membership(user_id=user.id, organisation_id=organisation.id))
        db.session.commit()
        return user

    return factory
