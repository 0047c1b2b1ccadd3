"""Rules for an event's agenda: sessions, their order, and their speakers.

Every change that calendars show (a session's times, title, room, description, speakers;
sessions added or removed) raises the event's revision once and tells its registrants
(events/revision.py). Like the other services: `now` given, DomainError, flush, no commit.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, select

from eventsite import input_rules, timeutil
from eventsite.errors import DomainError
from eventsite.events import revision, search_text
from eventsite.events.models import AgendaSession, Event, SessionSpeaker, Speaker
from eventsite.extensions import db
from eventsite.i18n import gettext as _

SESSION_FIELDS = ("title", "starts_at", "ends_at", "room", "description")
_AGENDA = frozenset({revision.AGENDA})


class AgendaError(DomainError):
    """A rule about the agenda refused the change."""


def _check_inside(event: Event, starts: datetime, ends: datetime) -> None:
    if ends <= starts:
        raise AgendaError(_("The end must come after the start."), field="ends_local")
    if starts < event.starts_at or ends > event.ends_at:
        raise AgendaError(
            _("Sessions take place within the event's dates and times."), field="starts_local"
        )


# Typed text mended as the forms do (input_rules.clean_typed_text), for the CLI and the API.
SESSION_LINES, SESSION_TEXTS = ("title", "room"), ("description",)
SPEAKER_LINES, SPEAKER_TEXTS = ("name", "affiliation", "honours"), ("bio",)


def add_session(event: Event, values: dict[str, Any], now: datetime) -> AgendaSession:
    input_rules.clean_text_fields(values, SESSION_LINES, SESSION_TEXTS)
    _check_inside(event, values["starts_at"], values["ends_at"])
    session = AgendaSession(
        event=event, created_at=now, updated_at=now, **{k: values[k] for k in SESSION_FIELDS}
    )
    db.session.add(session)
    db.session.flush()
    revision.note_change(event, _AGENDA, now)
    return session


def update_session(
    session: AgendaSession, values: dict[str, Any], now: datetime
) -> dict[str, tuple[Any, Any]]:
    """Apply the values; returns each changed field's (old, new) values."""
    input_rules.clean_text_fields(values, SESSION_LINES, SESSION_TEXTS)
    _check_inside(session.event, values["starts_at"], values["ends_at"])
    changed = {
        name: (getattr(session, name), values[name])
        for name in SESSION_FIELDS
        if name in values and getattr(session, name) != values[name]
    }
    for name, (_old, new) in changed.items():
        setattr(session, name, new)
    if changed:
        session.updated_at = now
        db.session.flush()
        if set(changed) & revision.SESSION_CALENDAR_FIELDS:
            revision.note_change(session.event, _AGENDA, now)
    return changed


def remove_session(session: AgendaSession, now: datetime) -> None:
    event = session.event
    event.sessions.remove(session)
    db.session.flush()
    search_text.refresh(event)
    revision.note_change(event, _AGENDA, now)


def move_session(session: AgendaSession, direction: int, now: datetime) -> None:
    """Swap the session with its neighbour in the agenda (up: -1, down: +1).

    The agenda is ordered by time, so moving a session swaps the two time slots: the
    pair keeps its first start, each session keeps its duration and the gap between
    them stays the same.
    """
    event = session.event
    ordered = list(event.sessions)
    index = ordered.index(session)
    other_index = index + direction
    if direction not in (-1, 1) or not 0 <= other_index < len(ordered):
        raise AgendaError(_("This session cannot move further."))
    first, second = sorted((session, ordered[other_index]), key=ordered.index)
    if first.starts_at == second.starts_at:
        # Parallel sessions: the order between them is the order they were added in.
        raise AgendaError(_("These sessions start at the same time; change their times instead."))
    gap = max(second.starts_at - first.ends_at, timedelta(0))
    start = first.starts_at
    first_length = first.ends_at - first.starts_at
    second_length = second.ends_at - second.starts_at
    first_start = start + second_length + gap
    if first_start + first_length > event.ends_at:
        raise AgendaError(_("Swapping these sessions would run past the end of the event."))
    second.starts_at, second.ends_at = start, start + second_length
    first.starts_at, first.ends_at = first_start, first_start + first_length
    first.updated_at = second.updated_at = now
    db.session.flush()
    # Two sessions moved: still one save, one new revision.
    revision.note_change(event, _AGENDA, now)
    # The relationship is ordered by time; reload it so the page shows the new order.
    db.session.expire(event, ["sessions"])


def wall_clock_shift(
    old_start: datetime, old_zone: str, new_start: datetime, new_zone: str
) -> timedelta:
    """How far the event's start moved on the wall clock (a day across a change to summer
    time is one day, although 23 hours pass)."""
    return _wall(new_start, new_zone) - _wall(old_start, old_zone)


def _wall(value: datetime, zone: str) -> datetime:
    return timeutil.to_local(value, zone).replace(tzinfo=None)


def shifted_times(
    event: Event, shift: timedelta, old_zone: str, new_zone: str
) -> dict[AgendaSession, tuple[datetime, datetime]]:
    """Every session's times moved by `shift` on the wall clock: a session at 10:00 in the
    old zone is at 10:00 + shift in the new one, whatever daylight saving does between."""
    return {
        session: (
            timeutil.local_to_utc(_wall(session.starts_at, old_zone) + shift, new_zone),
            timeutil.local_to_utc(_wall(session.ends_at, old_zone) + shift, new_zone),
        )
        for session in event.sessions
    }


def move_sessions(times: dict[AgendaSession, tuple[datetime, datetime]], now: datetime) -> bool:
    """Give the sessions these times (from shifted_times, checked by the caller against the
    event's new dates). The caller notes the change once, with the event's own (the agenda
    moves in the same save as the event). Returns whether any session moved."""
    moved = False
    for session, (starts, ends) in times.items():
        if (session.starts_at, session.ends_at) != (starts, ends):
            session.starts_at, session.ends_at = starts, ends
            session.updated_at = now
            moved = True
    return moved


# --- speakers ---------------------------------------------------------------------------


def speaker_choices() -> Select[tuple[Speaker]]:
    return select(Speaker).order_by(Speaker.name, Speaker.id)


def add_speaker(
    session: AgendaSession,
    now: datetime,
    *,
    speaker: Speaker | None = None,
    new_speaker: dict[str, Any] | None = None,
) -> Speaker:
    """Append an existing or a new speaker to the session's speakers."""
    if speaker is None:
        if new_speaker:
            input_rules.clean_text_fields(new_speaker, SPEAKER_LINES, SPEAKER_TEXTS)
        if not new_speaker or not new_speaker.get("name"):
            raise AgendaError(_("Pick a speaker or give a new speaker's name."), field="name")
        speaker = Speaker(**new_speaker)
        db.session.add(speaker)
        db.session.flush()
    if any(link.speaker_id == speaker.id for link in session.speaker_links):
        raise AgendaError(
            _("%(name)s already speaks in this session.", name=speaker.name), field="speaker_id"
        )
    position = max((link.position for link in session.speaker_links), default=-1) + 1
    session.speaker_links.append(SessionSpeaker(speaker=speaker, position=position))
    session.updated_at = now
    db.session.flush()
    search_text.refresh(session.event)
    revision.note_change(session.event, _AGENDA, now)
    return speaker


def _renumber(session: AgendaSession, links: list[SessionSpeaker]) -> None:
    for position, link in enumerate(links):
        link.position = position
    db.session.flush()
    db.session.expire(session, ["speaker_links"])


def move_speaker(session: AgendaSession, speaker_id: int, direction: int, now: datetime) -> None:
    links = sorted(session.speaker_links, key=lambda link: (link.position, link.speaker_id))
    index = next(i for i, link in enumerate(links) if link.speaker_id == speaker_id)
    other = index + direction
    if direction not in (-1, 1) or not 0 <= other < len(links):
        raise AgendaError(_("This speaker cannot move further."))
    links[index], links[other] = links[other], links[index]
    session.updated_at = now
    _renumber(session, links)
    revision.note_change(session.event, _AGENDA, now)


def remove_speaker(session: AgendaSession, speaker_id: int, now: datetime) -> Speaker:
    """Take the speaker off the session (they stay: they may speak elsewhere)."""
    links = sorted(session.speaker_links, key=lambda link: (link.position, link.speaker_id))
    link = next(link for link in links if link.speaker_id == speaker_id)
    speaker = link.speaker
    session.speaker_links.remove(link)
    links.remove(link)
    session.updated_at = now
    _renumber(session, links)
    search_text.refresh(session.event)
    revision.note_change(session.event, _AGENDA, now)
    return speaker
