"""The account page's rules: profile, password, email address, your data, deleting it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash

from eventsite import i18n, signals
from eventsite.accounts import services, tokens
from eventsite.accounts.models import User
from eventsite.accounts.services import AccountError
from eventsite.extensions import db
from eventsite.i18n import gettext as _
from eventsite.i18n import lazy_gettext as _l
from eventsite.links import external_url
from eventsite.mail.services import queue_email
from eventsite.timeutil import iso_or_none


def update_profile(
    user: User, *, name: str, affiliation: str, country: str | None, language: str | None = None
) -> None:
    """`language` None: unchanged."""
    user.name = name.strip()
    user.affiliation = (affiliation or "").strip()
    user.country = country or None
    if language is not None:
        set_language(user, language)
    db.session.flush()


def set_language(user: User, language: str) -> bool:
    """The account's pages and emails are in `language` from now on (any spelling
    i18n.normalise knows; another value changes nothing). Whether it changed."""
    code = i18n.normalise(language)
    if code is None or code == user.language:
        return False
    user.language = code
    db.session.flush()
    return True


def _require_password(user: User, password: str, field: str) -> None:
    if not check_password_hash(user.password_hash, password or ""):
        raise AccountError(_("Your current password is not right."), field=field)


def change_password(user: User, *, current: str, new: str, now: datetime) -> None:
    _require_password(user, current, "current_password")
    services.check_password_strength(new, email=user.email, field="new_password")
    services.set_password(user, new, now)
    queue_email(
        user.email,
        _l("Your password was changed"),
        "account_password_changed",
        language=user.language,
        category="account",
        name=user.name,
        reset_url=external_url("accounts.forgot_password"),
    )
    db.session.flush()


def set_first_password(user: User, *, new: str, now: datetime) -> None:
    """An account made without a password (registered in one step) chooses one. Only then:
    changing a password asks for the current one (`change_password`)."""
    if user.has_password:
        raise AccountError(
            _("Your account has a password already: change it on your account page.")
        )
    services.check_password_strength(new, email=user.email, field="new_password")
    services.set_password(user, new, now)
    db.session.flush()


def _language_of(address: str) -> str:
    owner = services.find_user_by_email(address)
    return owner.language if owner is not None else "en"


def request_email_change(user: User, *, new_email: str, password: str, now: datetime) -> str:
    """Email a confirmation link to the new address; nothing changes until it is followed."""
    _require_password(user, password, "password")
    address = services.normalise_email(new_email, field="new_email")
    if address == user.email:
        raise AccountError(_("This is already your email address."), field="new_email")
    if services.find_user_by_email(address) is not None:
        # Tell the owner of that address, not the person asking.
        queue_email(
            address,
            _l(
                "Someone tried to use your address on %(site)s",
                site=current_app.config["SITE_NAME"],
            ),
            "account_email_in_use",
            language=_language_of(address),
            category="account",
            reset_url=external_url("accounts.forgot_password"),
        )
        return address
    token = tokens.make_token(
        tokens.CHANGE_EMAIL, {"uid": user.id, "old": user.email, "new": address}, now
    )
    queue_email(
        address,
        _l("Confirm your new email address"),
        "account_change_email",
        language=user.language,
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
    if services.find_user_by_email(new_address) is not None:
        raise taken
    try:
        with db.session.begin_nested():
            user.email = new_address
            user.email_verified_at = now
    except IntegrityError as err:
        raise taken from err
    return user


def export_user_data(user: User) -> dict[str, Any]:
    """Everything we hold about the person, for "download my data": the account, then a
    section from each package that keeps something about them (`personal_data_requested`)."""
    data: dict[str, Any] = {
        "account": {
            "name": user.name,
            "email": user.email,
            "affiliation": user.affiliation,
            "country": user.country,
            "roles": user.roles,
            "email_verified_at": iso_or_none(user.email_verified_at),
            "created_at": iso_or_none(user.created_at),
            "password_changed_at": iso_or_none(user.password_changed_at),
            "last_login_at": iso_or_none(user.last_login_at),
        }
    }
    sections = [section for _receiver, section in signals.personal_data_requested.send(user)]
    data.update(sorted(sections, key=lambda section: section[0]))
    return data


def delete_account(user: User, *, password: str, now: datetime) -> None:
    """Delete the account. Every package that holds something of the person is asked
    first and may refuse with a `DomainError` (`account_deletion_requested`: the last member
    of an organisation people are registered with, say); then each removes what it holds
    (`account_deleting`: registrations are cancelled, which promotes waiting lists)."""
    _require_password(user, password, "password")
    signals.account_deletion_requested.send(user, now=now)
    signals.account_deleting.send(user, now=now)
    db.session.delete(user)
    db.session.flush()
