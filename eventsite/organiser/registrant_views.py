"""Workspace views for registrations: questions, exports, emails, statistics (the
registrants table and its actions: `registrant_table_views`)."""

from __future__ import annotations

from collections.abc import Callable

from flask import (
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user
from werkzeug.wrappers import Response

from eventsite.errors import DomainError, attach_to_form
from eventsite.extensions import db, limiter
from eventsite.i18n import gettext as _
from eventsite.i18n import ngettext
from eventsite.mail import mime
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
from eventsite.registration.models import Question, QuestionKind
from eventsite.timeutil import utcnow

# --- the form builder ---------------------------------------------------------------------


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
            audit.record_for_event(
                event, "question_add", now, question=question.label, kind=question.kind
            )
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
                audit.record_for_event(
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
                audit.record_for_event(event, log_as, utcnow(), question=question.label)
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


# --- exports --------------------------------------------------------------------------------


def _export(event_id: int, kind: str) -> Response:
    event = access.load_event(event_id)
    status = request.args.get("status", "all")
    if status not in registrants.STATUS_FILTERS:
        status = "all"
    audit.record_for_event(
        event,
        "export",
        utcnow(),
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
    return request.method == "POST" and "confirm" in request.form


@bp.route("/events/<int:event_id>/email", methods=["GET", "POST"])
@limiter.limit(
    _email_limit,
    key_func=_per_account,
    exempt_when=lambda: not _is_send(),
    deduct_when=lambda response: response.status_code in (302, 303),
)
def email_registrants(event_id: int) -> Page:
    """Write, preview (the message exactly as sent, built by registrants.compose_message),
    confirm ("Send to 37 people?"), send. People ticked on the table arrive as ?ids=."""
    event = access.load_event(event_id)
    form = registrant_forms.EmailRegistrantsForm()
    if request.method == "GET" and "ids" in request.args:  # from the table's bulk action
        form.ids.process_formdata(request.args.getlist("ids"))
        form.status.data = registrants.SELECTED
    # Counted before the form is validated: only a status the table knows reaches the query.
    status = form.status.data
    if status not in (*registrants.STATUS_FILTERS, registrants.SELECTED):
        status = "confirmed"
    ids = form.ids.data if not form.ids.invalid else []
    count = registrants.recipient_count(event, status, ids)
    preview = None
    if form.validate_on_submit():
        subject = form.subject.data.strip()
        body = forms.plain_text(form.body.data)
        url = registration_notifications.event_url(event)
        if form.confirm.data:
            sent = registrants.email_registrants(
                event, status, subject, body, current_user, utcnow(),
                event_url=url, registration_ids=ids,
            )  # fmt: skip
            db.session.commit()
            flash(
                ngettext(
                    "%(num)d message is on its way.", "%(num)d messages are on their way.", sent
                ),
                "success",
            )
            return redirect(url_for("organiser.email_registrants", event_id=event.id))
        addressee = registrants.first_recipient(event, status, ids) or current_user
        message = registrants.compose_message(event, addressee, subject, body, event_url=url)
        preview = {
            "message": message,
            "from": str(
                mime.from_header(current_app.config["MAIL_DEFAULT_SENDER"], message.from_name)
            ),
            "to": addressee,
        }
    return render_template(
        "organiser/email.html",
        event=event,
        form=form,
        count=count,
        preview=preview,
        confirming=preview is not None and bool(form.send.data),
    ), 422 if form.errors else 200


# --- statistics -----------------------------------------------------------------------------


@bp.get("/events/<int:event_id>/statistics")
def statistics(event_id: int) -> Page:
    event = access.load_event(event_id)
    days = stats.registrations_per_day(event)
    counts = queries.registration_counts([event.id]).get(event.id, {})
    return render_template(
        "organiser/statistics.html",
        event=event,
        days=days,
        chart=stats.chart(days),
        counts=counts,
        capacity=stats.capacity(event, counts),
        breakdowns=stats.answer_breakdowns(event),
        countries=stats.by_country(event),
        status_labels=registrant_forms.STATUS_LABELS,
    )
