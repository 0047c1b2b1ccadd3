"""Workspace pages that take a picture: an event's cover and a speaker's photo (the
organisation's logo is on its profile form); and the larger body they are allowed."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from werkzeug.exceptions import RequestEntityTooLarge

from eventsite import errors
from eventsite.errors import DomainError
from eventsite.events import services as events
from eventsite.extensions import db
from eventsite.i18n import gettext as _
from eventsite.organiser import access, audit, forms
from eventsite.organiser.blueprint import bp
from eventsite.organiser.event_views import Page
from eventsite.timeutil import utcnow

# Room for the form's text fields around the largest allowed upload.
FORM_OVERHEAD_BYTES = 512 * 1024
# The pages that take a file: every other request keeps MAX_CONTENT_LENGTH.
UPLOAD_ENDPOINTS = frozenset(
    {"organiser.organisation", "organiser.event_cover", "organiser.speaker_photo"}
)


@bp.url_value_preprocessor
def _limit_body(endpoint: str | None, _values: dict[str, Any] | None) -> None:
    """Raise the body cap for the uploads, before anything (CSRF included) parses the body:
    this runs ahead of every before_request function."""
    if endpoint in UPLOAD_ENDPOINTS and request.method == "POST":
        request.max_content_length = (
            current_app.config["IMAGE_MAX_UPLOAD_BYTES"] + FORM_OVERHEAD_BYTES
        )


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_err: RequestEntityTooLarge) -> Page:
    if request.endpoint not in UPLOAD_ENDPOINTS:
        return errors.too_large_page()
    limit_mb = current_app.config["IMAGE_MAX_UPLOAD_BYTES"] // (1024 * 1024)
    return errors.too_large_page(
        _(
            "What you sent is too large. A picture may be at most %(mb)d MB; "
            "please choose a smaller one.",
            mb=limit_mb,
        )
    )


def _uploaded(field: Any) -> bytes | None:
    upload = field.data
    if upload and getattr(upload, "filename", ""):
        return upload.read()
    return None


@bp.route("/events/<int:event_id>/cover", methods=["GET", "POST"])
def event_cover(event_id: int) -> Page:
    event = access.load_event(event_id)
    form = forms.CoverForm()
    if request.method == "GET" and event.cover_image is not None:
        form.cover_alt.data = event.cover_image.alt
    if form.validate_on_submit():
        now = utcnow()
        data = _uploaded(form.cover)
        alt = form.cover_alt.data or ""
        try:
            if data is not None:
                events.set_cover(event, data, alt, now)
                audit.record_for_event(event, "cover_upload", now, alt=event.cover_image.alt)
            elif event.cover_image is not None:
                events.set_cover_alt(event, alt)
            else:
                raise DomainError(_("Choose a picture to upload."), field="cover")
        except DomainError as err:
            db.session.rollback()
            event = access.load_event(event_id)
            errors.attach_to_form(form, err)
        else:
            db.session.commit()
            flash(_("Saved."), "success")
            return redirect(url_for("organiser.event_cover", event_id=event.id))
    return render_template(
        "organiser/cover.html", event=event, form=form, action_form=forms.ActionForm()
    ), (422 if form.errors else 200)


@bp.post("/events/<int:event_id>/cover/remove")
def remove_event_cover(event_id: int) -> Page:
    event = access.load_event(event_id)
    if forms.ActionForm().validate_on_submit() and event.cover_image is not None:
        now = utcnow()
        events.remove_cover(event)
        audit.record_for_event(event, "cover_remove", now)
        db.session.commit()
        flash(_("The cover picture is removed."), "success")
    return redirect(url_for("organiser.event_cover", event_id=event.id))


@bp.route(
    "/events/<int:event_id>/sessions/<int:session_id>/speakers/<int:speaker_id>/photo",
    methods=["GET", "POST"],
)
def speaker_photo(event_id: int, session_id: int, speaker_id: int) -> Page:
    event = access.load_event(event_id)
    session = access.load_session(event, session_id)
    speaker = access.load_speaker_link(session, speaker_id)
    form = forms.SpeakerPhotoForm()
    if request.method == "GET" and speaker.photo_image is not None:
        form.photo_alt.data = speaker.photo_image.alt
    if form.validate_on_submit():
        now = utcnow()
        data = _uploaded(form.photo)
        alt = form.photo_alt.data or ""
        try:
            if data is not None:
                events.set_speaker_photo(speaker, data, alt, now)
                audit.record_for_event(event, "agenda", now, speaker_photo=speaker.name)
            elif speaker.photo_image is not None:
                events.set_speaker_photo_alt(speaker, alt)
            else:
                raise DomainError(_("Choose a photo to upload."), field="photo")
        except DomainError as err:
            db.session.rollback()
            event = access.load_event(event_id)
            session = access.load_session(event, session_id)
            speaker = access.load_speaker_link(session, speaker_id)
            errors.attach_to_form(form, err)
        else:
            db.session.commit()
            flash(_("Saved."), "success")
            return redirect(
                url_for(
                    "organiser.speaker_photo",
                    event_id=event.id,
                    session_id=session.id,
                    speaker_id=speaker.id,
                )
            )
    return render_template(
        "organiser/speaker_photo.html",
        event=event,
        session=session,
        speaker=speaker,
        form=form,
        action_form=forms.ActionForm(),
    ), (422 if form.errors else 200)


@bp.post("/events/<int:event_id>/sessions/<int:session_id>/speakers/<int:speaker_id>/photo/remove")
def remove_speaker_photo(event_id: int, session_id: int, speaker_id: int) -> Page:
    event = access.load_event(event_id)
    session = access.load_session(event, session_id)
    speaker = access.load_speaker_link(session, speaker_id)
    if forms.ActionForm().validate_on_submit() and speaker.photo_image is not None:
        events.remove_speaker_photo(speaker)
        audit.record_for_event(event, "agenda", utcnow(), speaker_photo_removed=speaker.name)
        db.session.commit()
        flash(_("The photo is removed."), "success")
    return redirect(
        url_for(
            "organiser.speaker_photo",
            event_id=event.id,
            session_id=session.id,
            speaker_id=speaker.id,
        )
    )
