"""Workspace views for registrations: questions, registrants, exports, emails, statistics."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import (
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from flask_login import current_user
from werkzeug.wrappers import Response

from eventsite import database
from eventsite.errors import DomainError, attach_to_form
from eventsite.events.models import Event
from eventsite.extensions import db, limiter
from eventsite.organiser import (
    access,
    audit,
    exports,
    forms,
    queries,
    registrant_forms,
    registrants,
    stats,
)
from eventsite.organiser.blueprint import bp
from eventsite.organiser.event_views import Page
from eventsite.registration import notifications as registration_notifications
from eventsite.registration import queries as registration_queries
from eventsite.registration import questions as registration_questions
from eventsite.registration import rules as registration_rules
from eventsite.registration import services as registration_services
from eventsite.registration.models import Question, QuestionKind, Registration
from eventsite.registration.rules import Action
from eventsite.timeutil import utcnow

# --- the form builder ---------------------------------------------------------------------


def _log(event: Event, action: str, now: datetime, **details: Any) -> None:
    audit.record(
        action,
        organisation_id=event.organisation_id,
        event_id=event.id,
        actor=current_user,
        now=now,
        **details,
    )


def _question_values(form: registrant_forms.QuestionForm) -> registration_questions.QuestionValues:
    return registration_questions.QuestionValues(
        label=form.label.data.strip(),
        kind=QuestionKind(form.kind.data),
        help_text=forms.plain_text(form.help_text.data).strip(),
        is_required=bool(form.is_required.data),
        options=tuple(form.option_list()),
    )


@bp.route("/events/<int:event_id>/questions", methods=["GET", "POST"])
def questions(event_id: int) -> Page:
    event = access.load_event(event_id)
    form = registrant_forms.QuestionForm()
    if form.validate_on_submit():
        now = utcnow()
        try:
            question = registration_questions.add_question(event, _question_values(form), now)
        except DomainError as err:
            db.session.rollback()
            attach_to_form(form, err)
        else:
            _log(event, "question_add", now, question=question.label, kind=question.kind)
            db.session.commit()
            flash(_("Question “%(label)s” added.", label=question.label), "success")
            return redirect(url_for("organiser.questions", event_id=event.id))
    return render_template(
        "organiser/questions.html",
        event=event,
        questions=registration_queries.questions_for_event(event, include_removed=True),
        form=form,
        kind_labels=registrant_forms.QUESTION_KIND_LABELS,
    ), 422 if form.errors else 200


@bp.route("/events/<int:event_id>/questions/<int:question_id>", methods=["GET", "POST"])
def edit_question(event_id: int, question_id: int) -> Page:
    event = access.load_event(event_id)
    question = access.load_question(event, question_id)
    if request.method == "POST":
        form = registrant_forms.QuestionForm()
    else:
        form = registrant_forms.QuestionForm(obj=question)
        form.options.data = "\n".join(question.options or [])
    if form.validate_on_submit():
        try:
            changed = registration_questions.update_question(question, _question_values(form))
        except DomainError as err:
            db.session.rollback()
            attach_to_form(form, err)
        else:
            if changed:
                _log(
                    event,
                    "question_edit",
                    utcnow(),
                    question=question.label,
                    changes=audit.changes_detail(changed),
                )
            db.session.commit()
            flash(_("Question saved."), "success")
            return redirect(url_for("organiser.questions", event_id=event.id))
    return render_template(
        "organiser/question.html", event=event, question=question, form=form
    ), 422 if form.errors else 200


def _question_action(
    event_id: int, question_id: int, change: Callable[[Question], bool], log_as: str
) -> Response:
    """Apply `change` (True when it changed the form) and log it as `log_as`."""
    event = access.load_event(event_id)
    question = access.load_question(event, question_id)
    if forms.ActionForm().validate_on_submit():
        try:
            changed = change(question)
        except DomainError as err:
            db.session.rollback()
            flash(str(err), "error")
        else:
            if changed:
                _log(event, log_as, utcnow(), question=question.label)
            db.session.commit()
    return redirect(url_for("organiser.questions", event_id=event.id))


@bp.post("/events/<int:event_id>/questions/<int:question_id>/move")
def move_question(event_id: int, question_id: int) -> Response:
    direction = {"up": -1, "down": 1}.get(request.form.get("direction", ""))
    if direction is None:
        flash(_("Say whether to move the question up or down."), "error")
        access.load_question(access.load_event(event_id), question_id)
        return redirect(url_for("organiser.questions", event_id=event_id))

    def move(question: Question) -> bool:
        registration_questions.move_question(question, direction)
        return True

    return _question_action(event_id, question_id, move, "question_move")


@bp.post("/events/<int:event_id>/questions/<int:question_id>/remove")
def remove_question(event_id: int, question_id: int) -> Response:
    return _question_action(
        event_id, question_id, registration_questions.remove_question, "question_remove"
    )


@bp.post("/events/<int:event_id>/questions/<int:question_id>/restore")
def restore_question(event_id: int, question_id: int) -> Response:
    return _question_action(
        event_id, question_id, registration_questions.restore_question, "question_restore"
    )


# --- the registrants table ------------------------------------------------------------------


@bp.get("/events/<int:event_id>/registrants", endpoint="registrants")
def registrants_page(event_id: int) -> Page:
    event = access.load_event(event_id)
    filters = registrants.RegistrantFilters.parse(request.args)
    page = db.paginate(
        registrants.registrants(event, filters),
        page=queries.page_number(request.args),
        per_page=current_app.config["ORGANISER_REGISTRANTS_PER_PAGE"],
        error_out=False,
    )
    items = list(page.items)
    return render_template(
        "organiser/registrants.html",
        event=event,
        page=page,
        registrations=items,
        ranks=registration_queries.waitlist_ranks(items),
        filters=filters,
        counts=queries.registration_counts([event.id]).get(event.id, {}),
        status_labels=registrant_forms.STATUS_LABELS,
        allowed_actions=registration_rules.allowed_actions,
        hold_note=registration_notifications.hold_note,
        now=utcnow(),
        action_form=forms.ActionForm(),
    )


def _back_to_table(event: Event, registration: Registration) -> Response:
    """Back to the table as it was filtered, at the row that was acted on."""
    args = {k: v for k in ("status", "q", "sort", "page") if (v := request.form.get(k))}
    return redirect(
        url_for("organiser.registrants", event_id=event.id, **args) + f"#r-{registration.id}"
    )


Decision = Callable[[Registration, datetime], Any]

# Each action of a registrants row: the registration service that takes it (and refuses
# what rules.allowed_actions does not allow), its name in the audit log, what is flashed.
DECISIONS: dict[Action, tuple[Decision, str, LazyString]] = {
    Action.APPROVE: (
        registration_services.approve_registration,
        "approve",
        _l("Approved; they are told."),
    ),
    Action.REJECT: (
        registration_services.reject_registration,
        "reject",
        _l("Rejected; they are told."),
    ),
    Action.PROMOTE: (
        registration_services.promote_registration,
        "promote",
        _l("Promoted; they are told."),
    ),
    Action.CANCEL: (
        functools.partial(registration_services.cancel_registration, by_organiser=True),
        "cancel_registration",
        _l("Registration cancelled."),
    ),
    Action.CHECK_IN: (registration_services.check_in, "check_in", _l("Checked in.")),
    Action.UNDO_CHECK_IN: (
        registration_services.undo_check_in,
        "check_in_undo",
        _l("Check-in undone."),
    ),
}


def _decide(event_id: int, registration_id: int, action: Action) -> Response:
    decide, log_as, done = DECISIONS[action]
    event = access.load_event(event_id)
    registration = access.load_registration(event, registration_id)
    if forms.ActionForm().validate_on_submit():
        # SQLite: hold the write lock before the service counts places.
        database.lock_for_write()
        now = utcnow()
        try:
            decide(registration, now)
        except DomainError as err:
            db.session.rollback()
            flash(str(err), "error")
        else:
            _log(event, log_as, now, registration=registration.id, email=registration.user.email)
            db.session.commit()
            flash(str(done), "success")
    return _back_to_table(event, registration)


@bp.post("/events/<int:event_id>/registrants/<int:registration_id>/approve")
def approve_registration(event_id: int, registration_id: int) -> Response:
    return _decide(event_id, registration_id, Action.APPROVE)


@bp.post("/events/<int:event_id>/registrants/<int:registration_id>/reject")
def reject_registration(event_id: int, registration_id: int) -> Response:
    return _decide(event_id, registration_id, Action.REJECT)


@bp.post("/events/<int:event_id>/registrants/<int:registration_id>/promote")
def promote_registration(event_id: int, registration_id: int) -> Response:
    return _decide(event_id, registration_id, Action.PROMOTE)


@bp.post("/events/<int:event_id>/registrants/<int:registration_id>/cancel")
def cancel_registration(event_id: int, registration_id: int) -> Response:
    return _decide(event_id, registration_id, Action.CANCEL)


@bp.post("/events/<int:event_id>/registrants/<int:registration_id>/check-in")
def check_in(event_id: int, registration_id: int) -> Response:
    return _decide(event_id, registration_id, Action.CHECK_IN)


@bp.post("/events/<int:event_id>/registrants/<int:registration_id>/check-in/undo")
def undo_check_in(event_id: int, registration_id: int) -> Response:
    return _decide(event_id, registration_id, Action.UNDO_CHECK_IN)


# --- exports --------------------------------------------------------------------------------


def _export(event_id: int, kind: str) -> Response:
    event = access.load_event(event_id)
    status = request.args.get("status", "all")
    if status not in registrants.STATUS_FILTERS:
        status = "all"
    audit.record(
        "export",
        organisation_id=event.organisation_id,
        event_id=event.id,
        actor=current_user,
        now=utcnow(),
        format=kind,
        status=status,
        rows=exports.count(event, status),
    )
    db.session.commit()
    event = access.load_event(event_id)
    filename = f"{event.slug}-registrants.{kind}"
    if kind == "csv":
        body = stream_with_context(exports.csv_chunks(event, status))
        mimetype = "text/csv; charset=utf-8"
    else:
        body = stream_with_context(exports.xlsx_chunks(event, status))
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/events/<int:event_id>/registrants.csv")
def export_csv(event_id: int) -> Response:
    return _export(event_id, "csv")


@bp.get("/events/<int:event_id>/registrants.xlsx")
def export_xlsx(event_id: int) -> Response:
    return _export(event_id, "xlsx")


# --- email to registrants -------------------------------------------------------------------


def _email_limit() -> str:
    return current_app.config["RATELIMIT_ORGANISER_EMAIL"]


def _per_account() -> str:
    return f"organiser-email:{current_user.id}"


def _is_send() -> bool:
    return request.method == "POST" and "send" in request.form


@bp.route("/events/<int:event_id>/email", methods=["GET", "POST"])
@limiter.limit(
    _email_limit,
    key_func=_per_account,
    exempt_when=lambda: not _is_send(),
    deduct_when=lambda response: response.status_code in (302, 303),
)
def email_registrants(event_id: int) -> Page:
    event = access.load_event(event_id)
    form = registrant_forms.EmailRegistrantsForm()
    # Counted before the form is validated: only a status the table knows reaches the query.
    status = form.status.data if form.status.data in registrants.STATUS_FILTERS else "confirmed"
    count = registrants.recipient_count(event, status)
    preview = None
    if form.validate_on_submit():
        if form.send.data:
            sent = registrants.email_registrants(
                event,
                form.status.data,
                form.subject.data.strip(),
                forms.plain_text(form.body.data),
                current_user,
                utcnow(),
                event_url=registration_notifications.event_url(event),
            )
            db.session.commit()
            flash(_("%(n)d messages are on their way.", n=sent), "success")
            return redirect(url_for("organiser.email_registrants", event_id=event.id))
        preview = {"subject": form.subject.data.strip(), "body": form.body.data}
    return render_template(
        "organiser/email.html", event=event, form=form, count=count, preview=preview
    ), 422 if form.errors else 200


# --- statistics -----------------------------------------------------------------------------


@bp.get("/events/<int:event_id>/statistics")
def statistics(event_id: int) -> Page:
    event = access.load_event(event_id)
    days = stats.registrations_per_day(event)
    return render_template(
        "organiser/statistics.html",
        event=event,
        days=days,
        chart=stats.chart(days),
        counts=queries.registration_counts([event.id]).get(event.id, {}),
        countries=stats.by_country(event),
        status_labels=registrant_forms.STATUS_LABELS,
    )
