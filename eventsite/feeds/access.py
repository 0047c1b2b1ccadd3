"""Who may see an organisation's member feeds: its members (and administrators)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from eventsite.accounts.models import User
from eventsite.extensions import db
from eventsite.organisations.models import Organisation


def is_member(user: Any, organisation: Organisation) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.is_member_of(organisation.id)


def member_organisations(user: User) -> list[Organisation]:
    if user.is_admin:
        return list(db.session.scalars(select(Organisation).order_by(Organisation.name)))
    return sorted((m.organisation for m in user.memberships), key=lambda o: o.name.lower())
