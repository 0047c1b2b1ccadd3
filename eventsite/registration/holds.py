"""Registering in one step without a confirmed address: the place is taken at once and
held until the person follows the link we email them, which confirms the address and the
registration and logs them in.

A visitor without an account gets one, unverified and without a password; an address
that has an account gets a "continue" message instead. Either way the visitor is shown
the same page, and the same work is done: nothing says whether the address had an account.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from eventsite.accounts import services as accounts
from eventsite.accounts import tokens
from eventsite.accounts.models import User
from eventsite.events.models import MAX_HOLD_HOURS, Event
from eventsite.extensions import db
from eventsite.i18n import gettext as _
from eventsite.links import external_url
from eventsite.registration import notifications, services
from eventsite.registration.models import Question, Registration
from eventsite.registration.rules import RegistrationError


@dataclass(frozen=True)
class Person:
    """Who registers, as typed in the form's person block."""

    name: str
    email: str
    affiliation: str = ""
    country: str | None = None


def hold_token(registration: Registration, now: datetime) -> str:
    """The link's secret: the registration, its person and the address it was sent to (a
    changed address makes it invalid)."""
    user = registration.user
    payload = {"r": registration.public_id, "u": user.id, "e": user.email}
    return tokens.make_token(tokens.REGISTRATION_HOLD, payload, now)


def _send_link(registration: Registration, now: datetime, *, has_account: bool) -> None:
    url = external_url("registration.confirm_hold", token=hold_token(registration, now))
    notifications.notify_hold(registration, url, now, has_account=has_account)


def register_newcomer(
    person: Person,
    event: Event,
    answers: Mapping[int, Any],
    now: datetime,
    *,
    questions: Sequence[Question] | None = None,
) -> None:
    """A visitor (not logged in) registers in one step. The caller holds, on SQLite, the
    write lock, and shows the same page whatever happened here.

    - no account with the address: an unverified account without a password is made, the
      place is held and the link emailed;
    - an account (confirmed or not): nothing is made for it, the place is held for it and
      a "continue" link emailed to its address;
    - that account has an active registration for the event already: nothing changes; the
      email says so (a held one gets its link again).

    RegistrationError when the event takes no registration now (the same for any address).
    """
    address = accounts.normalise_email(person.email)
    user = accounts.find_user_by_email(address)
    has_account = user is not None and user.is_verified
    if user is None:
        user = accounts.create_account_without_password(
            name=person.name,
            email=address,
            affiliation=person.affiliation,
            country=person.country,
            now=now,
        )
    registration = services.register_attendee(
        user, event, answers, now, questions=questions, hold=True
    )
    if registration.created_at == now or registration.is_held:
        _send_link(registration, now, has_account=has_account)
    else:
        notifications.notify_already_registered(registration, now)


def hold_for_member(
    user: User,
    event: Event,
    answers: Mapping[int, Any],
    now: datetime,
    *,
    questions: Sequence[Question] | None = None,
) -> Registration:
    """A logged-in person whose address is not confirmed yet registers: the place is held
    and the link emailed, as for a visitor. An active registration is returned as is."""
    registration = services.register_attendee(
        user, event, answers, now, questions=questions, hold=True
    )
    if registration.created_at == now:
        _send_link(registration, now, has_account=False)
    return registration


class HoldLinkUsedError(RegistrationError):
    """The link's registration is confirmed already: the link no longer logs anyone in."""

    def __init__(self, message: str, registration: Registration) -> None:
        super().__init__(message)
        self.registration = registration


def confirm_hold(token: str, now: datetime) -> Registration:
    """Follow the emailed link: the address is confirmed, the held place is the person's
    (the registration's usual email goes out). TokenError for a broken or altered link,
    RegistrationError when the hold ran out, HoldLinkUsedError once it was confirmed.
    The caller logs the person in."""
    # The hold itself decides how long the link works; this bound only stops a link of
    # a registration that somehow kept its hold from living for ever.
    payload = tokens.read_token(tokens.REGISTRATION_HOLD, token, now, MAX_HOLD_HOURS * 3600)
    registration = db.session.scalar(
        select(Registration).where(Registration.public_id == str(payload.get("r", "")))
    )
    if (
        registration is None
        or registration.user_id != payload.get("u")
        or registration.user.email != payload.get("e")
    ):
        raise tokens.TokenError(_("This link is not valid any more."))
    if not registration.is_held and not registration.is_hold_expired:
        raise HoldLinkUsedError(_("This registration is already confirmed."), registration)
    services.confirm_held_registration(registration, now)
    accounts.mark_email_verified(registration.user, now)
    return registration
