"""The organiser API's writes to events and their agenda: create and update a draft or a
published event, add, change and remove agenda sessions. The same services and audit
entries as the workspace's event form and agenda page (organiser/event_views.py,
organiser/agenda_views.py); its routes join the organiser API's blueprint."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn, TypeVar

from flask_smorest import abort
from sqlalchemy import select

from eventsite import timeutil
from eventsite.api import organiser_schemas as schemas
from eventsite.api.core import rate_limited
from eventsite.api.organiser import (
    _event,
    _organiser_event,
    _record,
    _token,
    bp,
    documented,
)
from eventsite.errors import DomainError
from eventsite.events import agenda
from eventsite.events import services as event_services
from eventsite.events.models import AgendaSession, Event, EventFormat, EventKind, Topic
from eventsite.extensions import db
from eventsite.i18n import gettext as _
from eventsite.organisations.models import Organisation
from eventsite.organiser import audit, forms
from eventsite.timeutil import utcnow

T = TypeVar("T")

TEXT_FIELDS = ("title", "slug", "venue_name", "venue_address", "city", "summary")
MOMENTS = (
    "starts_at",
    "ends_at",
    "registration_opens_at",
    "registration_closes_at",
    "edit_deadline_at",
)
# The services' and the workspace forms' field names, as this API names them.
FIELD_NAMES = {
    "starts_local": "starts_at",
    "ends_local": "ends_at",
    "skip_notification": "notify",
    "speaker_id": "speakers",
    "name": "speakers",
}


def _refuse(field: str, message: str) -> NoReturn:
    """A value the document allows but a rule refuses: a 422 naming the field."""
    db.session.rollback()
    abort(422, message=message, errors={"json": {field: [message]}})


def _apply(change: Callable[[], T]) -> T:
    """Run a service; a refused value is a 422 naming its field, another refusal a 409,
    and nothing is kept either way."""
    try:
        return change()
    except DomainError as err:
        db.session.rollback()
        if err.field:
            _refuse(FIELD_NAMES.get(err.field, err.field), str(err))
        abort(409, message=str(err))


def _topics(slugs: list[str] | None) -> list[Topic] | None:
    """The topics named by slug (None: not sent, the event keeps its own)."""
    if slugs is None:
        return None
    wanted = set(slugs)
    topics = list(db.session.scalars(select(Topic).where(Topic.slug.in_(wanted))))
    unknown = sorted(wanted - {t.slug for t in topics})
    if unknown:
        _refuse("topics", _("No such topic: %(slugs)s.", slugs=", ".join(unknown)))
    return topics


def _all_day_bounds(
    values: dict[str, Any], event: Event | None, zone: str
) -> tuple[datetime, datetime]:
    """An all-day event's first and last local days as the UTC bounds the services keep.
    A sent time is read in the (new) zone; a kept one keeps its days, as the workspace's
    form keeps them when only the zone changes. An end at local midnight, as the API
    returns it, ends the day before."""

    def local(name: str) -> datetime:
        if values.get(name) is not None:
            return timeutil.to_local(values[name], zone)
        assert event is not None  # both are required on create
        return timeutil.to_local(getattr(event, name), event.timezone)

    first, end = local("starts_at").date(), local("ends_at")
    last = end.date()
    if end.time() == datetime.min.time() and last > first:
        last -= timedelta(days=1)
    if last < first:
        _refuse("ends_at", _("The last day cannot come before the first."))
    return timeutil.all_day_bounds(first, last, zone)


def _event_values(body: dict[str, Any], event: Event | None) -> dict[str, Any]:
    """The sent fields as the services take them (organiser/forms.py EventForm.values):
    text trimmed as the form trims it, times in UTC, enums typed."""
    values = {name: body[name] for name in body if name not in ("topics", "move_agenda", "notify")}
    for name in ("summary", "description"):
        if name in values:
            values[name] = forms.plain_text(values[name])
    for name in TEXT_FIELDS:
        if name in values:
            values[name] = values[name].strip()
    if values.get("title") == "":
        _refuse("title", _("Give the event a title."))
    for name in MOMENTS:
        if values.get(name) is not None:
            values[name] = values[name].astimezone(UTC)
    if "kind" in values:
        values["kind"] = EventKind(values["kind"])
    if "format" in values:
        values["format"] = EventFormat(values["format"])
    zone = values.get("timezone") or (event.timezone if event else "UTC")
    all_day = values.get("is_all_day", event.is_all_day if event else False)
    if all_day and {"starts_at", "ends_at", "is_all_day", "timezone"} & values.keys():
        values["starts_at"], values["ends_at"] = _all_day_bounds(values, event, zone)
    if event is None:
        values.setdefault("timezone", zone)
    return values


@bp.route("/events", endpoint="create_event", methods=["POST"])
@bp.arguments(schemas.EventCreateSchema)
@bp.response(201, schemas.OrganiserEventSchema)
@documented(400, 422)
@rate_limited
def create_event(body: dict[str, Any]) -> dict[str, Any]:
    """Create a draft event in the token's organisation (the workspace's event form)"""
    organisation = db.session.get(Organisation, _token().organisation_id)
    assert organisation is not None  # a token goes with its organisation
    topics = _topics(body.get("topics"))
    values = _event_values(body, None)
    now = utcnow()
    event = _apply(
        lambda: event_services.create_event(organisation, values, now, topics=topics or [])
    )
    _record(event, "create", now, title=event.title)
    db.session.commit()
    return _organiser_event(event, now)


@bp.route("/events/<int:event_id>", endpoint="update_event", methods=["PATCH"])
@bp.arguments(schemas.EventUpdateSchema)
@bp.response(200, schemas.OrganiserEventSchema)
@documented(400, 409, 422)
@rate_limited
def update_event(body: dict[str, Any], event_id: int) -> dict[str, Any]:
    """Change an event: only the fields sent

    A change of a published event's time or place emails its registrants with the
    calendar update, as the workspace does; `notify: false` keeps other changes quiet."""
    event = _event(event_id)
    topics = _topics(body.get("topics"))
    values = _event_values(body, event)
    now = utcnow()
    update = _apply(
        lambda: event_services.update_event(
            event,
            values,
            now,
            topics=topics,
            move_agenda=body["move_agenda"],
            notify=body["notify"],
        )
    )
    if update:
        _record(
            event,
            "edit",
            now,
            changes=audit.changes_detail(update.changes),
            revision=event.revision if update.revision_raised else None,
        )
    db.session.commit()
    return _organiser_event(event, now)


# --- the agenda --------------------------------------------------------------------------


def _session(event: Event, session_id: int) -> AgendaSession:
    session = db.get_or_404(AgendaSession, session_id)
    if session.event_id != event.id:
        abort(404)
    return session


def _session_values(body: dict[str, Any]) -> dict[str, Any]:
    values = {name: body[name] for name in body if name != "speakers"}
    for name in ("title", "room"):
        if name in values:
            values[name] = values[name].strip()
    if values.get("title") == "":
        _refuse("title", _("Give the session a title."))
    if "description" in values:
        values["description"] = forms.plain_text(values["description"])
    for name in ("starts_at", "ends_at"):
        if name in values:
            values[name] = values[name].astimezone(UTC)
    return values


def _session_json(session: AgendaSession, zone: str) -> dict[str, Any]:
    return {
        "id": session.id,
        "title": session.title,
        "starts_at": timeutil.to_local(session.starts_at, zone),
        "ends_at": timeutil.to_local(session.ends_at, zone),
        "room": session.room,
        "description": session.description,
        "speakers": [speaker.name for speaker in session.speakers],
    }


SESSION = "/events/<int:event_id>/sessions/<int:session_id>"


@bp.route("/events/<int:event_id>/sessions", endpoint="create_session", methods=["POST"])
@bp.arguments(schemas.SessionCreateSchema)
@bp.response(201, schemas.OrganiserSessionSchema)
@documented(400, 422)
@rate_limited
def create_session(body: dict[str, Any], event_id: int) -> dict[str, Any]:
    """Add a session to the event's agenda, with new speakers by name"""
    event = _event(event_id)
    now = utcnow()

    def add() -> AgendaSession:
        values = {"room": "", "description": ""} | _session_values(body)
        session = agenda.add_session(event, values, now)
        for name in body["speakers"]:
            agenda.add_speaker(session, now, new_speaker={"name": name.strip()})
        return session

    session = _apply(add)
    _record(event, "agenda", now, added=session.title)
    db.session.commit()
    return _session_json(session, event.timezone)


@bp.route(SESSION, endpoint="update_session", methods=["PATCH"])
@bp.arguments(schemas.SessionUpdateSchema)
@bp.response(200, schemas.OrganiserSessionSchema)
@documented(400, 422)
@rate_limited
def update_session(body: dict[str, Any], event_id: int, session_id: int) -> dict[str, Any]:
    """Change a session: only the fields sent"""
    event = _event(event_id)
    session = _session(event, session_id)
    values = {"starts_at": session.starts_at, "ends_at": session.ends_at} | _session_values(body)
    now = utcnow()
    changed = _apply(lambda: agenda.update_session(session, values, now))
    if changed:
        _record(event, "agenda", now, session=session.title, changes=audit.changes_detail(changed))
    db.session.commit()
    return _session_json(session, event.timezone)


@bp.route(SESSION, endpoint="delete_session", methods=["DELETE"])
@bp.response(204)
@documented()
@rate_limited
def delete_session(event_id: int, session_id: int) -> None:
    """Remove a session from the agenda"""
    event = _event(event_id)
    session = _session(event, session_id)
    now, title = utcnow(), session.title
    agenda.remove_session(session, now)
    _record(event, "agenda", now, removed=title)
    db.session.commit()
