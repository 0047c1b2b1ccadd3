"""The demonstration data, read from the TOML files in `files/` into typed, checked records.

The files hold everything that is invented (organisations, people, events, agendas, attendees
and their answers); `load.py` and `clear.py` hold the code. A key a record does not know is an
error when the files are read, so a typo never goes unnoticed.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields
from functools import cache, cached_property
from importlib import resources
from typing import Any

from eventsite.events.models import EventFormat, EventKind, EventStatus
from eventsite.registration.models import QuestionKind


@dataclass(frozen=True)
class SpeakerSpec:
    key: str
    name: str
    affiliation: str
    country: str
    honours: str = ""
    bio: str = ""


@dataclass(frozen=True)
class SessionSpec:
    """One agenda session: `day` 0 is the event's first day; times are local."""

    day: int
    start: str
    end: str
    title: str
    room: str = ""
    speakers: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class EventSpec:
    """One event, timed relative to the day of loading (see the head of events.toml)."""

    slug: str
    title: str
    kind: EventKind
    organisation: str
    topics: tuple[str, ...]
    summary: str
    description: str
    timezone: str
    day: int
    format: EventFormat
    days: int = 1
    start: str = ""
    end: str = ""
    all_day: bool = False
    status: EventStatus = EventStatus.PUBLISHED
    cancellation_reason: str = ""
    venue_name: str = ""
    venue_address: str = ""
    city: str = ""
    country: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    online_url: str | None = None
    capacity: int | None = None
    registration_opens_in_days: int | None = None
    registration_closes_days_before: int = 0
    has_waiting_list: bool = False
    requires_approval: bool = False
    sessions: tuple[SessionSpec, ...] = ()


@dataclass(frozen=True)
class QuestionSpec:
    kind: QuestionKind
    label: str
    required: bool = False
    help_text: str = ""
    options: tuple[str, ...] = ()
    # multiple_choice: offer the titles of the event's first n agenda sessions
    options_from_agenda: int = 0


@dataclass(frozen=True)
class AttendeeSpec:
    domain: str
    count: int
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    affiliations: tuple[str, ...]
    countries: tuple[str, ...]
    long_answer: str


@dataclass(frozen=True)
class RegistrationsSpec:
    """How many attendees registered for one event, in each state."""

    event: str
    confirmed: int = 0
    pending: int = 0
    waitlisted: int = 0


@dataclass(frozen=True)
class Demo:
    organisations: tuple[dict[str, str], ...]
    topics: tuple[dict[str, str], ...]
    speakers: dict[str, SpeakerSpec]
    events: tuple[EventSpec, ...]
    attendees: AttendeeSpec
    questions: dict[str, QuestionSpec]
    asked: dict[str, tuple[str, ...]]  # event slug -> question keys, in order
    registrations: tuple[RegistrationsSpec, ...]
    closed_events: tuple[str, ...]  # registration ended the day before loading

    @cached_property
    def organisation_slugs(self) -> tuple[str, ...]:
        return tuple(o["slug"] for o in self.organisations)

    @cached_property
    def topic_slugs(self) -> tuple[str, ...]:
        return tuple(t["slug"] for t in self.topics)

    @cached_property
    def event_slugs(self) -> tuple[str, ...]:
        return tuple(e.slug for e in self.events)

    @cached_property
    def speaker_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.speakers.values())


def _read(name: str) -> dict[str, Any]:
    return tomllib.loads(resources.files(__package__).joinpath("files", name).read_text("utf-8"))


def _record(cls: type, values: dict[str, Any], **converted: Any) -> Any:
    """`cls(**values)` with lists as tuples; an unknown or missing key names the record."""
    known = {f.name for f in fields(cls)}
    unknown = set(values) - known
    if unknown:
        raise ValueError(f"{cls.__name__}: unknown keys {sorted(unknown)} in {values}")
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    return cls(**{**values, **converted})


@cache
def demo() -> Demo:
    """The whole demonstration, read once per process."""
    catalogue = _read("catalogue.toml")
    agendas = {
        agenda["event"]: tuple(_record(SessionSpec, s) for s in agenda["sessions"])
        for agenda in _read("agendas.toml")["agendas"]
    }
    events = tuple(
        _record(
            EventSpec,
            e,
            kind=EventKind(e["kind"]),
            format=EventFormat(e["format"]),
            status=EventStatus(e.get("status", EventStatus.PUBLISHED)),
            sessions=agendas.pop(e["slug"], ()),
        )
        for e in _read("events.toml")["events"]
    )
    if agendas:
        raise ValueError(f"agendas.toml: agendas of unknown events {sorted(agendas)}")
    registrations = _read("registrations.toml")
    speakers = {
        key: _record(SpeakerSpec, values, key=key) for key, values in catalogue["speakers"].items()
    }
    return Demo(
        organisations=tuple(catalogue["organisations"]),
        topics=tuple(catalogue["topics"]),
        speakers=speakers,
        events=events,
        attendees=_record(AttendeeSpec, registrations["attendees"]),
        questions={
            key: _record(QuestionSpec, values, kind=QuestionKind(values["kind"]))
            for key, values in registrations["questions"].items()
        },
        asked={slug: tuple(keys) for slug, keys in registrations["asked"].items()},
        registrations=tuple(_record(RegistrationsSpec, r) for r in registrations["registrations"]),
        closed_events=tuple(registrations["closed"]["events"]),
    )
