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

from eventsite import signals
from eventsite.extensions import db
from eventsite.organisations.models import Membership


class Blocked(StrEnum):
    """Why someone may not leave an organisation now."""

    # Everyone else there was added without being asked.
    ONLY_UNCONSENTED_LEFT = "only_unconsented_left"
    # They are its only member and people are registered for its coming events (registration
    # says which, through `signals.members_leaving_alone`).
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
    if alone:
        # What keeps an organisation from being left alone belongs to the packages above
        # (registration: people registered for its coming events).
        for _receiver, needed in signals.members_leaving_alone.send(
            user_id, organisation_ids=alone, now=now
        ):
            for organisation_id in needed:
                blocked[organisation_id] = Blocked.REGISTRANTS_NEED_A_MEMBER
    return blocked
