"""Account rules: sign-up, log-in and its brake, verification, reset, profile, deletion."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache
from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import Select, case, literal, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from werkzeug.security import check_password_hash, generate_password_hash

from eventsite import database
from eventsite.accounts import tokens
from eventsite.accounts.common_passwords import COMMON_PASSWORDS
from eventsite.accounts.models import Membership, User, new_token
from eventsite.errors import DomainError
from eventsite.events.models import Organisation
from eventsite.extensions import db
from eventsite.links import external_url
from eventsite.mail.services import queue_email
from eventsite.registration import services as registration_services
from eventsite.registration.models import Registration
from eventsite.timeutil import UTCDateTime, utcnow

PASSWORD_MIN_LENGTH = 10
PASSWORD_MAX_LENGTH = 200


class AccountError(DomainError):
    """An account rule said no."""


class LoginError(AccountError):
    """Wrong address or password (the message never says which)."""


class LoginBlockedError(LoginError):
    """Too many failed log-ins for this account lately."""


# --- checks ------------------------------------------------------------------------------------


def normalise_email(raw: str, field: str = "email") -> str:
    """A syntactically valid address, lower-cased so uniqueness ignores case."""
    raw = (raw or "").strip()
    if any(ch in raw for ch in "\r\n"):
        raise AccountError(_("Enter a single email address."), field=field)
    try:
        result = validate_email(raw, check_deliverability=False)
    except EmailNotValidError as err:
        raise AccountError(_("Enter a valid email address."), field=field) from err
    return result.normalized.lower()


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
    return generate_password_hash(password, method="scrypt")


@cache
def _dummy_hash() -> str:
    return hash_password("a password nobody has")


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
    )
    # A concurrent sign-up with the same address loses at the unique constraint.
    try:
        with db.session.begin_nested():
            db.session.add(user)
    except IntegrityError as err:
        raise AccountError(taken, field="email") from err
    return user


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
    """Create the account and queue its verification email.

    When the address already has an account, nothing is created and its owner gets a
    friendly note instead; the caller answers exactly as for a new account, so the sign-up
    form cannot be used to learn who has an account. Returns the new user or None.

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
            _("You already have an account on %(site)s", site=current_app.config["SITE_NAME"]),
            "account_exists",
            category="account",
            name=existing.name if existing else "",
            login_url=external_url("accounts.login", next=next_path),
            reset_url=external_url("accounts.forgot_password"),
        )
        return None
    send_verification_email(user, now, next_path=next_path)
    return user


def send_verification_email(user: User, now: datetime, *, next_path: str | None = None) -> None:
    token = tokens.make_token(tokens.VERIFY_EMAIL, {"uid": user.id, "email": user.email}, now)
    queue_email(
        user.email,
        _("Confirm your email address"),
        "account_verify",
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
    if user.email_verified_at is None:
        user.email_verified_at = now
        db.session.flush()
    return user


# --- log-in ------------------------------------------------------------------------------------


def authenticate(email: str, password: str, now: datetime) -> User:
    """The user whose address and password match, or LoginError.

    Failed attempts are counted on the account; past LOGIN_FAILURE_LIMIT within the window the
    account refuses log-ins for LOGIN_BLOCK_MINUTES, whatever the IP address. The caller must
    commit even when this raises, so the failure is recorded.
    """
    wrong = _("The email address or password is not right.")
    database.lock_for_write()  # SQLite: every attempt writes to the row it reads
    user = find_user_by_email(email or "")
    if user is None:
        check_password_hash(_dummy_hash(), password)  # the same work as for a real account
        raise LoginError(wrong)
    if user.login_blocked_until is not None and user.login_blocked_until > now:
        raise LoginBlockedError(
            _(
                "Too many failed log-ins for this account. Wait a few minutes and try again, "
                "or reset your password."
            )
        )
    if not check_password_hash(user.password_hash, password):
        _record_failed_login(user, now)
        raise LoginError(wrong)
    user.failed_login_count = 0
    user.failed_login_window_started_at = None
    user.login_blocked_until = None
    user.last_login_at = now
    db.session.flush()
    return user


def _record_failed_login(user: User, now: datetime) -> None:
    config = current_app.config
    window_start = now - timedelta(minutes=config["LOGIN_FAILURE_WINDOW_MINUTES"])
    fresh_window = or_(
        User.failed_login_window_started_at.is_(None),
        User.failed_login_window_started_at < window_start,
    )
    # One UPDATE counts atomically, so parallel attempts cannot slip under the limit.
    db.session.execute(
        update(User)
        .where(User.id == user.id)
        .values(
            failed_login_count=case((fresh_window, 1), else_=User.failed_login_count + 1),
            failed_login_window_started_at=case(
                (fresh_window, literal(now, UTCDateTime)),
                else_=User.failed_login_window_started_at,
            ),
        )
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(user)
    if user.failed_login_count >= config["LOGIN_FAILURE_LIMIT"]:
        user.login_blocked_until = now + timedelta(minutes=config["LOGIN_BLOCK_MINUTES"])
        user.failed_login_count = 0
        user.failed_login_window_started_at = None
    db.session.flush()


# --- forgotten password ------------------------------------------------------------------------


def request_password_reset(email: str, now: datetime) -> None:
    """Queue a reset link when the address has an account; otherwise do nothing.

    The caller answers the same either way.
    """
    try:
        address = normalise_email(email)
    except AccountError:
        return
    user = find_user_by_email(address)
    if user is None:
        return
    token = tokens.make_token(
        tokens.RESET_PASSWORD,
        {"uid": user.id, "pw": tokens.password_fingerprint(user.password_hash)},
        now,
    )
    queue_email(
        user.email,
        _("Reset your password"),
        "account_reset",
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
    _set_password(user, new_password, now)
    # The link reached the inbox, so the address works.
    if user.email_verified_at is None:
        user.email_verified_at = now
    user.login_blocked_until = None
    user.failed_login_count = 0
    db.session.flush()
    return user


def _set_password(user: User, new_password: str, now: datetime) -> None:
    user.password_hash = hash_password(new_password)
    user.password_changed_at = now
    # A new session token ends every other session and remember-me cookie.
    user.session_token = new_token()


# --- the account page --------------------------------------------------------------------------


def update_profile(user: User, *, name: str, affiliation: str, country: str | None) -> None:
    user.name = name.strip()
    user.affiliation = (affiliation or "").strip()
    user.country = country or None
    db.session.flush()


def _require_password(user: User, password: str, field: str) -> None:
    if not check_password_hash(user.password_hash, password or ""):
        raise AccountError(_("Your current password is not right."), field=field)


def change_password(user: User, *, current: str, new: str, now: datetime) -> None:
    _require_password(user, current, "current_password")
    check_password_strength(new, email=user.email, field="new_password")
    _set_password(user, new, now)
    queue_email(
        user.email,
        _("Your password was changed"),
        "account_password_changed",
        category="account",
        name=user.name,
        reset_url=external_url("accounts.forgot_password"),
    )
    db.session.flush()


def request_email_change(user: User, *, new_email: str, password: str, now: datetime) -> str:
    """Email a confirmation link to the new address; nothing changes until it is followed."""
    _require_password(user, password, "password")
    address = normalise_email(new_email, field="new_email")
    if address == user.email:
        raise AccountError(_("This is already your email address."), field="new_email")
    if find_user_by_email(address) is not None:
        # Tell the owner of that address, not the person asking.
        queue_email(
            address,
            _(
                "Someone tried to use your address on %(site)s",
                site=current_app.config["SITE_NAME"],
            ),
            "account_email_in_use",
            category="account",
            reset_url=external_url("accounts.forgot_password"),
        )
        return address
    token = tokens.make_token(
        tokens.CHANGE_EMAIL, {"uid": user.id, "old": user.email, "new": address}, now
    )
    queue_email(
        address,
        _("Confirm your new email address"),
        "account_change_email",
        category="account",
        name=user.name,
        confirm_url=external_url("accounts.confirm_email_change", token=token),
        hours=current_app.config["EMAIL_CHANGE_MAX_AGE"] // 3600,
    )
    return address


def confirm_email_change(token: str, now: datetime) -> User:
    payload = tokens.read_token(
        tokens.CHANGE_EMAIL, token, now, current_app.config["EMAIL_CHANGE_MAX_AGE"]
    )
    user = db.session.get(User, payload.get("uid"))
    if user is None or user.email != payload.get("old"):
        raise tokens.TokenError(_("This link has already been used or is no longer valid."))
    new_address = str(payload.get("new", ""))
    taken = AccountError(_("Another account uses this email address now."))
    if find_user_by_email(new_address) is not None:
        raise taken
    try:
        with db.session.begin_nested():
            user.email = new_address
            user.email_verified_at = now
    except IntegrityError as err:
        raise taken from err
    return user


def export_user_data(user: User) -> dict[str, Any]:
    """Everything we hold about the person, for "download my data"."""
    data: dict[str, Any] = {
        "account": {
            "name": user.name,
            "email": user.email,
            "affiliation": user.affiliation,
            "country": user.country,
            "roles": user.roles,
            "email_verified_at": _iso(user.email_verified_at),
            "created_at": _iso(user.created_at),
            "password_changed_at": _iso(user.password_changed_at),
            "last_login_at": _iso(user.last_login_at),
        },
        "organisations": [
            {"name": m.organisation.name, "slug": m.organisation.slug} for m in user.memberships
        ],
    }
    data["registrations"] = _registrations_of(user)
    return data


def _registrations_of(user: User) -> list[dict[str, Any]]:
    """Every registration, cancelled ones too, with the answers as the person gave them
    (question label as it read then, answer in words) and each moment that changed it."""
    rows = db.session.scalars(
        select(Registration)
        .options(joinedload(Registration.event))
        .where(Registration.user_id == user.id)
        .order_by(Registration.id)
    ).all()
    return [
        {
            "event": row.event.title,
            "event_slug": row.event.slug,
            "event_starts_at": _iso(row.event.starts_at),
            "status": str(row.status),
            "answers": [
                {"question": label, "answer": answer}
                for label, answer in registration_services.answer_rows(row)
            ],
            "created_at": _iso(row.created_at),
            "updated_at": _iso(row.updated_at),
            "promoted_at": _iso(row.promoted_at),
            "decided_at": _iso(row.decided_at),
            "checked_in_at": _iso(row.checked_in_at),
            "cancelled_at": _iso(row.cancelled_at),
        }
        for row in rows
    ]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def organisations_left_without_members(user: User) -> list[Organisation]:
    """The organisations of which `user` is the only member, in name order.

    Locks the memberships of the person's organisations (PostgreSQL; SQLite callers take
    `lock_for_write()` first) so that two members leaving at once cannot both see the
    other one still there. Rows are locked in one order everywhere to avoid deadlocks."""
    own = select(Membership.organisation_id).where(Membership.user_id == user.id)
    rows = db.session.execute(
        select(Membership.organisation_id, Membership.user_id)
        .where(Membership.organisation_id.in_(own))
        .order_by(Membership.organisation_id, Membership.user_id)
        .with_for_update()
    ).all()
    members: dict[int, int] = {}
    for organisation_id, _user_id in rows:
        members[organisation_id] = members.get(organisation_id, 0) + 1
    alone = [organisation_id for organisation_id, n in members.items() if n == 1]
    if not alone:
        return []
    return list(
        db.session.scalars(
            select(Organisation)
            .where(Organisation.id.in_(alone))
            .order_by(Organisation.name, Organisation.id)
        )
    )


def delete_account(user: User, *, password: str, now: datetime) -> None:
    """Delete the account, cancelling its registrations (which promotes waiting lists).

    Refused while the person is the last member of an organisation: an organisation
    always keeps at least one member who can manage its events."""
    _require_password(user, password, "password")
    alone = organisations_left_without_members(user)
    if alone:
        names = ", ".join(organisation.name for organisation in alone)
        raise AccountError(
            ngettext(
                "You are the only member of %(names)s. Add another member to it first, "
                "then delete your account.",
                "You are the only member of these organisations: %(names)s. Add another "
                "member to each first, then delete your account.",
                len(alone),
                names=names,
            )
        )
    registration_services.cancel_registrations_for_user(user, now)
    db.session.delete(user)
    db.session.flush()


# --- administration (CLI) ------------------------------------------------------------------------


def grant_membership(email: str, organisation_slug: str) -> Membership:
    user = find_user_by_email(email)
    if user is None:
        raise AccountError(_("No account has the address %(email)s.", email=email))
    organisation = db.session.scalar(
        select(Organisation).where(Organisation.slug == organisation_slug)
    )
    if organisation is None:
        raise AccountError(_("No organisation has the slug %(slug)s.", slug=organisation_slug))
    membership = db.session.get(Membership, (user.id, organisation.id))
    if membership is None:
        from eventsite.organiser import organisations  # the workspace builds on accounts

        # As the workspace adds a member: audited, and a pending invitation is settled.
        organisations.join(organisation, user, None, utcnow(), "member_add")
        membership = db.session.get(Membership, (user.id, organisation.id))
    return membership


def list_users() -> Select[tuple[User]]:
    return select(User).order_by(User.email)
