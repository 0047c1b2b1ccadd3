"""Registration's pure rules: when an event takes registrations, what its registration box
says, and which actions each registration allows.

No database, no request: the services, the views, the forms and the templates ask these
functions, and none of them restates a rule. `RegistrationError` is here too, so that
every module of the package can raise it without importing the services.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from functools import lru_cache

from babel.dates import format_skeleton

from eventsite import templating, timeutil
from eventsite.errors import DomainError
from eventsite.events.cards import CardFacts
from eventsite.events.models import Event, EventStatus
from eventsite.i18n import current_code, format_number, ngettext
from eventsite.i18n import gettext as _
from eventsite.registration import queries
from eventsite.registration.models import (
    CHOICE_KINDS,
    Question,
    Registration,
    RegistrationStatus,
)

FEW_PLACES_LEFT = 10


class RegistrationError(DomainError):
    """A registration rule said no."""


class AlreadyCheckedInError(RegistrationError):
    """A second check-in of one person: says when (event's zone) and by whom the first was."""

    def __init__(self, registration: Registration) -> None:
        self.registration = registration
        at = registration.checked_in_at
        when = templating.local_time(at, registration.event.timezone) if at else ""
        by = registration.checked_in_by
        if by is not None:
            message = _("Already checked in at %(time)s by %(name)s.", time=when, name=by.name)
        else:
            message = _("Already checked in at %(time)s.", time=when)
        super().__init__(message)


def local_moment(value: datetime, tz_name: str) -> str:
    """ "10 December 2026, 09:00 CET": a moment in the event's own zone, in words."""
    return _local_moment(value, tz_name, current_code())


@lru_cache(maxsize=1024)
def _local_moment(value: datetime, tz_name: str, _code: str) -> str:
    # Per language (`_code`, which the helpers read for themselves): an event page whose
    # registration opens later says when on every view (Babel's patterns: ~2.5 % of its
    # time in a gunicorn worker, py-spy under `make bench`).
    return (
        f"{templating.local_date(value, tz_name, 'long')}, "
        f"{templating.local_time(value, tz_name)} {templating.zone_label(value, tz_name)}"
    )


# --- the questions of the form -----------------------------------------------------------------


def unanswerable_questions(questions: Iterable[Question]) -> list[Question]:
    """The required questions nobody could answer, in the order given: a single or
    multiple choice without a single choice to pick. The form cannot be submitted while
    one is on it, so the event is not published."""
    return [
        question
        for question in questions
        if question.is_required and question.kind in CHOICE_KINDS and not question.options
    ]


# --- the registration window -------------------------------------------------------------------


class WindowState(StrEnum):
    OPEN = "open"
    NOT_PUBLISHED = "not_published"
    CANCELLED = "cancelled"
    ENDED = "ended"
    NOT_YET_OPEN = "not_yet_open"
    CLOSED = "closed"


@dataclass(frozen=True)
class Window:
    """Whether the event takes registrations now, and the reason in words."""

    state: WindowState
    reason: str

    @property
    def is_open(self) -> bool:
        return self.state == WindowState.OPEN


def window_state(event: Event | CardFacts, now: datetime) -> WindowState:
    """The registration window: from `registration_opens_at` (or publication) until
    `registration_closes_at` when the organiser set one, else until the event ends — a
    multi-day forum takes registrations on its second day."""
    if event.status == EventStatus.CANCELLED:
        return WindowState.CANCELLED
    if event.status != EventStatus.PUBLISHED:
        return WindowState.NOT_PUBLISHED
    if event.has_ended(now):
        return WindowState.ENDED
    if event.registration_opens_at is not None and now < event.registration_opens_at:
        return WindowState.NOT_YET_OPEN
    if event.registration_closes_at is not None and now >= event.registration_closes_at:
        return WindowState.CLOSED
    return WindowState.OPEN


def window(event: Event, now: datetime) -> Window:
    """`window_state` with the reason in words (the event page's box)."""
    state = window_state(event, now)
    if state == WindowState.CANCELLED:
        return Window(state, _("This event has been cancelled"))
    if state == WindowState.NOT_PUBLISHED:
        return Window(state, _("Registration is not open"))
    if state == WindowState.ENDED:
        return Window(state, _("This event has ended"))
    if state == WindowState.NOT_YET_OPEN:
        assert event.registration_opens_at is not None  # the state says it is set
        when = local_moment(event.registration_opens_at, event.timezone)
        return Window(state, _("Registration opens on %(when)s", when=when))
    if state == WindowState.CLOSED:
        return Window(state, _("Registration closed"))
    return Window(state, _("Registration open"))


# --- what the registration box says ------------------------------------------------------------


@dataclass(frozen=True)
class RegistrationState:
    can_register: bool  # show the button
    message: str  # why not, or how many places are left
    opens_later: bool = False  # not open yet: "tell me when registration opens"
    joins_waiting_list: bool = False
    requires_approval: bool = False

    @property
    def button_label(self) -> str:
        return _("Join the waiting list") if self.joins_waiting_list else _("Register")


def registration_state(
    event: Event, now: datetime, counts: queries.PlaceCounts
) -> RegistrationState:
    """Whether a new registration is taken (the window, then the places), and the words
    the event page and the registration form show for it."""
    if window_state(event, now) != WindowState.OPEN:
        current = window(event, now)  # the reason in words, only when it is shown
        return RegistrationState(
            can_register=False,
            message=current.reason,
            opens_later=current.state == WindowState.NOT_YET_OPEN,
        )
    approval = bool(event.requires_approval)
    left = queries.places_left(event, counts)
    if left is None:
        return RegistrationState(True, _("Registration open"), requires_approval=approval)
    if left == 0:
        if event.has_waiting_list:
            return RegistrationState(
                True, _("Waiting list open"), joins_waiting_list=True, requires_approval=approval
            )
        return RegistrationState(False, _("This event is full"))
    if left < FEW_PLACES_LEFT:
        message = ngettext("Only %(num)d place left", "Only %(num)d places left", left)
    else:
        message = ngettext("%(count)s place", "%(count)s places", left, count=format_number(left))
    return RegistrationState(True, message, requires_approval=approval)


@dataclass(frozen=True)
class CardState:
    """What a listing card says about registering, in a few words ("6 places left")."""

    label: str
    tone: str  # "open", "few", "waiting", "full", "soon", "closed": the badge's colour


def card_state(
    event: Event | CardFacts, now: datetime, counts: queries.PlaceCounts
) -> CardState | None:
    """The words of a listing card: the event page's rules (the window, then the places)
    and counts, said short. None where the card says enough already (cancelled, ended)."""
    # The state alone, not `window`: its reason would be written out (Babel's dates) for
    # every card and thrown away (bench: ~5 % of a rendered listing).
    state = window_state(event, now)
    if state in (WindowState.CANCELLED, WindowState.ENDED, WindowState.NOT_PUBLISHED):
        return None
    if state == WindowState.NOT_YET_OPEN:
        assert event.registration_opens_at is not None  # the state says it is set
        day = timeutil.to_local(event.registration_opens_at, event.timezone).date()
        return _card_words(state, day, None, False, current_code())
    if state == WindowState.CLOSED:
        return _card_words(state, None, None, False, current_code())
    left = queries.places_left(event, counts)
    return _card_words(state, None, left, event.has_waiting_list, current_code())


@lru_cache(maxsize=4096)
def _card_words(
    state: WindowState, day: date | None, left: int | None, has_waiting_list: bool, code: str
) -> CardState:
    """`card_state`'s words, per language (`code`, which the translations read for
    themselves): a page's cards say the same few things, and writing each out again was
    ~2 % of a rendered listing's time in a gunicorn worker (py-spy under `make bench`)."""
    if state == WindowState.NOT_YET_OPEN:
        assert day is not None
        return CardState(_("Opens %(day)s", day=_day_and_month(day, code)), "soon")
    if state == WindowState.CLOSED:
        return CardState(_("Registration closed"), "closed")
    if left is None:
        return CardState(_("Registration open"), "open")
    if left == 0:
        if has_waiting_list:
            return CardState(_("Waiting list"), "waiting")
        return CardState(_("Full"), "full")
    message = ngettext(
        "%(count)s place left", "%(count)s places left", left, count=format_number(left)
    )
    return CardState(message, "few" if left < FEW_PLACES_LEFT else "open")


def reads_place_counts(event: Event | CardFacts, now: datetime) -> bool:
    """Whether `card_state` and `registration_state` read the event's counts: registration
    is open and places are limited (else their words say so without them)."""
    return event.capacity is not None and window_state(event, now) == WindowState.OPEN


@lru_cache(maxsize=1024)
def _day_and_month(day: date, locale_name: str) -> str:
    """ "3 March" in the reader's language: many cards open on the same days, and Babel's
    skeletons are slow to write out."""
    return format_skeleton("dMMMM", day, locale=locale_name)


# --- what may happen to a registration ---------------------------------------------------------


class Action(StrEnum):
    """What an organiser may do to a registration (cancelling is also the person's own)."""

    APPROVE = "approve"
    REJECT = "reject"
    PROMOTE = "promote"
    CHECK_IN = "check_in"
    UNDO_CHECK_IN = "undo_check_in"
    CANCEL = "cancel"
    RESTORE = "restore"  # give back a place an organiser cancelled


def allowed_actions(registration: Registration) -> frozenset[Action]:
    """The transition table: the actions a registration in its present state allows.

    Promoting needs a free place too, and cancelling frees one; those are counted by the
    services under the event's lock, not here.
    """
    status = registration.status
    if status == RegistrationStatus.PENDING:
        return frozenset({Action.APPROVE, Action.REJECT, Action.CANCEL})
    if status == RegistrationStatus.WAITLISTED:
        return frozenset({Action.PROMOTE, Action.CANCEL})
    if status == RegistrationStatus.CONFIRMED:
        door = Action.UNDO_CHECK_IN if registration.checked_in_at is not None else Action.CHECK_IN
        return frozenset({door, Action.CANCEL})
    if status == RegistrationStatus.CANCELLED and registration.cancelled_by_organiser:
        return frozenset({Action.RESTORE})  # an organiser's mistake can be undone
    return frozenset()  # otherwise cancelled and rejected are final


def can(action: Action, registration: Registration) -> bool:
    return action in allowed_actions(registration)


def _refusal(action: Action, registration: Registration) -> str:
    status = _status_words(registration.status)
    if action == Action.APPROVE:
        return _(
            "Only a registration awaiting approval can be approved (this one is %(status)s).",
            status=status,
        )
    if action == Action.REJECT:
        return _(
            "Only a registration awaiting approval can be rejected (this one is %(status)s).",
            status=status,
        )
    if action == Action.PROMOTE:
        return _("Only someone on the waiting list can be promoted.")
    if action == Action.CHECK_IN:
        if registration.checked_in_at is not None:
            return _("This registration is already checked in.")
        return _("Only confirmed registrations can be checked in.")
    if action == Action.UNDO_CHECK_IN:
        return _("This registration is not checked in.")
    if action == Action.RESTORE:
        return _("Only a registration the organisers cancelled can be restored.")
    return _("This registration is not active.")


def _status_words(status: str) -> str:
    """The status as the sentence of a refusal names it ("this one is cancelled")."""
    words = {
        RegistrationStatus.CONFIRMED: _("confirmed"),
        RegistrationStatus.WAITLISTED: _("on the waiting list"),
        RegistrationStatus.PENDING: _("awaiting approval"),
        RegistrationStatus.CANCELLED: _("cancelled"),
        RegistrationStatus.REJECTED: _("not accepted"),
    }
    return words[RegistrationStatus(status)]


def require(action: Action, registration: Registration) -> None:
    """RegistrationError with a sentence saying why, unless the table allows the action."""
    if not can(action, registration):
        raise RegistrationError(_refusal(action, registration))


def join_link(registration: Registration) -> str | None:
    """The event's online link for this registrant, or None: it is for confirmed places
    only (not one held for an email confirmation, waiting, pending or cancelled), and a
    cancelled event has none. Public pages and feeds never show it."""
    event = registration.event
    if (
        registration.status != RegistrationStatus.CONFIRMED
        or registration.is_held
        or event.status == EventStatus.CANCELLED
        or not event.online_url
    ):
        return None
    return event.online_url
