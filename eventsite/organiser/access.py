"""Who may enter the workspace, and loading objects so that ids of another
organisation lead nowhere.

Every route of the blueprint passes `require_login` (a before_request hook); each view
then loads what it works on through the `load_*` helpers below, which answer 404 for
ids that do not exist or do not belong together, and 403 when the object exists but
belongs to an organisation the person is not a member of.
"""

from __future__ import annotations

from typing import Any

from flask import abort, request
from flask_login import current_user

from eventsite.events.models import AgendaSession, Event, Speaker
from eventsite.extensions import db, login_manager
from eventsite.organisations.models import Organisation
from eventsite.registration.models import Question, Registration

# Endpoints reachable without being an organiser (they check what they need themselves).
OPEN_TO_LOGGED_IN = {"organiser.accept_invitation"}


def require_login() -> Any:
    """before_request of the blueprint: log in first; attendees have no business here."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if request.endpoint in OPEN_TO_LOGGED_IN:
        return None
    if not (current_user.is_admin or current_user.is_organiser):
        abort(403)
    return None


def require_admin() -> None:
    if not current_user.is_admin:
        abort(403)


def require_member(organisation_id: int) -> None:
    if not current_user.is_member_of(organisation_id):
        abort(403)


def load_organisation(organisation_id: int) -> Organisation:
    organisation = db.get_or_404(Organisation, organisation_id)
    require_member(organisation.id)
    return organisation


def load_event(event_id: int) -> Event:
    event = db.get_or_404(Event, event_id)
    require_member(event.organisation_id)
    return event


def load_session(event: Event, session_id: int) -> AgendaSession:
    session = db.get_or_404(AgendaSession, session_id)
    if session.event_id != event.id:
        abort(404)
    return session


def load_speaker_link(session: AgendaSession, speaker_id: int) -> Speaker:
    for link in session.speaker_links:
        if link.speaker_id == speaker_id:
            return link.speaker
    abort(404)


def load_question(event: Event, question_id: int) -> Question:
    question = db.get_or_404(Question, question_id)
    if question.event_id != event.id:
        abort(404)
    return question


def load_registration(event: Event, registration_id: int) -> Registration:
    registration = db.get_or_404(Registration, registration_id)
    if registration.event_id != event.id:
        abort(404)
    return registration
