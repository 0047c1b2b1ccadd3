"""What organisations do when accounts (below them) send a signal: refuse to lose the
member an organisation needs, and say which organisations a person belongs to."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from eventsite import signals
from eventsite.accounts.models import User
from eventsite.extensions import db
from eventsite.i18n import ngettext
from eventsite.organisations import memberships
from eventsite.organisations.models import Organisation
from eventsite.organisations.services import OrganisationError


def _organisation_names(organisation_ids: list[int]) -> tuple[int, str]:
    names = db.session.scalars(
        select(Organisation.name)
        .where(Organisation.id.in_(organisation_ids))
        .order_by(Organisation.name, Organisation.id)
    ).all()
    return len(names), ", ".join(names)


@signals.account_deletion_requested.connect
def refuse_to_leave_organisations_stranded(user: User, *, now: datetime) -> None:
    """Deleting an account is refused where leaving an organisation is (`memberships`):
    when the person would leave behind only members who were added without being asked,
    or is the only member while people are registered for the organisation's coming
    events. Their memberships go with the account."""
    blocked = memberships.blocked_departures(user.id, now)
    needed = [
        i for i, why in blocked.items() if why == memberships.Blocked.REGISTRANTS_NEED_A_MEMBER
    ]
    if needed:
        count, names = _organisation_names(needed)
        raise OrganisationError(
            ngettext(
                "You are the only member of %(names)s, and people are registered for its "
                "coming events. Invite another member first (once they accept, you can go), "
                "or cancel those events; then delete your account.",
                "You are the only member of these organisations: %(names)s, and people are "
                "registered for their coming events. Invite another member to each first "
                "(once they accept, you can go), or cancel those events; then delete your "
                "account.",
                count,
                names=names,
            )
        )
    if blocked:
        count, names = _organisation_names(list(blocked))
        raise OrganisationError(
            ngettext(
                "The other members of %(names)s were added without being asked. Invite "
                "someone who accepts first, then delete your account.",
                "The other members of these organisations were added without being asked: "
                "%(names)s. Invite someone who accepts to each first, then delete your "
                "account.",
                count,
                names=names,
            )
        )


@signals.personal_data_requested.connect
def organisations_of(user: User) -> tuple[str, list[dict[str, Any]]]:
    """The organisations the person is a member of, for "download my data"."""
    return "organisations", [
        {"name": m.organisation.name, "slug": m.organisation.slug} for m in user.memberships
    ]
