"""Workspace views for the agenda: sessions and their speakers."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from eventsite import errors
from eventsite.errors import DomainError
from eventsite.events import agenda
from eventsite.events.models import AgendaSession, Event, Speaker
from eventsite.extensions import db
from eventsite.i18n import gettext as _
from eventsite.organiser import access, audit, forms
from eventsite.organiser.blueprint import bp
from eventsite.organiser.event_views import Page
from eventsite.timeutil import utcnow


def _direction() -> int | None:
    return {"up": -1, "down": 1}.get(request.form.get("direction", ""))


def _agenda_url(event: Event) -> str:
    return url_for("organiser.agenda", event_id=event.id)


def _speaker_form() -> forms.SpeakerForm:
    speakers = db.session.scalars(agenda.speaker_choices()).all()
    return forms.SpeakerForm(
        speaker_choices=[
            (s.id, f"{s.name} ({s.affiliation})" if s.affiliation else s.name) for s in speakers
        ]
    )


@bp.route("/events/<int:event_id>/agenda", methods=["GET", "POST"], endpoint="agenda")
def agenda_page(event_id: int) -> Page:
    event = access.load_event(event_id)
    form = forms.SessionForm()
    if request.method == "GET" and not form.starts_local.data:
        form.starts_local.data = forms.to_local_input(event.starts_at, event.timezone)
    if form.validate_on_submit():
        now = utcnow()
        try:
            session = agenda.add_session(event, form.values(event.timezone), now)
        except DomainError as err:
            errors.attach_to_form(form, err)
        else:
            audit.record_for_event(event, "agenda", now, added=session.title)
            db.session.commit()
            flash(_("Session “%(title)s” added.", title=session.title), "success")
            return redirect(_agenda_url(event))
    return render_template(
        "organiser/agenda.html", event=event, form=form, action_form=forms.ActionForm()
    ), 422 if form.errors else 200


@bp.route("/events/<int:event_id>/sessions/<int:session_id>", methods=["GET", "POST"])
def edit_session(event_id: int, session_id: int) -> Page:
    event = access.load_event(event_id)
    session = access.load_session(event, session_id)
    form = forms.SessionForm()
    if request.method == "GET":
        form.title.data = session.title
        form.starts_local.data = forms.to_local_input(session.starts_at, event.timezone)
        form.ends_local.data = forms.to_local_input(session.ends_at, event.timezone)
        form.room.data = session.room
        form.description.data = session.description
    if form.validate_on_submit():
        now = utcnow()
        try:
            changed = agenda.update_session(session, form.values(event.timezone), now)
        except DomainError as err:
            errors.attach_to_form(form, err)
        else:
            if changed:
                audit.record_for_event(
                    event,
                    "agenda",
                    now,
                    session=session.title,
                    changes=audit.changes_detail(changed),
                )
            db.session.commit()
            flash(_("Session saved."), "success")
            return redirect(_agenda_url(event))
    return _session_page(event, session, form, _speaker_form())


def _session_page(
    event: Event, session: AgendaSession, form: forms.SessionForm, speaker_form: forms.SpeakerForm
) -> Page:
    status = 422 if (form.errors or speaker_form.errors) else 200
    return render_template(
        "organiser/session.html",
        event=event,
        session=session,
        form=form,
        speaker_form=speaker_form,
        action_form=forms.ActionForm(),
    ), status


@bp.post("/events/<int:event_id>/sessions/<int:session_id>/move")
def move_session(event_id: int, session_id: int) -> Response:
    event = access.load_event(event_id)
    session = access.load_session(event, session_id)
    direction = _direction()
    if forms.ActionForm().validate_on_submit() and direction is not None:
        now = utcnow()
        try:
            agenda.move_session(session, direction, now)
        except DomainError as err:
            flash(str(err), "error")
        else:
            audit.record_for_event(
                event,
                "agenda",
                now,
                moved=session.title,
                direction="up" if direction < 0 else "down",
            )
            db.session.commit()
    else:
        flash(_("Say whether to move the session up or down."), "error")
    return redirect(_agenda_url(event))


@bp.post("/events/<int:event_id>/sessions/<int:session_id>/remove")
def remove_session(event_id: int, session_id: int) -> Response:
    event = access.load_event(event_id)
    session = access.load_session(event, session_id)
    if forms.ActionForm().validate_on_submit():
        now, title = utcnow(), session.title
        agenda.remove_session(session, now)
        audit.record_for_event(event, "agenda", now, removed=title)
        db.session.commit()
        flash(_("Session removed."), "success")
    return redirect(_agenda_url(event))


@bp.post("/events/<int:event_id>/sessions/<int:session_id>/speakers")
def add_speaker(event_id: int, session_id: int) -> Page:
    event = access.load_event(event_id)
    session = access.load_session(event, session_id)
    speaker_form = _speaker_form()
    if speaker_form.validate_on_submit():
        existing = None
        if speaker_form.speaker_id.data:
            existing = db.get_or_404(Speaker, speaker_form.speaker_id.data)
        now = utcnow()
        try:
            speaker = agenda.add_speaker(
                session,
                now,
                speaker=existing,
                new_speaker=None if existing else speaker_form.new_speaker_values(),
            )
        except DomainError as err:
            errors.attach_to_form(speaker_form, err)
        else:
            audit.record_for_event(
                event, "agenda", now, session=session.title, speaker_added=speaker.name
            )
            db.session.commit()
            flash(_("%(name)s added.", name=speaker.name), "success")
            return redirect(
                url_for("organiser.edit_session", event_id=event.id, session_id=session.id)
            )
    form = forms.SessionForm(formdata=None, obj=None)
    form.title.data = session.title
    form.starts_local.data = forms.to_local_input(session.starts_at, event.timezone)
    form.ends_local.data = forms.to_local_input(session.ends_at, event.timezone)
    form.room.data = session.room
    form.description.data = session.description
    return _session_page(event, session, form, speaker_form)


@bp.post("/events/<int:event_id>/sessions/<int:session_id>/speakers/<int:speaker_id>/move")
def move_speaker(event_id: int, session_id: int, speaker_id: int) -> Response:
    event = access.load_event(event_id)
    session = access.load_session(event, session_id)
    access.load_speaker_link(session, speaker_id)
    direction = _direction()
    if forms.ActionForm().validate_on_submit() and direction is not None:
        now = utcnow()
        try:
            agenda.move_speaker(session, speaker_id, direction, now)
        except DomainError as err:
            flash(str(err), "error")
        else:
            audit.record_for_event(
                event, "agenda", now, session=session.title, speakers_reordered=True
            )
            db.session.commit()
    else:
        flash(_("Say whether to move the speaker up or down."), "error")
    return redirect(url_for("organiser.edit_session", event_id=event.id, session_id=session.id))


@bp.post("/events/<int:event_id>/sessions/<int:session_id>/speakers/<int:speaker_id>/remove")
def remove_speaker(event_id: int, session_id: int, speaker_id: int) -> Response:
    event = access.load_event(event_id)
    session = access.load_session(event, session_id)
    access.load_speaker_link(session, speaker_id)
    if forms.ActionForm().validate_on_submit():
        now = utcnow()
        speaker = agenda.remove_speaker(session, speaker_id, now)
        audit.record_for_event(
            event, "agenda", now, session=session.title, speaker_removed=speaker.name
        )
        db.session.commit()
        flash(_("Speaker removed from the session."), "success")
    return redirect(url_for("organiser.edit_session", event_id=event.id, session_id=session.id))
