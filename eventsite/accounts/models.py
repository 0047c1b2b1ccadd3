"""People: their accounts and the log-in failures counted per address."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import TYPE_CHECKING

from flask_login import UserMixin
from sqlalchemy import Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eventsite.extensions import db
from eventsite.timeutil import UTCDateTime, utcnow

if TYPE_CHECKING:
    from eventsite.organisations.models import Membership


def new_token() -> str:
    return secrets.token_urlsafe(32)


def hash_calendar_token(token: str) -> str:
    """SHA-256 of a personal feed secret. A 256-bit random secret needs no slow hash:
    there is nothing to guess from the digest, and a copy of the database (a backup, a
    leak) holds no working address."""
    return hashlib.sha256(token.encode()).hexdigest()


# What `password_hash` starts with for an account made without a password (a visitor who
# registered for an event in one step): no hash has this form, so no password matches it.
NO_PASSWORD_PREFIX = "!"


def unusable_password_hash() -> str:
    """Unique per account, so a password-reset link's fingerprint differs between them."""
    return NO_PASSWORD_PREFIX + new_token()


def unshown_calendar_token_hash() -> str:
    """A new account's feed secret, known to nobody: the person makes their address when
    they want one, and it is shown to them then, once."""
    return hash_calendar_token(new_token())


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-cased, so the unique constraint is case-insensitive.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    affiliation: Mapped[str] = mapped_column(String(300), default="")
    country: Mapped[str | None] = mapped_column(String(2))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Flask-Login's alternative id: replaced on log-out and on password change or reset,
    # which ends every session and remember-me cookie of the account, copies included.
    session_token: Mapped[str] = mapped_column(String(64), unique=True, default=new_token)
    # SHA-256 of the secret in the personal calendar feed's URL (the secret itself is shown
    # once, when made); making a new one retires the old URL.
    calendar_token_hash: Mapped[str] = mapped_column(
        String(64), unique=True, default=unshown_calendar_token_hash
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The language of its emails and, while logged in, of its pages (i18n.LANGUAGES):
    # the page's at sign-up, then changed with the switcher or on the account page.
    language: Mapped[str] = mapped_column(String(16), default="en", server_default="en")

    # Organisations sit above accounts: named by string, resolved once every model is
    # loaded (eventsite.models).
    memberships: Mapped[list[Membership]] = relationship(
        "Membership", back_populates="user", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<User {self.email}>"

    def get_id(self) -> str:
        """What the session and the remember-me cookie hold: the account's session token
        (replaced at log-out, which ends every copy) and when this log-in began, so that
        auth.py can refuse a log-in older than REMEMBER_COOKIE_DURATION however the cookie
        was kept."""
        return f"{self.session_token}.{int(utcnow().timestamp())}"

    @property
    def is_verified(self) -> bool:
        return self.email_verified_at is not None

    @property
    def has_password(self) -> bool:
        """False for an account made by registering in one step, until a password is set."""
        return not self.password_hash.startswith(NO_PASSWORD_PREFIX)

    @property
    def is_organiser(self) -> bool:
        return bool(self.memberships)

    @property
    def roles(self) -> list[str]:
        """attendee (everyone), organiser (member of an organisation), admin."""
        roles = ["attendee"]
        if self.is_organiser:
            roles.append("organiser")
        if self.is_admin:
            roles.append("admin")
        return roles

    def is_member_of(self, organisation_id: int) -> bool:
        return self.is_admin or any(m.organisation_id == organisation_id for m in self.memberships)


class LoginFailure(db.Model):
    """Failed log-ins with one email address, kept whether or not an account has it: the
    brake then answers alike for every address, and says nothing about who has an account.

    Past the limit within the window the address refuses log-ins until blocked_until,
    whatever the IP address. Rows are forgotten once neither counts any more.
    """

    __tablename__ = "login_failures"

    # HMAC-SHA256 of the normalised address under SECRET_KEY: the table does not list the
    # addresses people tried.
    address_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    failure_count: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
