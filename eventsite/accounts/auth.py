"""Flask-Login wiring: users are loaded by their session token, not their id, and a log-in
lasts at most REMEMBER_COOKIE_DURATION (30 days), checked here, not only by the browser."""

from __future__ import annotations

import functools
from datetime import timedelta
from typing import Any

from flask import Flask, Request, current_app, g, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_login import current_user, user_logged_in
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import Select, bindparam, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Mapper, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from eventsite import catalogue, database, i18n
from eventsite.accounts import profile
from eventsite.accounts.models import User
from eventsite.extensions import db, login_manager
from eventsite.i18n import lazy_gettext as _l
from eventsite.timeutil import utcnow


def configure_login(app: Flask) -> None:
    login_manager.login_view = "accounts.login"
    login_manager.login_message = _l("Please log in to see this page.")
    # The message is translated when it is flashed, in the reader's language.
    login_manager.localize_callback = str
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    app.session_interface = CookieSessionInterface()
    app.before_request(_anonymous_without_cookies)
    app.before_request(_store_language_choice)
    user_logged_in.connect(_carry_language_into_account, app)

    @login_manager.user_loader
    def _load_user(user_id: str) -> User | None:
        token, _, began = user_id.rpartition(".")
        if not token or not began.isdigit():
            return None  # a cookie from before log-ins carried their start: log in again
        if utcnow().timestamp() - int(began) > _max_login_age().total_seconds():
            return None
        if database.can_read_directly():
            return _read_user_directly(token)
        found = db.session.scalars(_user_statement(), {"token": token})
        return found.unique().first()


def _anonymous_without_cookies() -> None:
    """A request that brings no cookie is an anonymous visitor's (no session, no remember-me
    cookie; the API's tokens are not Flask-Login's): said at once, as Flask-Login's loading
    would find after hashing the address and browser for its session protection (its own
    `_update_request_context_with_user`; ~2 % of a rendered page's time in a gunicorn
    worker, py-spy under `make bench`)."""
    if "HTTP_COOKIE" not in request.environ and "_login_user" not in g:
        login_manager._update_request_context_with_user()


class CookieSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with nothing to unsign when the request brings no
    session cookie (every anonymous visitor's first page), and one signing serializer
    while the keys stay the same: Flask builds a new one for every request before it even
    looks for the cookie, some 1.7 % of a rendered page's time in a gunicorn worker (py-spy
    under `make bench`'s wrk load)."""

    _kept: tuple[tuple[Any, ...], URLSafeTimedSerializer | None] | None = None

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        keys = (app.secret_key, *(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        kept = self._kept
        if kept is None or kept[0] != keys:
            kept = self._kept = (keys, super().get_signing_serializer(app))
        return kept[1]


@functools.cache
def _user_statement() -> Select[tuple[User]]:
    """The logged-in person by their session token, with their memberships in the same
    query: every page's header asks for them (the Workspace link), and so does every
    organiser route. Built once per process: building it took as long as running it."""
    return (
        select(User)
        .where(User.session_token == bindparam("token"))
        .options(joinedload(User.memberships))
    )


def _memberships_mapper() -> Mapper:
    return sa_inspect(User).relationships["memberships"].mapper


@functools.cache
def _row_keys() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The person's mapped columns and their memberships', by attribute."""
    return (
        tuple(prop.key for prop in sa_inspect(User).column_attrs),
        tuple(prop.key for prop in _memberships_mapper().column_attrs),
    )


def _user_rows_statement() -> Select:
    """The person and each of their memberships (none: one row, its membership NULL), and
    the catalogue's stamp on each row: a logged-in request's pages, and its registration,
    look up what they keep by it (`catalogue.VersionedMemo`), and read it here rather than
    in a statement of its own."""
    membership = _memberships_mapper().class_
    user_keys, membership_keys = _row_keys()
    return (
        select(
            *(getattr(User, key) for key in user_keys),
            *(getattr(membership, key) for key in membership_keys),
            *catalogue.stamp_columns(),
        )
        .outerjoin(membership, membership.user_id == User.id)
        .where(User.session_token == bindparam("token"))
    )


def _read_user_directly(token: str) -> User | None:
    """`_user_statement`'s person and memberships, straight from the driver
    (`database.read_directly`): every logged-in request's first read."""
    rows = database.read_directly("logged-in user", _user_rows_statement, {"token": token})
    if not rows:
        return None
    user_keys, membership_keys = _row_keys()
    n = len(user_keys)
    catalogue.remember_request_stamp(*rows[0][-2:])
    user = database.adopt(User, dict(zip(user_keys, rows[0][:n], strict=True)))
    if "memberships" not in sa_inspect(user).dict:
        membership = _memberships_mapper().class_
        set_committed_value(
            user,
            "memberships",
            [
                database.adopt(membership, dict(zip(membership_keys, row[n:-2], strict=True)))
                for row in rows
                if row[n] is not None
            ],
        )
    return user


def _max_login_age() -> timedelta:
    duration = current_app.config["REMEMBER_COOKIE_DURATION"]
    return duration if isinstance(duration, timedelta) else timedelta(seconds=int(duration))


def _store_language_choice() -> None:
    """A `?lang=` choice while logged in is the account's language from now on (its
    emails too). Anonymous visitors' choices are kept by the cookie (i18n)."""
    if i18n.QUERY not in request.args:
        return
    chosen = i18n.query_language()
    if chosen and current_user.is_authenticated and profile.set_language(current_user, chosen):
        db.session.commit()


def _carry_language_into_account(_app: Flask, user: User) -> None:
    """Logging in on a browser where a language was chosen (the `lang` cookie) keeps it:
    the account takes that language, the latest choice the person made. Without the
    cookie the account's language applies (and the page switches to it)."""
    chosen = i18n.cookie_language()
    if chosen and profile.set_language(user, chosen):
        db.session.commit()
