"""Registering for an event, and managing one's registration."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.blueprints import BlueprintSetupState
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from eventsite import database, page_cache
from eventsite.accounts.models import User
from eventsite.events import queries as events_queries
from eventsite.events.models import Event, EventStatus
from eventsite.extensions import db
from eventsite.registration import answers, forms, notifications, queries, rules, services
from eventsite.registration.models import Registration, RegistrationStatus
from eventsite.timeutil import utcnow

bp = Blueprint("registration", __name__)


# --- helpers -------------------------------------------------------------------------------------


def _published_event_or_404(slug: str) -> Event:
    if not events_queries.usable_slug(slug):
        abort(404)
    event = db.session.scalar(select(Event).where(Event.slug == slug))
    if event is None or event.status != EventStatus.PUBLISHED:
        abort(404)
    return event


def _event_page(event: Event) -> str:
    return url_for("events.detail", slug=event.slug)


def _can_see(user: User, registration: Registration) -> bool:
    return user.id == registration.user_id or user.is_member_of(registration.event.organisation_id)


def _registration_or_404(public_id: str) -> Registration:
    registration = db.first_or_404(select(Registration).where(Registration.public_id == public_id))
    if not _can_see(current_user, registration):
        abort(404)  # not 403: do not reveal that the registration exists
    return registration


def _own_registration_or_404(public_id: str) -> Registration:
    registration = _registration_or_404(public_id)
    if registration.user_id != current_user.id:
        abort(404)
    return registration


# --- template helpers for the event page and the account page -----------------------------------


def _event_page_shows_places_left(state: BlueprintSetupState) -> None:
    # The event page shows registration_box: its cached copy holds while the counts do.
    page_cache.add_stamp(state.app, "events.detail", queries.event_page_stamp)


bp.record_once(_event_page_shows_places_left)

# The pages that list event cards (the listing and its topic and organisation versions).
LISTING_ENDPOINTS = ("events.home", "events.listing", "events.topic", "events.organisation")


def _cards_show_places_left(state: BlueprintSetupState) -> None:
    # Each card says "6 places left" or "Full": a cached listing holds while no
    # registration is added or changed.
    for endpoint in LISTING_ENDPOINTS:
        page_cache.add_stamp(state.app, endpoint, queries.listing_stamp)


bp.record_once(_cards_show_places_left)


@bp.app_template_global()
def card_registration(events: list[Event]) -> dict[int, rules.CardState | None]:
    """What each listing card says about registering, by event id: the event page's rules
    and counts, read for the whole page in one grouped query."""
    now = utcnow()
    counts = queries.count_places_by_event(events)
    return {event.id: rules.card_state(event, now, counts[event.id]) for event in events}


@bp.app_template_global()
def registration_box(event: Event) -> dict[str, Any]:
    """What the event page's registration box shows."""
    state = rules.registration_state(event, utcnow(), queries.count_places(event))
    mine = None
    rank = None
    if current_user.is_authenticated:
        mine = queries.get_active_registration(event, current_user)
        if mine is not None:
            rank = queries.waitlist_rank(mine)
    return {
        "state": state,
        "registration": mine,
        "rank": rank,
        "status_label": notifications.status_label(mine.status) if mine else "",
        "register_url": url_for("registration.register", slug=event.slug),
    }


@bp.app_template_global()
def my_registrations(user: User) -> dict[str, Any]:
    """The account page's "My events": registrations for events still to come (soonest
    first) and for events that have ended (most recent first), each with its status and,
    while it still matters, its place on the waiting list: two queries however many."""
    now = utcnow()
    registrations = queries.registrations_for_user(user)  # latest event first
    upcoming = [r for r in reversed(registrations) if not r.event.has_ended(now)]
    past = [r for r in registrations if r.event.has_ended(now)]
    ranks = queries.waitlist_ranks(upcoming)

    def rows(items: list[Registration]) -> list[dict[str, Any]]:
        return [
            {
                "registration": r,
                "event": r.event,
                "status": str(r.status),
                "status_label": notifications.status_label(r.status),
                "rank": ranks.get(r.id),
            }
            for r in items
        ]

    return {"upcoming": rows(upcoming), "past": rows(past), "count": len(registrations)}


# --- registering -------------------------------------------------------------------------------


@bp.route("/events/<slug>/register", methods=["GET", "POST"])
@login_required
def register(slug: str) -> Any:
    if request.method == "POST":
        # On SQLite the places are counted under the write lock (a POST began with it; the
        # call says so here, before the event is read).
        database.lock_for_write()
    event = _published_event_or_404(slug)
    if request.method == "GET":
        existing = queries.get_active_registration(event, current_user)
        if existing is not None:
            return redirect(url_for("registration.detail", public_id=existing.public_id))

    questions = queries.questions_for_event(event)
    form = forms.registration_form_for(questions)
    if request.method == "POST":
        if form.is_bot():
            # Refused quietly: a bot learns nothing from the answer.
            db.session.rollback()
            flash(_("Thank you."), "info")
            return redirect(_event_page(event))
        if form.validate_on_submit():
            now = utcnow()
            try:
                registration = services.register_attendee(
                    current_user, event, form.answers(), now, questions=questions
                )
            except rules.RegistrationError as err:
                db.session.rollback()
                if err.field and err.field in form:
                    form[err.field].errors = [*form[err.field].errors, str(err)]
                else:
                    flash(str(err), "error")
            else:
                public_id = registration.public_id
                if registration.created_at != now:
                    message = _("You are already registered for this event.")
                else:
                    message = _confirmation_message(registration)
                db.session.commit()
                flash(message, "success")
                return redirect(url_for("registration.detail", public_id=public_id))
        db.session.rollback()  # let go of the write lock before rendering
    state = rules.registration_state(event, utcnow(), queries.count_places(event))
    return render_template(
        "registration/form.html", event=event, form=form, state=state, user=current_user
    ), 422 if request.method == "POST" else 200


def _confirmation_message(registration: Registration) -> str:
    if registration.status == RegistrationStatus.WAITLISTED:
        return _(
            "The event is full: you are on the waiting list. We will email you if a place frees up."
        )
    if registration.status == RegistrationStatus.PENDING:
        return _("Thank you. The organisers will confirm your registration; we will email you.")
    return _("You are registered. A confirmation is on its way to your inbox.")


# --- managing ----------------------------------------------------------------------------------


@bp.get("/registrations/<int:registration_id>")
@login_required
def detail_by_id(registration_id: int) -> Any:
    """The address emails carried before registrations had a public id: it still takes
    the registration's own person there; for anyone else it is a 404, as before."""
    registration = db.session.get(Registration, registration_id)
    if registration is None or registration.user_id != current_user.id:
        abort(404)
    return redirect(url_for("registration.detail", public_id=registration.public_id), 301)


@bp.get("/registrations/<public_id>")
@login_required
def detail(public_id: str) -> Any:
    registration = _registration_or_404(public_id)
    now = utcnow()
    return render_template(
        "registration/detail.html",
        registration=registration,
        event=registration.event,
        is_owner=registration.user_id == current_user.id,
        rank=queries.waitlist_rank(registration),
        answers=answers.answer_rows(registration),
        status_label=notifications.status_label(registration.status),
        can_edit=services.can_edit_answers(registration, now),
        deadline=registration.event.effective_edit_deadline(),
    )


@bp.route("/registrations/<public_id>/edit", methods=["GET", "POST"])
@login_required
def edit(public_id: str) -> Any:
    registration = _own_registration_or_404(public_id)
    event = registration.event
    questions = queries.questions_for_event(event)
    if request.method == "POST":
        form = forms.registration_form_for(questions)
    else:
        form = forms.registration_form_for(questions, data=answers.form_values(registration))
    now = utcnow()
    if not services.can_edit_answers(registration, now):
        flash(_("Answers can no longer be changed for this registration."), "error")
        return redirect(url_for("registration.detail", public_id=registration.public_id))
    status = 200
    if request.method == "POST":
        status = 422
        if form.validate_on_submit():
            try:
                services.update_answers(registration, form.answers(), now)
            except rules.RegistrationError as err:
                db.session.rollback()
                if err.field and err.field in form:
                    form[err.field].errors = [*form[err.field].errors, str(err)]
                else:
                    flash(str(err), "error")
            else:
                db.session.commit()
                flash(_("Your answers are saved."), "success")
                return redirect(url_for("registration.detail", public_id=registration.public_id))
    return render_template(
        "registration/edit.html",
        registration=registration,
        event=event,
        form=form,
        user=registration.user,
    ), status


@bp.route("/registrations/<public_id>/cancel", methods=["GET", "POST"])
@login_required
def cancel(public_id: str) -> Any:
    form = forms.CancelRegistrationForm()
    if request.method == "POST" and form.validate_on_submit():
        database.lock_for_write()
    registration = _own_registration_or_404(public_id)
    if not registration.is_active:
        flash(_("This registration is already cancelled."), "info")
        return redirect(url_for("registration.detail", public_id=registration.public_id))
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        try:
            services.cancel_registration(registration, utcnow())
        except rules.RegistrationError as err:  # cancelled meanwhile, in another tab
            db.session.rollback()
            flash(str(err), "info")
        else:
            db.session.commit()
            flash(_("Your registration is cancelled."), "success")
        return redirect(url_for("registration.detail", public_id=registration.public_id))
    return render_template(
        "registration/cancel.html",
        registration=registration,
        event=registration.event,
        form=form,
        status_label=notifications.status_label(registration.status),
    )
