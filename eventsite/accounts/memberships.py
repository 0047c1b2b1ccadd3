"""Who may leave an organisation: the rule shared by the workspace's Remove and deleting an
account.

Nobody is left in charge of an organisation they did not choose. A member who was added
without being asked may always leave; the last member who chose to join may not leave such
people behind on their own. While people are registered for an organisation's coming
events it keeps a member to look after them; otherwise its only member may leave too, and
the organisation stays, without members, in the administrators' hands (they see every
organisation and can invite someone).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select

from eventsite.accounts.models import Membership
from eventsite.events.models import Event, EventStatus
from eventsite.extensions import db
from eventsite.registration.models import ACTIVE_STATUSES, Registration


class Blocked(StrEnum):
    """Why someone may not leave an organisation now."""

    # Everyone else there was added without being asked.
    ONLY_UNCONSENTED_LEFT = "only_unconsented_left"
    # They are its only member and people are registered for its coming events.
    REGISTRANTS_NEED_A_MEMBER = "registrants_need_a_member"


def blocked_departures(
    user_id: int, now: datetime, organisation_ids: Collection[int] | None = None
) -> dict[int, Blocked]:
    """Organisation id -> why `user_id` may not leave it, for the organisations they
    belong to (only those in `organisation_ids`, when given). Those they may leave, and
    those they do not belong to, are absent.

    Locks the memberships of those organisations (PostgreSQL; SQLite callers take
    `lock_for_write()` first) so that two members leaving at once cannot both count the
    other one in. Rows are locked in one order everywhere to avoid deadlocks."""
    theirs = select(Membership.organisation_id).where(Membership.user_id == user_id)
    if organisation_ids is not None:
        theirs = theirs.where(Membership.organisation_id.in_(organisation_ids))
    memberships = db.session.scalars(
        select(Membership)
        .where(Membership.organisation_id.in_(theirs))
        .order_by(Membership.organisation_id, Membership.user_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    leaving_consented: dict[int, bool] = {}
    others: set[int] = set()
    others_consented: set[int] = set()
    for membership in memberships:
        organisation_id = membership.organisation_id
        if membership.user_id == user_id:
            leaving_consented[organisation_id] = membership.has_consented
        else:
            others.add(organisation_id)
            if membership.has_consented:
                others_consented.add(organisation_id)

    blocked: dict[int, Blocked] = {}
    alone: list[int] = []
    for organisation_id, consented in leaving_consented.items():
        if not consented or organisation_id in others_consented:
            continue
        if organisation_id in others:
            blocked[organisation_id] = Blocked.ONLY_UNCONSENTED_LEFT
        else:
            alone.append(organisation_id)
    for organisation_id in _with_coming_registrations(alone, now):
        blocked[organisation_id] = Blocked.REGISTRANTS_NEED_A_MEMBER
    return blocked


def _with_coming_registrations(organisation_ids: list[int], now: datetime) -> list[int]:
    """Those of the organisations with a published event, not yet over, that someone is
    registered for (confirmed, waiting or awaiting approval)."""
    if not organisation_ids:
        return []
    return list(
        db.session.scalars(
            select(Event.organisation_id)
            .distinct()
            .join(Registration, Registration.event_id == Event.id)
            .where(
                Event.organisation_id.in_(organisation_ids),
                Event.status == EventStatus.PUBLISHED,
                Event.ends_at > now,
                Registration.status.in_(ACTIVE_STATUSES),
            )
        )
    )
