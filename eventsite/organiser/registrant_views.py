"""Workspace views for registrations: questions, registrants, exports, emails, statistics."""

from __future__ import annotations

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
from flask_babel import ngettext
from flask_babel.speaklater import LazyString
from flask_login import current_user
from werkzeug.wrappers import Response

from eventsite import database
from eventsite.errors import DomainError, attach_to_form
from eventsite.events.models import Event
from eventsite.extensions import db, limiter
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
        bulk_actions=registrant_forms.BULK_ACTIONS,
        select_all=request.args.get("select") == "all",
    )


# The table's filters and page, carried through a confirmation page back to the table.
TABLE_ARGS = ("status", "q", "sort", "page")


def _table_args() -> dict[str, str]:
    return {k: v[:100] for k in TABLE_ARGS if (v := request.values.get(k))}


def _back_to_table(event: Event, registration: Registration | None = None) -> Response:
    """Back to the table as it was filtered, at the row that was acted on."""
    anchor = f"#r-{registration.id}" if registration is not None else ""
    return redirect(url_for("organiser.registrants", event_id=event.id, **_table_args()) + anchor)


Decision = Callable[[Registration, datetime], Any]

# Each action of a registrants row that acts at once: the registration service that takes
# it (and refuses what rules.allowed_actions does not allow), its name in the audit log,
# what is flashed. Cancelling and rejecting ask first (CONFIRMED_DECISIONS).
DECISIONS: dict[Action, tuple[Decision, str, LazyString]] = {
    Action.APPROVE: (
        registration_services.approve_registration,
        "approve",
        _l("Approved; they are told."),
    ),
    Action.PROMOTE: (
        registration_services.promote_registration,
        "promote",
        _l("Promoted; they are told."),
    ),
    Action.CHECK_IN: (registration_services.check_in, "check_in", _l("Checked in.")),
    Action.UNDO_CHECK_IN: (
        registration_services.undo_check_in,
        "check_in_undo",
        _l("Check-in undone."),
    ),
    Action.RESTORE: (
        registration_services.restore_registration,
        "restore_registration",
        _l("Registration restored; they are told their place is back."),
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


@bp.post("/events/<int:event_id>/registrants/<int:registration_id>/promote")
def promote_registration(event_id: int, registration_id: int) -> Response:
    return _decide(event_id, registration_id, Action.PROMOTE)


@bp.post("/events/<int:event_id>/registrants/<int:registration_id>/check-in")
def check_in(event_id: int, registration_id: int) -> Response:
    return _decide(event_id, registration_id, Action.CHECK_IN)


@bp.post("/events/<int:event_id>/registrants/<int:registration_id>/check-in/undo")
def undo_check_in(event_id: int, registration_id: int) -> Response:
    return _decide(event_id, registration_id, Action.UNDO_CHECK_IN)


@bp.post("/events/<int:event_id>/registrants/<int:registration_id>/restore")
def restore_registration(event_id: int, registration_id: int) -> Response:
    return _decide(event_id, registration_id, Action.RESTORE)


# --- cancelling and rejecting: confirmed first, with a reason for the person ---------------


def _cancel_by_organiser(registration: Registration, now: datetime, reason: str) -> Any:
    return registration_services.cancel_registration(
        registration, now, by_organiser=True, reason=reason
    )


def _reject(registration: Registration, now: datetime, reason: str) -> Any:
    return registration_services.reject_registration(registration, now, reason=reason)


ReasonedDecision = Callable[[Registration, datetime, str], Any]

# The destructive actions: the service, the audit log's name, what is flashed.
CONFIRMED_DECISIONS: dict[Action, tuple[ReasonedDecision, str, LazyString]] = {
    Action.CANCEL: (
        _cancel_by_organiser,
        "cancel_registration",
        _l(
            "Registration cancelled; they are told. “Undo cancellation” on its row gives "
            "the place back while it is free."
        ),
    ),
    Action.REJECT: (_reject, "reject", _l("Rejected; they are told.")),
}


def _reason(form: registrant_forms.DecisionForm | registrant_forms.BulkActionForm) -> str:
    return forms.plain_text(form.reason.data).strip()


def _decide_confirmed(event_id: int, registration_id: int, action: Action) -> Page:
    """GET: the confirmation page (who, what follows, a reason). POST acts only when its
    Confirm button was pressed; anything else shows the page again."""
    decide, log_as, done = CONFIRMED_DECISIONS[action]
    event = access.load_event(event_id)
    registration = access.load_registration(event, registration_id)
    form = registrant_forms.DecisionForm()
    if form.validate_on_submit() and form.confirm.data:
        database.lock_for_write()  # SQLite: see _decide
        now = utcnow()
        reason = _reason(form)
        try:
            decide(registration, now, reason)
        except DomainError as err:
            db.session.rollback()
            flash(str(err), "error")
        else:
            _log(
                event,
                log_as,
                now,
                registration=registration.id,
                email=registration.user.email,
                reason=reason,
            )
            db.session.commit()
            flash(str(done), "success")
        return _back_to_table(event, registration)
    return render_template(
        "organiser/registrant_decision.html",
        event=event,
        registration=registration,
        action=action,
        allowed=registration_rules.can(action, registration),
        status_labels=registrant_forms.STATUS_LABELS,
        form=form,
        table_args=_table_args(),
    ), 422 if form.errors else 200


@bp.route(
    "/events/<int:event_id>/registrants/<int:registration_id>/reject", methods=["GET", "POST"]
)
def reject_registration(event_id: int, registration_id: int) -> Page:
    return _decide_confirmed(event_id, registration_id, Action.REJECT)


@bp.route(
    "/events/<int:event_id>/registrants/<int:registration_id>/cancel", methods=["GET", "POST"]
)
def cancel_registration(event_id: int, registration_id: int) -> Page:
    return _decide_confirmed(event_id, registration_id, Action.CANCEL)


# --- bulk actions on the people ticked on the table ----------------------------------------


# What a bulk action does to each registration: the same service as the row's button.
def _approve(registration: Registration, now: datetime, _reason: str) -> Any:
    return registration_services.approve_registration(registration, now)


def _check_in(registration: Registration, now: datetime, _reason: str) -> Any:
    return registration_services.check_in(registration, now)


BULK: dict[str, tuple[Action, ReasonedDecision, str]] = {
    "approve": (Action.APPROVE, _approve, "approve"),
    "check_in": (Action.CHECK_IN, _check_in, "check_in"),
    "cancel": (Action.CANCEL, _cancel_by_organiser, "cancel_registration"),
}


def _bulk_done(action: str, n: int) -> str:
    if action == "approve":
        return ngettext("%(num)d approved", "%(num)d approved", n)
    if action == "check_in":
        return ngettext("%(num)d checked in", "%(num)d checked in", n)
    return ngettext("%(num)d cancelled", "%(num)d cancelled", n)


def _bulk_report(action: str, done: int, skipped: dict[str, int]) -> str:
    """ "3 approved, 1 skipped: Only a registration awaiting approval can be approved…" """
    report = _bulk_done(action, done)
    if skipped:
        reasons = "; ".join(
            reason if n == 1 else _("%(reason)s (%(num)d people)", reason=reason, num=n)
            for reason, n in skipped.items()
        )
        report = _(
            "%(done)s, %(skipped)s: %(reasons)s",
            done=report,
            skipped=ngettext("%(num)d skipped", "%(num)d skipped", sum(skipped.values())),
            reasons=reasons,
        )
    return report + "."


@bp.post("/events/<int:event_id>/registrants/bulk")
def bulk_registrants(event_id: int) -> Page:
    """The people ticked on the table and one action: a confirmation page naming them,
    then each goes through the row's service; those it refuses are skipped and said."""
    event = access.load_event(event_id)
    form = registrant_forms.BulkActionForm()
    chosen: list[Registration] = []
    if form.validate_on_submit():
        if form.action.data == "email":
            return redirect(
                url_for("organiser.email_registrants", event_id=event.id, ids=form.ids.data),
                303,
            )
        chosen = registrants.selected(event, form.ids.data)
        if not chosen:
            form.ids.errors.append(_("None of the selected people is registered for this event."))
        elif form.confirm.data:
            return _bulk_apply(event, form, chosen)
    action = BULK.get(form.action.data or "")
    allowed = {r.id: action is not None and registration_rules.can(action[0], r) for r in chosen}
    return render_template(
        "organiser/registrants_bulk.html",
        event=event,
        form=form,
        chosen=chosen,
        allowed=allowed,
        acting=[r for r in chosen if allowed[r.id]],
        action_label=registrant_forms.BULK_ACTIONS.get(form.action.data or "", ""),
        status_labels=registrant_forms.STATUS_LABELS,
        table_args=_table_args(),
    ), 422 if form.errors else 200


def _bulk_apply(
    event: Event, form: registrant_forms.BulkActionForm, chosen: list[Registration]
) -> Response:
    action, decide, log_as = BULK[form.action.data]
    database.lock_for_write()  # SQLite: see _decide
    now = utcnow()
    reason = _reason(form) if action == Action.CANCEL else ""
    done: list[int] = []
    skipped: dict[str, int] = {}
    for registration in chosen:
        try:
            decide(registration, now, reason)
        except DomainError as err:
            skipped[str(err)] = skipped.get(str(err), 0) + 1
            continue
        done.append(registration.id)
        details = {"reason": reason} if action == Action.CANCEL else {}
        _log(
            event,
            log_as,
            now,
            registration=registration.id,
            email=registration.user.email,
            bulk=True,
            **details,
        )
    _log(
        event,
        "bulk_action",
        now,
        applied=form.action.data,
        registrations=done,
        skipped=sum(skipped.values()),
        reason=reason,
    )
    db.session.commit()
    flash(_bulk_report(form.action.data, len(done), skipped), "success" if done else "error")
    return _back_to_table(event)


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
            flash(_("%(n)d messages are on their way.", n=sent), "success")
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
    return render_template(
        "organiser/statistics.html",
        event=event,
        days=days,
        chart=stats.chart(days),
        counts=queries.registration_counts([event.id]).get(event.id, {}),
        countries=stats.by_country(event),
        status_labels=registrant_forms.STATUS_LABELS,
    )
