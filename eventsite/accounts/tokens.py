"""Signed, expiring tokens for the links we email: one salt per purpose, time passed in."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from eventsite.errors import DomainError
from eventsite.i18n import gettext as _

# One salt per purpose: a verification token can never be replayed as a reset token.
VERIFY_EMAIL = "account-verify-email"
CHANGE_EMAIL = "account-change-email"
RESET_PASSWORD = "account-reset-password"
ANNOUNCE_CONFIRM = "announce-confirm"
REGISTRATION_HOLD = "registration-hold"
ANNOUNCE_UNSUBSCRIBE = "announce-unsubscribe"


class TokenError(DomainError):
    """The link is broken, forged, for another purpose, or too old."""

    def __init__(self, message: str, *, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


class _ClockSigner(TimestampSigner):
    """A TimestampSigner whose clock is the `now` the service was given."""

    def __init__(self, *args: Any, now: datetime, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._now = int(now.timestamp())

    def get_timestamp(self) -> int:
        return self._now


def _serializer(salt: str, now: datetime) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(
        current_app.config["SECRET_KEY"],
        salt=salt,
        signer=_ClockSigner,
        signer_kwargs={"now": now},
    )


def make_token(salt: str, payload: dict[str, Any], now: datetime) -> str:
    return _serializer(salt, now).dumps(payload)


def read_token(salt: str, token: str, now: datetime, max_age: int | None) -> dict[str, Any]:
    """The payload, or TokenError. `max_age` None means the link never expires."""
    try:
        payload = _serializer(salt, now).loads(token, max_age=max_age)
    except SignatureExpired as err:
        raise TokenError(_("This link has expired. Ask for a new one."), expired=True) from err
    except BadSignature as err:
        raise TokenError(_("This link is not valid.")) from err
    if not isinstance(payload, dict):
        raise TokenError(_("This link is not valid."))
    return payload


def password_fingerprint(password_hash: str) -> str:
    """A short digest of the current hash: a reset link dies once the password changes."""
    return hashlib.sha256(password_hash.encode("utf-8")).hexdigest()[:20]


# --- log-in links ----------------------------------------------------------------------------

LOGIN_LINK = "account-login-link"


def login_fingerprint(email: str, session_token: str, last_login_at: datetime | None) -> str:
    """A short digest of what a log-in changes: a log-in link dies once used (the log-in
    moves `last_login_at`), when the account logs out everywhere (a new session token) and
    when its address changes."""
    last = last_login_at.astimezone(UTC).isoformat() if last_login_at is not None else ""
    message = f"{email}\0{session_token}\0{last}"
    return hashlib.sha256(message.encode("utf-8")).hexdigest()[:20]
