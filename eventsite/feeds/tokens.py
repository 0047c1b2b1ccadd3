"""The secret feed tokens: a person's feed and an organisation's private feed, each found by
its token and made anew on request (the old address then answers 404)."""

from __future__ import annotations

from sqlalchemy import select

from eventsite.accounts.models import User, new_token
from eventsite.extensions import db
from eventsite.organisations.models import Organisation

MAX_TOKEN_LENGTH = 64


def _usable_token(token: str) -> bool:
    return 0 < len(token) <= MAX_TOKEN_LENGTH and token.isascii() and "\x00" not in token


def user_for_calendar_token(token: str) -> User | None:
    if not _usable_token(token):
        return None
    return db.session.scalar(select(User).where(User.calendar_token == token))


def regenerate_user_calendar_token(user: User) -> str:
    """A new secret for the personal feed; the old URL stops working."""
    user.calendar_token = new_token()
    db.session.flush()
    return user.calendar_token


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
