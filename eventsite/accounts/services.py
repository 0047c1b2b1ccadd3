"""Account rules: sign-up, verification, log-in and its brake, forgotten password, the
users CLI. What the account page changes (profile, password, email, data, deletion) is
in `profile`."""

from __future__ import annotations

from datetime import datetime
from functools import cache

from flask import current_app
from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from eventsite import database, i18n, input_rules
from eventsite.accounts import login_brake, tokens
from eventsite.accounts.common_passwords import COMMON_PASSWORDS
from eventsite.accounts.models import User, new_token, unusable_password_hash
from eventsite.errors import DomainError
from eventsite.extensions import db
from eventsite.i18n import gettext as _
from eventsite.i18n import lazy_gettext as _l
from eventsite.links import external_url
from eventsite.mail.services import queue_email

PASSWORD_MIN_LENGTH = 10
PASSWORD_MAX_LENGTH = 200


class AccountError(DomainError):
    """An account rule said no."""


class LoginError(AccountError):
    """Wrong address or password (the message never says which)."""


class LoginBlockedError(LoginError):
    """Too many failed log-ins with this address lately (account or not)."""


# --- checks ------------------------------------------------------------------------------------


def normalise_email(raw: str, field: str = "email") -> str:
    """An address we can send to (input_rules.normalise_address, the rule every form and
    service shares), lower-cased so uniqueness ignores case."""
    try:
        return input_rules.normalise_address(raw).lower()
    except input_rules.AddressError as err:
        raise AccountError(str(err), field=field) from err


def check_password_strength(password: str, *, email: str = "", field: str = "password") -> None:
    if len(password) < PASSWORD_MIN_LENGTH:
        raise AccountError(_("Use at least %(n)d characters.", n=PASSWORD_MIN_LENGTH), field=field)
    if len(password) > PASSWORD_MAX_LENGTH:
        raise AccountError(_("Use at most %(n)d characters.", n=PASSWORD_MAX_LENGTH), field=field)
    lowered = password.lower()
    if (
        lowered in COMMON_PASSWORDS
        or len(set(lowered)) <= 2
        or (email and lowered in (email.lower(), email.split("@")[0].lower()))
    ):
        raise AccountError(
            _("This password is too common or too easy to guess; choose another."), field=field
        )


def hash_password(password: str) -> str:
    """Hashed with PASSWORD_HASH_METHOD (scrypt). Checking reads the method from the hash,
    so hashes made with another method keep working."""
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def _dummy_hash() -> str:
    return _dummy_hash_for(current_app.config["PASSWORD_HASH_METHOD"])


@cache
def _dummy_hash_for(method: str) -> str:
    return generate_password_hash("a password nobody has", method=method)


def find_user_by_email(address: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == address.strip().lower()))


# --- sign-up and verification --------------------------------------------------------------------


def create_account(
    *,
    name: str,
    email: str,
    password: str,
    now: datetime,
    affiliation: str = "",
    country: str | None = None,
    verified: bool = False,
) -> User:
    """A new account, or AccountError(field="email") when the address is taken."""
    address = normalise_email(email)
    check_password_strength(password, email=address)
    taken = _("An account with this email address already exists.")
    if find_user_by_email(address) is not None:
        raise AccountError(taken, field="email")
    user = User(
        email=address,
        name=name.strip(),
        password_hash=hash_password(password),
        affiliation=(affiliation or "").strip(),
        country=(country or None),
        email_verified_at=now if verified else None,
        password_changed_at=now,
        created_at=now,
        language=i18n.current_code(),  # the page's: what the person was reading
    )
    # A concurrent sign-up with the same address loses at the unique constraint.
    try:
        with db.session.begin_nested():
            db.session.add(user)
    except IntegrityError as err:
        raise AccountError(taken, field="email") from err
    return user


def create_account_without_password(
    *, name: str, email: str, now: datetime, affiliation: str = "", country: str | None = None
) -> User:
    """An unverified account with no usable password, for a visitor who registered for an
    event in one step: the link emailed to them confirms the address and logs them in; a
    password is for later (password reset works). The caller checked the address is free
    and, on SQLite, holds the write lock; a concurrent insert loses at the constraint."""
    user = User(
        email=normalise_email(email),
        name=name.strip(),
        password_hash=unusable_password_hash(),
        affiliation=(affiliation or "").strip(),
        country=(country or None),
        created_at=now,
        language=i18n.current_code(),
    )
    db.session.add(user)
    db.session.flush()
    return user


def mark_email_verified(user: User, now: datetime) -> None:
    """A link we sent to the address was followed: the address works."""
    if user.email_verified_at is None:
        user.email_verified_at = now
        db.session.flush()


def sign_up(
    *,
    name: str,
    email: str,
    password: str,
    now: datetime,
    affiliation: str = "",
    country: str | None = None,
    next_path: str | None = None,
) -> User | None:
    """Create the account, logged in from now, and queue its verification email.

    When the address already has an account, nothing is created and its owner gets a
    friendly note instead (the same work, the same one message), and None is returned.
    The caller logs a new account in and sends the other person to log in: that answer
    differs, the price of being logged in at sign-up; RATELIMIT_SIGNUP bounds how many
    addresses anyone can try that way.

    `next_path` (a path on this site, checked by the caller) is where the links in the
    email lead back to once the address is confirmed, e.g. the registration form.
    """
    address = normalise_email(email)
    check_password_strength(password, email=address)
    database.lock_for_write()  # SQLite: the existence check decides the insert
    try:
        user = create_account(
            name=name,
            email=address,
            password=password,
            now=now,
            affiliation=affiliation,
            country=country,
        )
    except AccountError as err:
        if err.field != "email":
            raise
        hash_password(password)  # the same work as a real sign-up: timing tells nothing
        existing = find_user_by_email(address)
        queue_email(
            address,
            _l("You already have an account on %(site)s", site=current_app.config["SITE_NAME"]),
            "account_exists",
            language=existing.language if existing else i18n.current_code(),
            category="account",
            name=existing.name if existing else "",
            login_url=external_url("accounts.login", next=next_path),
            reset_url=external_url("accounts.forgot_password"),
        )
        return None
    user.last_login_at = now
    send_verification_email(user, now, next_path=next_path)
    return user


def send_verification_email(user: User, now: datetime, *, next_path: str | None = None) -> None:
    token = tokens.make_token(tokens.VERIFY_EMAIL, {"uid": user.id, "email": user.email}, now)
    queue_email(
        user.email,
        _l("Confirm your email address"),
        "account_verify",
        language=user.language,
        category="account",
        name=user.name,
        verify_url=external_url("accounts.verify_email", token=token, next=next_path),
        hours=current_app.config["ACCOUNT_VERIFY_MAX_AGE"] // 3600,
    )


def verify_email(token: str, now: datetime) -> User:
    payload = tokens.read_token(
        tokens.VERIFY_EMAIL, token, now, current_app.config["ACCOUNT_VERIFY_MAX_AGE"]
    )
    user = db.session.get(User, payload.get("uid"))
    if user is None or user.email != payload.get("email"):
        raise tokens.TokenError(_("This link is not valid any more."))
    mark_email_verified(user, now)
    return user


# --- log-in ------------------------------------------------------------------------------------


def authenticate(email: str, password: str, now: datetime) -> User:
    """The user whose address and password match, or LoginError.

    Failed attempts are counted per address, whether or not an account has it, and every
    address takes the same steps (the same queries, one password hash check): the answers
    and their timing say nothing about who has an account. Past LOGIN_FAILURE_LIMIT
    failures within the window the address refuses log-ins for LOGIN_BLOCK_MINUTES,
    whatever the IP address. The caller must commit even when this raises, so the failure
    is recorded.
    """
    wrong = _("The email address or password is not right.")
    address = (email or "").strip().lower()
    key = login_brake.address_key(address)
    database.lock_for_write()  # SQLite: every attempt writes to the row it reads
    if login_brake.is_blocked(key, now):
        raise LoginBlockedError(
            _(
                "Too many failed log-ins with this email address. Wait a few minutes and "
                "try again, or reset your password."
            )
        )
    user = find_user_by_email(address)
    if user is None or not user.has_password:
        check_password_hash(_dummy_hash(), password)  # the same work as for a real account
    elif check_password_hash(user.password_hash, password):
        login_brake.release(key)
        user.last_login_at = now
        db.session.flush()
        return user
    login_brake.record_failure(key, now)
    raise LoginError(wrong)


# --- forgotten password ------------------------------------------------------------------------


def request_password_reset(email: str, now: datetime) -> None:
    """Queue one message to the address: a reset link when it has an account, otherwise a
    note that no account uses it (perhaps the person signed up with another address).

    Both take the same steps — one lookup, one rendered message, one outbox row, sent
    later by the outbox — so neither the caller's answer, which is the same either way,
    nor its timing tells whether the address has an account.
    """
    try:
        address = normalise_email(email)
    except AccountError:
        return
    user = find_user_by_email(address)
    site = current_app.config["SITE_NAME"]
    if user is None:
        queue_email(
            address,
            _l("About your password request on %(site)s", site=site),
            "account_reset_no_account",
            language=i18n.current_code(),
            category="account",
            forgot_url=external_url("accounts.forgot_password"),
            signup_url=external_url("accounts.signup"),
        )
        return
    token = tokens.make_token(
        tokens.RESET_PASSWORD,
        {"uid": user.id, "pw": tokens.password_fingerprint(user.password_hash)},
        now,
    )
    queue_email(
        user.email,
        _l("Reset your password"),
        "account_reset",
        language=user.language,
        category="account",
        name=user.name,
        reset_url=external_url("accounts.reset_password", token=token),
        minutes=current_app.config["PASSWORD_RESET_MAX_AGE"] // 60,
    )


def user_for_reset_token(token: str, now: datetime) -> User:
    payload = tokens.read_token(
        tokens.RESET_PASSWORD, token, now, current_app.config["PASSWORD_RESET_MAX_AGE"]
    )
    user = db.session.get(User, payload.get("uid"))
    # The fingerprint ties the link to the password it was made for: once the password
    # changes (by this link or otherwise) the link is spent.
    if user is None or payload.get("pw") != tokens.password_fingerprint(user.password_hash):
        raise tokens.TokenError(_("This link has already been used or is no longer valid."))
    return user


def reset_password(token: str, new_password: str, now: datetime) -> User:
    user = user_for_reset_token(token, now)
    check_password_strength(new_password, email=user.email)
    set_password(user, new_password, now)
    # The link reached the inbox, so the address works.
    if user.email_verified_at is None:
        user.email_verified_at = now
    # The owner proved they read the address's mail: lift its log-in brake.
    login_brake.release(login_brake.address_key(user.email))
    db.session.flush()
    return user


def set_password(user: User, new_password: str, now: datetime) -> None:
    user.password_hash = hash_password(new_password)
    user.password_changed_at = now
    end_sessions(user)


def end_sessions(user: User) -> None:
    """End every session and remember-me cookie of the account, copies included.

    Sessions carry the session token, not the user id (see `auth`): a new token makes
    every cookie issued so far, wherever it is, load nobody. The caller logs the current
    browser in again when it should stay logged in.
    """
    user.session_token = new_token()
    db.session.flush()


# --- administration (CLI) ------------------------------------------------------------------------


def list_users() -> Select[tuple[User]]:
    return select(User).order_by(User.email)
