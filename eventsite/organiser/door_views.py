"""Door mode (/manage/events/<id>/door): find a person by name, email or ticket (typed or
scanned), check them in with one button, undo for a moment, count the arrivals; and what
a door device needs to keep working offline (its list, its sync, its service worker).

Works without JavaScript (a GET search form, POST buttons, a flash); door.js fetches the
same endpoints as JSON (`Accept: application/json`).
"""

from __future__ import annotations

import string
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import (
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from werkzeug.wrappers import Response

from eventsite import timeutil
from eventsite.errors import DomainError
from eventsite.events.models import Event
from eventsite.extensions import db
from eventsite.i18n import format_number
from eventsite.i18n import gettext as _
from eventsite.organiser import access, audit, registrant_forms, registrants
from eventsite.organiser.blueprint import bp
from eventsite.organiser.event_views import Page
from eventsite.registration import door, tickets
from eventsite.registration import services as registration_services
from eventsite.registration.models import Registration
from eventsite.timeutil import utcnow

# The characters of a registration's public id (`models.new_public_id`, URL-safe base64).
PUBLIC_ID_CHARACTERS = frozenset(string.ascii_letters + string.digits + "-_")


def _is_public_id(text: str) -> bool:
    """Could name a registration: anything else (a NUL, a space) names nobody."""
    return 0 < len(text) <= 64 and all(ch in PUBLIC_ID_CHARACTERS for ch in text)


SEARCH_LIMIT = 20  # cards on the page: a door search names one person, rarely more
MAX_QUERY = 300  # a signed QR value is about 40 characters; a name search far less


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def arrivals_text(arrivals: door.Arrivals) -> str:
    return _(
        "%(checked)s of %(expected)s checked in",
        checked=format_number(arrivals.checked_in),
        expected=format_number(arrivals.expected),
    )


def _search(event: Event, q: str) -> tuple[list[Registration], str | None]:
    """The people a door search finds, and why a ticket it names lets nobody in."""
    refusal = None
    if "." in q or tickets.normalise_code(q):
        try:
            return [tickets.find_ticket(event, q)], None
        except tickets.TicketError as err:
            refusal = str(err)
        if "." in q:
            return [], refusal  # a QR value, not a name
    stmt = registrants.registrants(event, registrants.RegistrantFilters(q=q, sort="name"))
    stmt = stmt.options(joinedload(Registration.checked_in_by)).limit(SEARCH_LIMIT)
    found = list(db.session.scalars(stmt).unique())
    return found, (refusal if not found else None)


def labelled(entry: dict[str, Any]) -> dict[str, Any]:
    """A door entry with its status as the workspace words it."""
    return entry | {"status_label": str(registrant_forms.STATUS_LABELS[entry["status"]])}


def _entry(registration: Registration) -> dict[str, Any]:
    duplicates = door.duplicates_of([registration]).get(registration.id, [])
    return labelled(door.door_entry(registration, duplicates))


def _query() -> str:
    return (request.values.get("q") or "").replace("\x00", "").strip()[:MAX_QUERY]


@bp.get("/events/<int:event_id>/door")
def door_page(event_id: int) -> Page:
    event = access.load_event(event_id)
    q = _query()
    found, refusal = _search(event, q) if q else ([], None)
    duplicates = door.duplicates_of(found)
    return render_template(
        "organiser/door.html",
        event=event,
        q=q,
        found=found,
        refusal=refusal,
        entries={r.id: labelled(door.door_entry(r, duplicates.get(r.id, []))) for r in found},
        arrivals=arrivals_text(door.arrivals(event)),
        undo_seconds=int(registration_services.DOOR_UNDO_WINDOW.total_seconds()),
        undo_window=registration_services.DOOR_UNDO_WINDOW,
        now=utcnow(),
    )


def _registration(event: Event) -> Registration | None:
    public_id = request.form.get("registration") or ""
    if not _is_public_id(public_id):
        return None
    return db.session.scalar(
        select(Registration).where(
            Registration.event_id == event.id, Registration.public_id == public_id
        )
    )


def _answer(event: Event, ok: bool, message: str, registration: Registration | None) -> Page:
    """JSON for door.js (the person as the device keeps them, the count), else a flash
    and back to the search."""
    if _wants_json():
        payload = {
            "ok": ok,
            "message": message,
            "entry": _entry(registration) if registration is not None else None,
            "arrivals": arrivals_text(door.arrivals(event)),
        }
        return jsonify(payload), 200 if ok else 409 if registration is not None else 422
    flash(message, "success" if ok else "error")
    q = _query()
    return redirect(url_for("organiser.door_page", event_id=event.id, **({"q": q} if q else {})))


def _act(event_id: int, undo: bool) -> Page:
    event = access.load_event(event_id)
    registration = _registration(event)
    if registration is None:
        return _answer(event, False, _("Choose a person of this event first."), None)
    now = utcnow()
    try:
        if undo:
            registration_services.undo_check_in(
                registration, now, within=registration_services.DOOR_UNDO_WINDOW
            )
        else:
            registration_services.check_in(registration, now, by=current_user)
    except DomainError as err:
        db.session.rollback()
        db.session.refresh(registration)
        return _answer(event, False, str(err), registration)
    audit.record_for_event(
        event,
        "check_in_undo" if undo else "check_in",
        now,
        registration=registration.id,
        email=registration.user.email,
        door=True,
    )
    db.session.commit()
    name = registration.user.name
    if undo:
        message = _("Check-in of %(name)s undone.", name=name)
    else:
        message = _("%(name)s is checked in.", name=name)
    return _answer(event, True, message, registration)


@bp.post("/events/<int:event_id>/door/check-in")
def door_check_in(event_id: int) -> Page:
    return _act(event_id, undo=False)


@bp.post("/events/<int:event_id>/door/undo")
def door_undo(event_id: int) -> Page:
    return _act(event_id, undo=True)


@bp.post("/events/<int:event_id>/door/scan")
def door_scan(event_id: int) -> Page:
    """What the camera read: the person with their Check in button, or why the ticket
    lets nobody in (forged, another event's, cancelled…). Nothing changes."""
    event = access.load_event(event_id)
    value = (request.form.get("value") or "").replace("\x00", "").strip()[:MAX_QUERY]
    if not _wants_json():
        return redirect(url_for("organiser.door_page", event_id=event.id, q=value or None))
    if not value:
        return jsonify({"ok": False, "message": _("Nothing was read.")}), 422
    try:
        registration = tickets.find_ticket(event, value)
    except tickets.TicketError as err:
        return jsonify({"ok": False, "message": str(err)}), 422
    return jsonify({"ok": True, "entry": _entry(registration)})


@bp.get("/events/<int:event_id>/door/count")
def door_count(event_id: int) -> Response:
    event = access.load_event(event_id)
    arrivals = door.arrivals(event)
    return jsonify(
        {
            "checked_in": arrivals.checked_in,
            "expected": arrivals.expected,
            "text": arrivals_text(arrivals),
            # door.js fetches the list again when this changes
            "stamp": f"{arrivals.checked_in}/{arrivals.duplicates}",
        }
    )


@bp.get("/events/<int:event_id>/door/list")
def door_list(event_id: int) -> Response:
    """The list a door device keeps for offline use: no email addresses, no answers."""
    event = access.load_event(event_id)
    response = jsonify(
        {
            "event": {"id": event.id, "ends_at": timeutil.iso_or_none(event.ends_at)},
            "user": current_user.id,
            "entries": [labelled(entry) for entry in door.door_list(event)],
            "arrivals": arrivals_text(door.arrivals(event)),
        }
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _sync_items(body: Any) -> tuple[str, list[door.OfflineCheckIn]] | None:
    """The device's name and its check-ins from the JSON body, or None when malformed."""
    if not isinstance(body, dict) or not isinstance(body.get("items"), list):
        return None
    device = body.get("device")
    if not isinstance(device, str) or len(body["items"]) > door.MAX_SYNC_ITEMS:
        return None
    items = []
    for item in body["items"]:
        if not isinstance(item, dict):
            return None
        public_id, at = item.get("id"), item.get("at")
        if not isinstance(public_id, str) or not _is_public_id(public_id):
            return None
        if not isinstance(at, str):
            return None
        try:
            moment = datetime.fromisoformat(at.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                return None
            items.append(door.OfflineCheckIn(public_id, moment.astimezone(UTC)))
        except (ValueError, OverflowError):  # not a time; a year 1 or 9999 off the clock
            return None
    return device.replace("\x00", "").strip()[:40], items


@bp.post("/events/<int:event_id>/door/sync")
def door_sync(event_id: int) -> Page:
    """Check-ins a device made offline: each applied, the earliest check-in of a person
    kept, a later one recorded and reported ("checked in twice")."""
    event = access.load_event(event_id)
    parsed = _sync_items(request.get_json(silent=True))
    if parsed is None:
        return jsonify({"ok": False, "message": _("This is not a list of check-ins.")}), 422
    device, items = parsed
    now = utcnow()
    results = door.apply_offline_check_ins(event, items, current_user, device, now)
    applied = [r.registration for r in results if r.outcome in ("checked_in", "twice")]
    if applied:
        audit.record_for_event(event, "door_sync", now, registrations=applied, device=device)
    db.session.commit()
    return jsonify(
        {
            "ok": True,
            "results": [
                {
                    "id": r.registration,
                    "outcome": r.outcome,
                    "message": r.message,
                    "entry": labelled(r.entry) if r.entry else None,
                }
                for r in results
            ],
            "arrivals": arrivals_text(door.arrivals(event)),
        }
    )


SERVICE_WORKER = Path(__file__).resolve().parents[1] / "static" / "door-sw.js"


@bp.get("/events/<int:event_id>/door-sw.js")
def door_service_worker(event_id: int) -> Response:
    """The door's service worker, served from the event's own path so that its scope
    (/manage/events/<id>/) covers the door page, which it keeps for offline use."""
    access.load_event(event_id)
    response = send_file(SERVICE_WORKER, mimetype="text/javascript", max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    return response
