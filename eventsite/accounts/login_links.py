"""Log-in by emailed link: asking for one, and following it (once, within
LOGIN_LINK_MAX_AGE)."""

from __future__ import annotations

from datetime import datetime

from flask import current_app

from eventsite import i18n
from eventsite.accounts import login_brake, services, tokens
from eventsite.accounts.models import User
from eventsite.extensions import db
from eventsite.i18n import gettext as _
from eventsite.i18n import lazy_gettext as _l
from eventsite.links import external_url
from eventsite.mail.services import queue_email


def _fingerprint(user: User) -> str:
    return tokens.login_fingerprint(user.email, user.session_token, user.last_login_at)


def request_login_link(address: str, now: datetime, *, next_path: str | None = None) -> None:
    """Queue one message to `address` (normalised by the caller): a log-in link when it has
    an account, otherwise a note that no account uses it, with a way to sign up.

    As for a forgotten password, both take the same steps (one lookup, one rendered
    message, one outbox row) and the caller answers the same either way: asking for a
    link tells nobody whether the address has an account. `next_path` (a path on this
    site, checked by the caller) is where the link leads once followed.
    """
    user = services.find_user_by_email(address)
    site = current_app.config["SITE_NAME"]
    if user is None:
        queue_email(
            address,
            _l("About your log-in request on %(site)s", site=site),
            "account_login_no_account",
            language=i18n.current_code(),
            category="account",
            signup_url=external_url("accounts.signup", next=next_path),
        )
        return
    token = tokens.make_token(tokens.LOGIN_LINK, {"uid": user.id, "fp": _fingerprint(user)}, now)
    queue_email(
        user.email,
        _l("Your log-in link for %(site)s", site=site),
        "account_login_link",
        language=user.language,
        category="account",
        name=user.name,
        login_url=external_url("accounts.login_with_link", token=token, next=next_path),
        minutes=current_app.config["LOGIN_LINK_MAX_AGE"] // 60,
    )


def user_for_login_link(token: str, now: datetime, *, lock: bool = False) -> User:
    """The account a log-in link opens, or TokenError (forged, too old, used). `lock`
    holds the account's row until the transaction ends, so two requests with the same
    link cannot both spend it."""
    payload = tokens.read_token(
        tokens.LOGIN_LINK, token, now, current_app.config["LOGIN_LINK_MAX_AGE"]
    )
    user = db.session.get(User, payload.get("uid"), with_for_update=lock, populate_existing=lock)
    # The fingerprint ties the link to the account's last log-in: once any log-in (this
    # link's or another) happens, or the account logs out everywhere, the link is spent.
    if user is None or payload.get("fp") != _fingerprint(user):
        raise tokens.TokenError(_("This link has already been used or is no longer valid."))
    return user


def log_in_with_link(token: str, now: datetime) -> User:
    """Spend the link and return its account, or TokenError.

    The link reached the address's inbox: that confirms the address, and lifts the
    address's brake on failed password log-ins, as a password reset does.
    """
    user = user_for_login_link(token, now, lock=True)
    user.last_login_at = now  # spends this link and every other one sent before
    if user.email_verified_at is None:
        user.email_verified_at = now
    login_brake.release(login_brake.address_key(user.email))
    db.session.flush()
    return user
