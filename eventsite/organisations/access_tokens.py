"""Personal access tokens for the organiser API: made by a member for one organisation, to
read or to write, shown once (only the SHA-256 of the secret is kept), ending on a chosen
day or when revoked. The workspace makes and revokes them; the API authenticates with them."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eventsite.accounts.models import User
from eventsite.errors import DomainError
from eventsite.extensions import db
from eventsite.i18n import gettext as _
from eventsite.organisations.models import Organisation
from eventsite.timeutil import UTCDateTime, utcnow

PREFIX = "evt_"  # tells a reader (and a secret scanner) what the string is
MAX_NAME_LENGTH = 100
MAX_SECRET_LENGTH = 100


class TokenScope(StrEnum):
    READ = "read"
    WRITE = "write"


class TokenError(DomainError):
    """The token cannot be used: unknown, revoked or expired (the API answers 401)."""


class AccessToken(db.Model):
    __tablename__ = "access_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(MAX_NAME_LENGTH))
    scope: Mapped[TokenScope] = mapped_column(String(10))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(
        String(12)
    )  # the secret's first characters, to tell tokens apart
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    organisation: Mapped[Organisation] = relationship()
    created_by: Mapped[User | None] = relationship()

    def is_usable(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)

    @property
    def may_write(self) -> bool:
        return self.scope == TokenScope.WRITE


def hash_secret(secret: str) -> str:
    """SHA-256: a 256-bit random secret needs no slow hash (as the feed tokens)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(
    organisation: Organisation,
    *,
    name: str,
    scope: TokenScope,
    expires_at: datetime | None,
    created_by: User,
    now: datetime,
) -> tuple[AccessToken, str]:
    """A new token and its secret, to be shown once: only its hash is stored."""
    name = " ".join(name.split())
    if not name:
        raise DomainError(_("Give the token a name, to recognise it later."), field="name")
    if expires_at is not None and expires_at <= now:
        raise DomainError(_("Choose an expiry date in the future."), field="expires_at")
    secret = PREFIX + secrets.token_urlsafe(32)
    token = AccessToken(
        organisation_id=organisation.id,
        created_by_id=created_by.id,
        name=name[:MAX_NAME_LENGTH],
        scope=scope,
        token_hash=hash_secret(secret),
        hint=secret[: len(PREFIX) + 4],
        created_at=now,
        expires_at=expires_at,
    )
    db.session.add(token)
    db.session.flush()
    return token, secret


def revoke_token(token: AccessToken, now: datetime) -> None:
    if token.revoked_at is None:
        token.revoked_at = now
        db.session.flush()


def tokens_of(organisation: Organisation) -> list[AccessToken]:
    return list(
        db.session.scalars(
            select(AccessToken)
            .where(AccessToken.organisation_id == organisation.id)
            .order_by(AccessToken.created_at.desc(), AccessToken.id.desc())
        )
    )


def authenticate(secret: str, now: datetime) -> AccessToken:
    """The token a secret belongs to, its last use noted; TokenError when it cannot be used."""
    if not secret or len(secret) > MAX_SECRET_LENGTH or not secret.isascii():
        raise TokenError(_("The access token is not valid."))
    token = db.session.scalar(
        select(AccessToken).where(AccessToken.token_hash == hash_secret(secret))
    )
    if token is None:
        raise TokenError(_("The access token is not valid."))
    if token.revoked_at is not None:
        raise TokenError(_("This access token has been revoked."))
    if not token.is_usable(now):
        raise TokenError(_("This access token has expired."))
    token.last_used_at = now
    db.session.flush()
    return token
