"""Workspace views of the registrants table and the actions on its rows: one at a time,
cancelling and rejecting after a confirmation with a reason for the person, undoing an
organiser's cancellation, and one action for many people ticked on the table."""

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
    url_for,
)
from flask_babel.speaklater import LazyString
from flask_login import current_user
from werkzeug.wrappers import Response

from eventsite import database
from eventsite.errors import DomainError
from eventsite.events.models import Event
from eventsite.extensions import db
from eventsite.i18n import gettext as _
from eventsite.i18n import lazy_gettext as _l
from eventsite.i18n import ngettext
from eventsite.organiser import (
    access,
    audit,
    forms,
    queries,
    registrant_forms,
    registrants,
)
from eventsite.organiser.blueprint import bp
from eventsite.organiser.event_views import Page
from eventsite.registration import notifications as registration_notifications
from eventsite.registration import queries as registration_queries
from eventsite.registration import rules as registration_rules
from eventsite.registration import services as registration_services
from eventsite.registration.models import Registration
from eventsite.registration.rules import Action
from eventsite.timeutil import utcnow

# --- the registrants table ------------------------------------------------------------------


@bp.get("/events/<int:event_id>/registrants", endpoint="registrants")
def registrants_page(event_id: int) -> Page:
    event = access.load_event(event_id)
    filters = registrants.RegistrantFilters.parse(request.args)
    # Per status, for the tabs: and the page's total when no search narrows the table.
    counts = queries.registration_counts([event.id]).get(event.id, {})
    page = registrants.paginate(
        event,
        filters,
        counts,
        queries.page_number(request.args),
        current_app.config["ORGANISER_REGISTRANTS_PER_PAGE"],
    )
    items = list(page.items)
    return render_template(
        "organiser/registrants.html",
        event=event,
        page=page,
        registrations=items,
        ranks=registration_queries.waitlist_ranks(items),
        filters=filters,
        counts=counts,
        status_labels=registrant_forms.STATUS_LABELS,
        allowed_actions=registration_rules.allowed_actions,
        bulk_actions=registrant_forms.BULK_ACTIONS,
        select_all=request.args.get("select") == "all",
        hold_note=registration_notifications.hold_note,
        now=utcnow(),
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


def _check_in_by_me(registration: Registration, now: datetime) -> Any:
    return registration_services.check_in(registration, now, by=current_user)


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
    Action.CHECK_IN: (_check_in_by_me, "check_in", _l("Checked in.")),
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
            audit.record_for_event(
                event, log_as, now, registration=registration.id, email=registration.user.email
            )
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
            audit.record_for_event(
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
    return _check_in_by_me(registration, now)


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
            reason
            if n == 1
            else ngettext(
                "%(reason)s (%(num)d person)", "%(reason)s (%(num)d people)", n, reason=reason
            )
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
        if form.action.data in ("email", "badges"):
            page = "email_registrants" if form.action.data == "email" else "badges"
            return redirect(url_for(f"organiser.{page}", event_id=event.id, ids=form.ids.data), 303)
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
        audit.record_for_event(
            event,
            log_as,
            now,
            registration=registration.id,
            email=registration.user.email,
            bulk=True,
            **details,
        )
    audit.record_for_event(
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
