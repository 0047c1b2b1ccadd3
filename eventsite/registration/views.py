"""Registering for an event, and managing one's registration."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.blueprints import BlueprintSetupState
from flask_login import current_user, login_required, login_user
from sqlalchemy import select

from eventsite import database, page_cache
from eventsite.accounts import profile as accounts_profile
from eventsite.accounts.models import User
from eventsite.errors import DomainError
from eventsite.events import queries as events_queries
from eventsite.events.cards import CardFacts
from eventsite.events.models import Event, EventStatus
from eventsite.extensions import db, limiter
from eventsite.i18n import gettext as _
from eventsite.registration import (
    answers,
    forms,
    holds,
    notifications,
    queries,
    rules,
    services,
    tickets,
)
from eventsite.registration.models import Question, Registration, RegistrationStatus
from eventsite.timeutil import utcnow

bp = Blueprint("registration", __name__)


# --- helpers -------------------------------------------------------------------------------------


def _published_event_or_404(slug: str) -> Event:
    # The event page's own read (straight from the driver where nothing was read before).
    event = events_queries.get_public_event_and_stamp_or_404(slug)
    if event.status != EventStatus.PUBLISHED:
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


def _registration_box_for_the_visitor(view_args: Mapping[str, Any]) -> str:
    slug = view_args["slug"]
    if current_user.is_authenticated and events_queries.usable_slug(slug):
        mine = queries.get_active_registration_on_event_page(slug, current_user)
        if mine is not None:
            # Someone registered: the box shows their registration, nothing of the event.
            return render_template("registration/_box.html", event=None, box=own_box(mine))
    event = events_queries.get_public_event_alone_or_404(slug)
    box = registration_box(event, None, looked_up=True)
    return render_template("registration/_box.html", event=event, box=box)


def _registration_box_is_a_hole(state: BlueprintSetupState) -> None:
    # Someone logged in sees their own registration in the box (page_cache.holes).
    page_cache.add_hole(state.app, "registration-box", _registration_box_for_the_visitor)


bp.record_once(_registration_box_is_a_hole)

# The pages that list event cards (the listing and its topic and organisation versions).
LISTING_ENDPOINTS = ("events.home", "events.listing", "events.topic", "events.organisation")


def _cards_show_places_left(state: BlueprintSetupState) -> None:
    # Each card says "6 places left" or "Full": a cached listing holds while no
    # registration is added or changed.
    for endpoint in LISTING_ENDPOINTS:
        page_cache.add_stamp(state.app, endpoint, queries.listing_stamp)


bp.record_once(_cards_show_places_left)


@bp.app_template_global()
def card_registration(
    events: list[Event | CardFacts],
) -> dict[int, rules.CardState | None]:
    """What each listing card says about registering, by event id: the event page's rules
    and counts, read for the whole page in one grouped query (for the cards that say how
    many places are left; a page of past or closed events reads none)."""
    now = utcnow()
    counted = [event for event in events if rules.reads_place_counts(event, now)]
    counts = queries.count_places_by_event(counted, now) if counted else {}
    unread = queries.PlaceCounts()  # not read (`reads_place_counts`)
    return {
        event.id: rules.card_state(event, now, counts.get(event.id, unread)) for event in events
    }


@bp.app_template_global()
def registration_box(
    event: Event, mine: Registration | None = None, *, looked_up: bool = False
) -> dict[str, Any]:
    """What the event page's registration box shows: the visitor's own registration, or
    (only then: the places are counted for it) how registration stands. `looked_up`: the
    caller read the visitor's registration already (`mine`, or None for none)."""
    if current_user.is_authenticated and not looked_up:
        mine = queries.get_active_registration(event, current_user)
    if mine is not None:
        return own_box(mine)
    now = utcnow()
    # Counted only where the words say how many places are left.
    if rules.reads_place_counts(event, now):
        counts = queries.count_places(event, now)
    else:
        counts = queries.PlaceCounts()
    return {
        "state": rules.registration_state(event, now, counts),
        "registration": None,
        "rank": None,
        "status_label": "",
        "register_url": url_for("registration.register", slug=event.slug),
    }


def own_box(mine: Registration) -> dict[str, Any]:
    """The registration box of someone registered: their registration's state."""
    return {
        "state": None,
        "registration": mine,
        "rank": queries.waitlist_rank(mine),
        "status_label": notifications.status_label(mine.status),
        "register_url": None,
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

    def rows(items: list[queries.ListedRegistration]) -> list[dict[str, Any]]:
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


@bp.app_template_global()
def ticket_qr(registration: Registration) -> Any:
    """The ticket's QR code as inline SVG (a page's ticket block)."""
    return tickets.qr_svg(registration)


@bp.app_template_global()
def ticket_code(registration: Registration) -> str:
    """ "ABCD-2345": the code as a person reads it out."""
    return tickets.display_code(registration)


# --- registering -------------------------------------------------------------------------------


@bp.route("/events/<slug>/register", methods=["GET", "POST"])
# On SQLite the POST reads the person, the event and the questions, and checks the answers,
# before it takes the write lock (`_register`): other registrations wait for less.
@database.reads_before_locking
def register(slug: str) -> Any:
    # The person, not Flask-Login's proxy: each of the proxy's attributes is a lookup. Read
    # first: the catalogue's stamp comes with them, and the event is then kept by it.
    if current_user.is_authenticated:
        # Not limited, and not through the limiter at all: finding out that a limit exempts
        # them was 3 % of a member's registration (callgrind).
        return _registration_form(slug, current_user._get_current_object())
    return _visitors_registration_form(slug)


# Only a visitor's POST makes accounts and sends mail to any address: limited per IP. The
# limit is on this function, which only the view calls (Flask-Limiter knows it by the
# endpoint it runs under).
@limiter.limit(lambda: current_app.config["RATELIMIT_REGISTER"], methods=["POST"])
def _visitors_registration_form(slug: str) -> Any:
    return _registration_form(slug, None)


def _registration_form(slug: str, user: User | None) -> Any:
    """The registration form, and its submission: `user` logged in, or None (a visitor)."""
    event = _published_event_or_404(slug)
    if user is not None and request.method == "GET":
        existing = queries.get_active_registration(event, user)
        if existing is not None:
            return redirect(url_for("registration.detail", public_id=existing.public_id))

    questions = queries.questions_for_event(event)
    if user is None:
        form = forms.registration_form_for(questions, person=forms.Person.NEWCOMER)
    else:
        profile = {"name": user.name, "affiliation": user.affiliation, "country": user.country}
        form = forms.registration_form_for(questions, person=forms.Person.MEMBER, data=profile)
    if request.method == "POST":
        if form.is_bot():
            # Refused quietly: a bot learns nothing from the answer.
            db.session.rollback()
            flash(_("Thank you."), "info")
            return redirect(_event_page(event))
        if form.validate_on_submit():
            try:
                return _register(event, user, form, questions)
            except DomainError as err:
                db.session.rollback()
                if err.field and err.field in form:
                    form[err.field].errors = [*form[err.field].errors, str(err)]
                else:
                    flash(str(err), "error")
        db.session.rollback()  # let go of the write lock before rendering
    now = utcnow()
    state = rules.registration_state(event, now, queries.count_places(event, now))
    return render_template(
        "registration/form.html", event=event, form=form, state=state, user=user
    ), 422 if request.method == "POST" else 200


def _register(
    event: Event, user: User | None, form: forms.RegistrationForm, questions: list[Question]
) -> Any:
    """The valid form's submission: a DomainError says why not (the caller shows it)."""
    # SQLite: the places are counted under the write lock; what was read before is kept,
    # and the service checks the event's row (its capacity, its state) under the lock.
    database.lock_for_write(keep_loaded=True)
    now = utcnow()
    if user is None:
        address = form.email.data.strip()
        person = holds.Person(
            name=form.name.data.strip(),
            email=address,
            affiliation=(form.affiliation.data or "").strip(),
            country=form.country.data or None,
        )
        holds.register_newcomer(person, event, form.answers(), now, questions=questions)
        db.session.commit()
        return _check_your_email(event, address, now)
    changed = (
        form.name.data.strip(),
        (form.affiliation.data or "").strip(),
        form.country.data or None,
    ) != (user.name, user.affiliation or "", user.country)
    if changed and not form.update_profile.data:
        # The organisers read the person's details from the profile: changes that would
        # not be kept are refused rather than dropped.
        raise DomainError(
            _(
                "You changed your details: tick “Also update my profile” to keep them "
                "(the organisers see your profile), or put them back."
            ),
            field="update_profile",
        )
    if form.update_profile.data:
        accounts_profile.update_profile(
            user,
            name=form.name.data,
            affiliation=form.affiliation.data or "",
            country=form.country.data or None,
        )
    if not user.is_verified:
        registration = holds.hold_for_member(user, event, form.answers(), now, questions=questions)
    else:
        registration = services.register_attendee(
            user, event, form.answers(), now, questions=questions
        )
    public_id = registration.public_id
    if registration.created_at != now:
        outcome = REGISTERED_BEFORE
    elif registration.is_held:
        db.session.commit()
        return _check_your_email(event, user.email, now)
    else:
        outcome = REGISTERED_NOW
    # Nothing is read after it: the event's places, which the database's triggers changed,
    # were never loaded into the event.
    database.commit_keeping_loaded()
    # The outcome goes in the address, not in a flashed message: the registration's page
    # says it (as pretix's order page after `?thanks=yes`), and this POST, the busiest one,
    # does not write the session cookie again (a twentieth of its time).
    return redirect(url_for("registration.detail", public_id=public_id, registered=outcome))


def _check_your_email(event: Event, address: str, now: datetime) -> str:
    """The page after a held registration: the same whatever the address turned out to be."""
    until = now + timedelta(hours=event.confirmation_hold_hours)
    return render_template(
        "registration/check_email.html",
        event=event,
        email=address,
        until=rules.local_moment(until, event.timezone),
    )


@bp.get("/registrations/confirm/<token>")
def confirm_hold(token: str) -> Any:
    """The emailed link of a held place: confirms the address and the registration, logs
    the person in and shows the registration (offering to choose a password)."""
    database.lock_for_write()  # the place may have run out: releasing it promotes
    try:
        registration = holds.confirm_hold(token, utcnow())
    except holds.HoldLinkUsedError as err:
        db.session.rollback()
        flash(str(err), "info")
        page = url_for("registration.detail", public_id=err.registration.public_id)
        if current_user.is_authenticated and current_user.id == err.registration.user_id:
            return redirect(page)
        return redirect(url_for("accounts.login", next=page))  # a used link logs nobody in
    except DomainError as err:  # a broken link (TokenError), a hold that ran out
        db.session.commit()  # keep what the lock released
        return render_template("accounts/link_problem.html", message=str(err)), 400
    user = registration.user
    public_id = registration.public_id
    message = _confirmation_message(registration)
    db.session.commit()
    login_user(user)
    flash(_("Thank you: your email address is confirmed.") + " " + message, "success")
    return redirect(url_for("registration.detail", public_id=public_id))


# `?registered=` on a registration's page: what the person's POST just did.
REGISTERED_NOW = "now"
REGISTERED_BEFORE = "before"


def _registered_notice(registration: Registration, outcome: str | None) -> str | None:
    """The message after registering, for its person; none once it is no longer active
    (the address reloaded after cancelling)."""
    if not registration.is_active:
        return None
    if outcome == REGISTERED_NOW:
        return _confirmation_message(registration)
    if outcome == REGISTERED_BEFORE:
        return _("You are already registered for this event.")
    return None


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
    is_owner = registration.user_id == current_user.id
    notice = _registered_notice(registration, request.args.get("registered")) if is_owner else None
    return render_template(
        "registration/detail.html",
        notices=[("success", notice)] if notice else [],
        registration=registration,
        event=registration.event,
        is_owner=is_owner,
        rank=queries.waitlist_rank(registration),
        answers=answers.answer_rows(registration),
        status_label=notifications.status_label(registration.status),
        hold_until=notifications.hold_deadline(registration),
        can_edit=services.can_edit_answers(registration, now),
        deadline=registration.event.effective_edit_deadline(),
        ticket_problem=tickets.invalid_reason(registration),
        join_url=rules.join_link(registration),
    )


@bp.get("/registrations/<public_id>/ticket")
@login_required
def ticket(public_id: str) -> Any:
    """The ticket on its own page, laid out to print on one sheet. Seen by the same people
    as the registration; a registration without a valid ticket says why, with a 404."""
    registration = _registration_or_404(public_id)
    problem = tickets.invalid_reason(registration)
    return render_template(
        "registration/ticket.html",
        registration=registration,
        event=registration.event,
        ticket_problem=problem,
    ), 404 if problem else 200


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
