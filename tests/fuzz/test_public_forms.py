"""Fuzz every public and account form: no 5xx, nothing half-written, and what is accepted
is stored whole."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from eventsite import i18n
from eventsite.accounts import tokens
from eventsite.accounts.models import unusable_password_hash
from eventsite.extensions import db
from eventsite.models import (
    AnnouncementSubscriber,
    Event,
    EventShare,
    OutboxMessage,
    QuestionKind,
    Registration,
    RegistrationStatus,
    User,
)
from eventsite.registration import alerts
from eventsite.registration.models import OpeningAlert
from eventsite.timeutil import utcnow

from ..conftest import PASSWORD
from . import strategies as fz
from .harness import (
    FormTarget,
    Outcome,
    Prepared,
    Site,
    assert_exports,
    assert_one_line,
    control_characters,
    last_id,
    rows_after,
    run_form_target,
)

pytestmark = pytest.mark.fuzz

NEW_PASSWORD = "a brand new passphrase 42"
COUNTRIES = ("", "CH", "KE", "XK")


# --- accounts ---------------------------------------------------------------------------------


def _signup(site: Site) -> Prepared:
    n = site.next()
    base = {
        "name": "Ada Lovelace",
        "email": f"signup-{n}@example.org",
        "password": NEW_PASSWORD,
        "affiliation": "",
        "country": "CH",
    }
    return Prepared("/signup", base, objects={"last_user": last_id(User)})


def _signed_up_whole(site: Site, outcome: Outcome) -> None:
    for user in rows_after(User, outcome.prepared.objects["last_user"]):
        assert_one_line(user.name, "the name")
        assert_one_line(user.affiliation, "the affiliation")
        assert user.email == user.email.strip().lower() and user.email.count("@") == 1
        assert_one_line(user.email, "the email address")
        assert user.name == user.name.strip() and user.name
        sent = db.session.scalars(select(OutboxMessage.to_address)).all()
        assert user.email in sent, "a new account without its confirmation email"


def _as_user(url: str, **user_overrides: Any):
    """A fresh account for every example (they delete themselves, change passwords...)."""

    def prepare(site: Site) -> Prepared:
        user = site.fresh_user(**user_overrides)
        return Prepared(url.format(user=user), user=user)

    return prepare


def _with_base(prepare: Any, base: dict[str, str]):
    def with_base(site: Site) -> Prepared:
        prepared = prepare(site)
        prepared.base = dict(base)
        return prepared

    return with_base


def _login(site: Site) -> Prepared:
    return Prepared(
        "/login",
        {"email": site.world.attendee.email, "password": PASSWORD, "remember": "y"},
    )


def _ask_login_link(site: Site) -> Prepared:
    return Prepared("/login/link", {"link-email": site.world.attendee.email})


def _login_link(site: Site) -> Prepared:
    user = site.fresh_user()
    fingerprint = tokens.login_fingerprint(user.email, user.session_token, user.last_login_at)
    token = tokens.make_token(tokens.LOGIN_LINK, {"uid": user.id, "fp": fingerprint}, utcnow())
    return Prepared(f"/login/link/{token}", {"remember": "y"})


def _forgot(site: Site) -> Prepared:
    return Prepared("/password/forgot", {"email": site.world.attendee.email})


def _reset(site: Site) -> Prepared:
    user = site.fresh_user()
    token = tokens.make_token(
        tokens.RESET_PASSWORD,
        {"uid": user.id, "pw": tokens.password_fingerprint(user.password_hash)},
        utcnow(),
    )
    return Prepared(f"/password/reset/{token}", {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})


def _profile_whole(site: Site, outcome: Outcome) -> None:
    user = db.session.get(User, outcome.prepared.user.id)
    assert_one_line(user.name, "the name")
    assert_one_line(user.affiliation, "the affiliation")
    assert user.country is None or (len(user.country) == 2 and user.country.isupper())
    assert user.language in i18n.LANGUAGES


def _member_calendar(site: Site) -> Prepared:
    return Prepared(
        f"/account/organisations/{site.world.organisation.slug}/calendar/regenerate",
        user=site.world.member,
    )


def _first_password(site: Site) -> Prepared:
    user = site.fresh_user(password_hash=unusable_password_hash())
    return Prepared(
        "/account/password/first",
        {"new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
        user=user,
    )


ACCOUNT_TARGETS = [
    FormTarget(
        "accounts.signup",
        _signup,
        {
            "name": fz.text(),
            "email": fz.emails(),
            "password": fz.text(),
            "affiliation": fz.text(),
            "country": fz.choices(COUNTRIES),
        },
        writes=frozenset({"users", "outbox_messages"}),
        check=_signed_up_whole,
    ),
    FormTarget(
        "accounts.login",
        _login,
        {"email": fz.emails(), "password": fz.text(), "remember": fz.booleans()},
        writes=frozenset({"users", "login_failures"}),  # a success clears the address's count
        refusal_writes=frozenset({"login_failures"}),  # a failure is counted per address
    ),
    FormTarget(
        "accounts.request_login_link",
        _ask_login_link,
        {"link-email": fz.emails()},
        writes=frozenset({"outbox_messages"}),
    ),
    FormTarget(
        "accounts.login_with_link",
        _login_link,
        {"remember": fz.booleans()},
        writes=frozenset({"users", "login_failures"}),  # spends the link, lifts the brake
    ),
    # Logging out replaces the account's session token: every copy of the cookie ends.
    FormTarget("accounts.logout", _as_user("/logout"), writes=frozenset({"users"}), budget=0.3),
    FormTarget(
        "accounts.first_password",
        _first_password,
        {"new_password": fz.text(), "confirm": fz.text()},
        writes=frozenset({"users"}),
    ),
    FormTarget(
        "accounts.forgot_password",
        _forgot,
        {"email": fz.emails()},
        writes=frozenset({"outbox_messages"}),
    ),
    FormTarget(
        "accounts.reset_password",
        _reset,
        {"password": fz.text(), "confirm": fz.text()},
        writes=frozenset({"users"}),
    ),
    FormTarget(
        "accounts.resend_verification",
        _as_user("/account/verify/resend", email_verified_at=None),
        writes=frozenset({"outbox_messages"}),
        budget=0.3,
    ),
    FormTarget(
        "accounts.update_profile",
        _with_base(
            _as_user("/account/profile"),
            {
                "profile-name": "Ada",
                "profile-affiliation": "CERN",
                "profile-country": "KE",
                "profile-language": "fr",
            },
        ),
        {
            "profile-name": fz.text(),
            "profile-affiliation": fz.text(),
            "profile-country": fz.choices(COUNTRIES),
            "profile-language": fz.choices(("en", "zh_Hans", "ar", "xx", "")),
        },
        writes=frozenset({"users"}),
        check=_profile_whole,
    ),
    FormTarget(
        "accounts.change_email",
        _with_base(
            _as_user("/account/email"),
            {"email-new_email": "new-address@example.org", "email-password": PASSWORD},
        ),
        {"email-new_email": fz.emails(), "email-password": fz.text()},
        writes=frozenset({"outbox_messages"}),
    ),
    FormTarget(
        "accounts.change_password",
        _with_base(
            _as_user("/account/password"),
            {
                "password-current_password": PASSWORD,
                "password-new_password": NEW_PASSWORD,
                "password-confirm": NEW_PASSWORD,
            },
        ),
        {
            "password-current_password": fz.text(),
            "password-new_password": fz.text(),
            "password-confirm": fz.text(),
        },
        writes=frozenset({"users", "outbox_messages"}),  # "your password was changed"
    ),
    FormTarget(
        "accounts.delete_account",
        _with_base(_as_user("/account/delete"), {"delete-password": PASSWORD}),
        {"delete-password": fz.text()},
        writes=frozenset({"users"}),
    ),
    FormTarget(
        "feeds.regenerate_personal_token",
        _as_user("/account/calendar/regenerate"),
        writes=frozenset({"users"}),
        budget=0.3,
    ),
    FormTarget(
        "feeds.regenerate_organisation_token",
        _member_calendar,
        writes=frozenset({"organisations"}),
        budget=0.3,
    ),
]


# --- registering ------------------------------------------------------------------------------

ANSWERS = {
    QuestionKind.SHORT_TEXT: ("CERN", fz.text()),
    QuestionKind.LONG_TEXT: ("Line one\r\nLine two", fz.text()),
    QuestionKind.SINGLE_CHOICE: ("Vegan", fz.choices(("Vegetarian", "Vegan", "None"))),
    QuestionKind.MULTIPLE_CHOICE: ("Tuesday", fz.choices(("Monday", "Tuesday", "Wednesday"))),
    QuestionKind.CHECKBOX: ("y", fz.booleans()),
    QuestionKind.COUNTRY: ("KE", fz.choices(COUNTRIES)),
    QuestionKind.NUMBER: ("2.5", fz.numbers()),
}
ANSWER_FIELDS = {"website": fz.text()} | {
    f"q:{kind.value}": values for kind, (_valid, values) in ANSWERS.items()
}


def _answer_form(site: Site) -> tuple[dict[str, str], dict[str, str]]:
    """Valid answers to the event's questions, and the fields' names by kind."""
    base: dict[str, str] = {}
    aliases: dict[str, str] = {}
    for question in site.questions:
        base[question.field_name] = ANSWERS[question.kind][0]
        aliases[f"q:{QuestionKind(question.kind).value}"] = question.field_name
    return base, aliases


def _register(site: Site) -> Prepared:
    base, aliases = _answer_form(site)
    return Prepared(
        f"/events/{site.world.event.slug}/register",
        base,
        user=site.fresh_user(),
        objects={"last_registration": last_id(Registration)},
        aliases=aliases,
    )


def _register_as_visitor(site: Site) -> Prepared:
    """The one-step form of a visitor without an account."""
    base, aliases = _answer_form(site)
    base |= {"name": "Ada", "email": f"visitor-{site.next()}@example.org", "country": "KE"}
    return Prepared(
        f"/events/{site.world.event.slug}/register",
        base,
        objects={"last_registration": last_id(Registration), "last_user": last_id(User)},
        aliases=aliases,
    )


def _visitor_registered_whole(site: Site, outcome: Outcome) -> None:
    """A new account is unverified, has no password and one-line fields; its registration
    is held; nothing else is made."""
    users = rows_after(User, outcome.prepared.objects["last_user"])
    assert len(users) <= 1
    for user in users:
        assert not user.is_verified and not user.has_password
        assert_one_line(user.name, "the name")
        assert_one_line(user.affiliation, "the affiliation")
        assert user.country is None or (len(user.country) == 2 and user.country.isupper())
    for registration in rows_after(Registration, outcome.prepared.objects["last_registration"]):
        assert registration.hold_expires_at is not None
        _answers_whole(registration, site)


def _registration_of_fresh_user(site: Site, status: str = RegistrationStatus.CONFIRMED):
    user = site.fresh_user()
    registration = Registration(event=site.world.event, user=user, status=status, answers={})
    db.session.add(registration)
    db.session.commit()
    return user, registration


def _edit_registration(site: Site) -> Prepared:
    user, registration = _registration_of_fresh_user(site)
    base, aliases = _answer_form(site)
    return Prepared(
        f"/registrations/{registration.public_id}/edit",
        base,
        user=user,
        objects={"registration": registration},
        aliases=aliases,
    )


def _cancel_registration(site: Site) -> Prepared:
    user, registration = _registration_of_fresh_user(site)
    return Prepared(f"/registrations/{registration.public_id}/cancel", user=user)


def _answers_whole(registration: Registration, site: Site) -> None:
    kinds = {str(q.id): q.kind for q in site.questions}
    for key, answer in registration.answers.items():
        value = answer["value"] if isinstance(answer, dict) else answer
        kind = kinds.get(key)
        if kind == QuestionKind.SHORT_TEXT:
            assert_one_line(value, f"the answer to question {key}")
        elif kind == QuestionKind.LONG_TEXT:
            assert not control_characters(value, allowed="\t\r\n"), value
        elif kind == QuestionKind.NUMBER and value is not None:
            assert isinstance(value, int | float) and abs(value) < 10**9, value


def _registered_whole(site: Site, outcome: Outcome) -> None:
    new = rows_after(Registration, outcome.prepared.objects["last_registration"])
    for registration in new:
        assert registration.user_id == outcome.prepared.user.id
        _answers_whole(registration, site)
    if new:
        assert_exports(site, site.world.event)


def _edited_whole(site: Site, outcome: Outcome) -> None:
    registration = outcome.prepared.objects["registration"]
    db.session.refresh(registration)
    _answers_whole(registration, site)
    assert_exports(site, site.world.event)


REGISTRATION_TARGETS = [
    FormTarget(
        "registration.register",
        _register,
        ANSWER_FIELDS
        | {
            "name": fz.text(),
            "affiliation": fz.text(),
            "country": fz.choices(COUNTRIES),
            "update_profile": fz.booleans(),
        },
        writes=frozenset({"users", "registrations", "outbox_messages"}),
        check=_registered_whole,
    ),
    FormTarget(
        "registration.register",
        _register_as_visitor,
        ANSWER_FIELDS
        | {
            "name": fz.text(),
            "email": fz.emails(),
            "affiliation": fz.text(),
            "country": fz.choices(COUNTRIES),
            "update_profile": fz.booleans(),  # a member's: ignored here
        },
        writes=frozenset({"users", "registrations", "outbox_messages"}),
        check=_visitor_registered_whole,
    ),
    FormTarget(
        "registration.edit",
        _edit_registration,
        ANSWER_FIELDS,
        writes=frozenset({"registrations"}),
        check=_edited_whole,
    ),
    FormTarget(
        "registration.cancel",
        _cancel_registration,
        writes=frozenset({"registrations", "outbox_messages"}),
        budget=0.3,
    ),
]


# --- sharing and "notify me" --------------------------------------------------------------------


def _share(site: Site) -> Prepared:
    n = site.next()
    return Prepared(
        f"/events/{site.world.event.slug}/share",
        {"email": f"friend-{n}@example.org", "name": "Ada", "note": "See you there!"},
        user=site.world.attendee if n % 2 else None,
        objects={"last_share": last_id(EventShare)},
    )


def _shared_whole(site: Site, outcome: Outcome) -> None:
    for share in rows_after(EventShare, outcome.prepared.objects["last_share"]):
        assert share.event_id == site.world.event.id


def _notify(site: Site) -> Prepared:
    return Prepared("/notify", {"email": f"notify-{site.next()}@example.org"})


def _subscriber(site: Site, salt: str, url: str) -> Prepared:
    address = f"subscriber-{site.next()}@example.org"
    db.session.add(AnnouncementSubscriber(email=address, created_at=utcnow()))
    db.session.commit()
    token = tokens.make_token(salt, {"email": address}, utcnow())
    return Prepared(url.format(token=token))


ANNOUNCEMENT_TARGETS = [
    FormTarget(
        "sharing.share",
        _share,
        # Until the _LINK_PATTERN fix is merged, long names and notes hang the regex
        # (quadratic): at most 2 000 characters here. Then drop max_text.
        {"email": fz.emails(2_000), "name": fz.text(2_000), "note": fz.text(2_000)},
        writes=frozenset({"event_shares", "outbox_messages"}),
        check=_shared_whole,
        max_text=2_000,
    ),
    FormTarget(
        "announcements.subscribe",
        _notify,
        {"email": fz.emails()},
        writes=frozenset({"announcement_subscribers", "outbox_messages"}),
    ),
    FormTarget(
        "announcements.confirm",
        lambda site: _subscriber(site, tokens.ANNOUNCE_CONFIRM, "/notify/confirm/{token}"),
        writes=frozenset({"announcement_subscribers"}),
        budget=0.3,
    ),
    FormTarget(
        "announcements.unsubscribe",
        lambda site: _subscriber(site, tokens.ANNOUNCE_UNSUBSCRIBE, "/notify/unsubscribe/{token}"),
        writes=frozenset({"announcement_subscribers"}),
        budget=0.3,
    ),
    FormTarget(
        "announcements.unsubscribe_one_click",
        lambda site: _with_base(
            lambda s: _subscriber(
                s, tokens.ANNOUNCE_UNSUBSCRIBE, "/notify/unsubscribe/{token}/one-click"
            ),
            {"List-Unsubscribe": "One-Click"},
        )(site),
        {"List-Unsubscribe": fz.choices(("One-Click",))},
        writes=frozenset({"announcement_subscribers"}),
        budget=0.5,
    ),
]


# --- "tell me when registration opens" ----------------------------------------------------------


def opens_later(site: Site) -> Event:
    event = db.session.scalar(select(Event).where(Event.slug == "fuzz-opens-later"))
    if event is None:
        now = utcnow()
        event = site.make_event(
            slug="fuzz-opens-later",
            starts_at=now + timedelta(days=40),
            ends_at=now + timedelta(days=40, hours=8),
            registration_opens_at=now + timedelta(days=10),
        )
    return event


def _alert(site: Site) -> Prepared:
    n = site.next()
    return Prepared(
        f"/events/{opens_later(site).slug}/alert",
        {"email": f"alert-{n}@example.org"},
        user=site.world.attendee if n % 2 else None,
    )


def alert_token(site: Site, salt: str) -> str:
    """The token of a new visitor's alert for an event whose registration opens later."""
    event = opens_later(site)
    address = f"alert-{site.next()}@example.org"
    db.session.add(OpeningAlert(event_id=event.id, email=address, created_at=utcnow()))
    db.session.commit()
    return tokens.make_token(salt, {"event": event.id, "email": address}, utcnow())


def _alert_link(site: Site, salt: str, url: str) -> Prepared:
    return Prepared(url.format(token=alert_token(site, salt)))


ALERT_TARGETS = [
    FormTarget(
        "registration.alert",
        _alert,
        {"email": fz.emails()},
        writes=frozenset({"registration_alerts", "outbox_messages"}),
    ),
    FormTarget(
        "registration.alert_confirm",
        lambda site: _alert_link(site, alerts.CONFIRM, "/alerts/confirm/{token}"),
        writes=frozenset({"registration_alerts"}),
        budget=0.3,
    ),
    FormTarget(
        "registration.alert_unsubscribe",
        lambda site: _alert_link(site, alerts.UNSUBSCRIBE, "/alerts/unsubscribe/{token}"),
        writes=frozenset({"registration_alerts"}),
        budget=0.3,
    ),
    FormTarget(
        "registration.alert_unsubscribe_one_click",
        lambda site: _with_base(
            lambda s: _alert_link(s, alerts.UNSUBSCRIBE, "/alerts/unsubscribe/{token}/one-click"),
            {"List-Unsubscribe": "One-Click"},
        )(site),
        {"List-Unsubscribe": fz.choices(("One-Click",))},
        writes=frozenset({"registration_alerts"}),
        budget=0.5,
    ),
]

PUBLIC_TARGETS = ACCOUNT_TARGETS + REGISTRATION_TARGETS + ANNOUNCEMENT_TARGETS + ALERT_TARGETS


@pytest.mark.parametrize("target", PUBLIC_TARGETS)
def test_public_form_survives_hostile_input(site: Site, target: FormTarget) -> None:
    run_form_target(site, target)
