"""The secret feed tokens: a person's feed and an organisation's private feed, each found by
its token and made anew on request (the old address then answers 404). A person's token
is stored as its hash only, and shown once, when made."""

from __future__ import annotations

from sqlalchemy import select

from eventsite.accounts.models import User, hash_calendar_token, new_token
from eventsite.extensions import db
from eventsite.organisations.models import Organisation

MAX_TOKEN_LENGTH = 64


def _usable_token(token: str) -> bool:
    return 0 < len(token) <= MAX_TOKEN_LENGTH and token.isascii() and "\x00" not in token


def user_for_calendar_token(token: str) -> User | None:
    if not _usable_token(token):
        return None
    return db.session.scalar(
        select(User).where(User.calendar_token_hash == hash_calendar_token(token))
    )


def regenerate_user_calendar_token(user: User) -> str:
    """A new secret for the personal feed, returned to be shown once (only its hash is
    kept); the old URL stops working."""
    token = new_token()
    user.calendar_token_hash = hash_calendar_token(token)
    db.session.flush()
    return token


def organisation_for_calendar_token(token: str) -> Organisation | None:
    if not _usable_token(token):
        return None
    return db.session.scalar(select(Organisation).where(Organisation.calendar_token == token))


def ensure_organisation_calendar_token(organisation: Organisation) -> str:
    """The organisation's private feed secret, created the first time a member asks."""
    if not organisation.calendar_token:
        organisation.calendar_token = new_token()
        db.session.flush()
    return organisation.calendar_token


def regenerate_organisation_calendar_token(organisation: Organisation) -> str:
    organisation.calendar_token = new_token()
    db.session.flush()
    return organisation.calendar_token
