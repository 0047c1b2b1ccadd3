"""The workspace's registrants table (filters, search, sort) and its messages to registrants.

The rules about registrations and questions are the registration package's (`services`,
`questions`, `rules`); the workspace views call them and record the audit log.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_sqlalchemy.pagination import SelectPagination
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import contains_eager

from eventsite import database
from eventsite.accounts.models import User
from eventsite.events.models import Event
from eventsite.extensions import db
from eventsite.i18n import lazy_gettext as _l
from eventsite.mail import services as mail
from eventsite.organiser import audit
from eventsite.registration.models import (
    ACTIVE_STATUSES,
    Registration,
    RegistrationStatus,
)

# --- the registrants table ----------------------------------------------------------------

SORTS = {
    "registered": (Registration.created_at, Registration.id),
    "-registered": (Registration.created_at.desc(), Registration.id.desc()),
    "name": (func.lower(User.name), Registration.id),
    "-name": (func.lower(User.name).desc(), Registration.id.desc()),
    "email": (User.email, Registration.id),
    "status": (Registration.status, Registration.created_at, Registration.id),
}
STATUS_FILTERS = ("all", "active", *(s.value for s in RegistrationStatus))


@dataclass(frozen=True)
class RegistrantFilters:
    status: str = "all"
    q: str = ""
    sort: str = "registered"

    @classmethod
    def parse(cls, args: Any) -> RegistrantFilters:
        status = args.get("status", "all")
        sort = args.get("sort", "registered")
        return cls(
            status=status if status in STATUS_FILTERS else "all",
            # No NUL: PostgreSQL refuses it in a query.
            q=(args.get("q") or "").replace("\x00", "").strip()[:100],
            sort=sort if sort in SORTS else "registered",
        )

    def query_args(self) -> dict[str, str]:
        args = {"status": self.status, "q": self.q, "sort": self.sort}
        return {k: v for k, v in args.items() if v and v != RegistrantFilters().__dict__[k]}


def table_total(filters: RegistrantFilters, counts: dict[str, int]) -> int | None:
    """How many rows the table finds, from the per-status counts its tabs show, when no
    search narrows it; None when it must be counted (`registrants_page`)."""
    if filters.q.split():
        return None
    if filters.status == "all":
        return sum(counts.values())
    if filters.status == "active":
        return sum(counts.get(str(status), 0) for status in ACTIVE_STATUSES)
    return counts.get(filters.status, 0)


class CountedPagination(SelectPagination):
    """`db.paginate`'s page when the number of rows is known already (`total=`): no
    COUNT over the joined, filtered select (at 100,000 registrations most of the
    table's first page: the scale curve in the README)."""

    def _query_count(self) -> int:
        return int(self._query_args["total"])


def paginate(
    event: Event, filters: RegistrantFilters, counts: dict[str, int], number: int, per_page: int
) -> SelectPagination:
    """A page of `registrants(event, filters)`, counted from the status counts when it can."""
    stmt = registrants(event, filters)
    total = table_total(filters, counts)
    if total is None:
        return db.paginate(stmt, page=number, per_page=per_page, error_out=False)
    return CountedPagination(
        select=stmt,
        session=db.session(),
        page=number,
        per_page=per_page,
        error_out=False,
        total=total,
    )


def _like(term: str) -> str:
    escaped = term.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def status_condition(status: str) -> Any:
    if status == "all":
        return None
    if status == "active":
        return database.in_constants(Registration.status, ACTIVE_STATUSES)
    return Registration.status == status


def registrants(event: Event, filters: RegistrantFilters) -> Select[tuple[Registration]]:
    """The event's registrations with their people, filtered, searched and sorted."""
    stmt = (
        select(Registration)
        .join(Registration.user)
        .options(contains_eager(Registration.user))
        .where(Registration.event_id == event.id)
    )
    condition = status_condition(filters.status)
    if condition is not None:
        stmt = stmt.where(condition)
    for term in filters.q.split()[:5]:
        pattern = _like(term)
        stmt = stmt.where(
            or_(
                func.lower(User.name).like(pattern, escape="\\"),
                func.lower(User.email).like(pattern, escape="\\"),
                func.lower(User.affiliation).like(pattern, escape="\\"),
            )
        )
    return stmt.order_by(*SORTS[filters.sort])


def selected(event: Event, registration_ids: Sequence[int]) -> list[Registration]:
    """The event's registrations among those ticked, with their people, in one query."""
    return list(
        db.session.scalars(
            select(Registration)
            .join(Registration.user)
            .options(contains_eager(Registration.user))
            .where(Registration.event_id == event.id, Registration.id.in_(list(registration_ids)))
            .order_by(func.lower(User.name), Registration.id)
        )
    )


# --- messages to registrants ----------------------------------------------------------------

# "Send to": a status of the table, or the people picked on it ("selected", with their ids).
SELECTED = "selected"


def recipients(
    event: Event, status: str, registration_ids: Sequence[int] = ()
) -> Select[tuple[User]]:
    stmt = (
        select(User)
        .join(Registration, Registration.user_id == User.id)
        .where(Registration.event_id == event.id)
    )
    if status == SELECTED:
        stmt = stmt.where(Registration.id.in_(list(registration_ids)))
    else:
        condition = status_condition(status)
        if condition is not None:
            stmt = stmt.where(condition)
    return stmt.order_by(User.id).distinct()


def recipient_count(event: Event, status: str, registration_ids: Sequence[int] = ()) -> int:
    stmt = recipients(event, status, registration_ids)
    return int(db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)


def first_recipient(event: Event, status: str, registration_ids: Sequence[int] = ()) -> User | None:
    """Whom the preview is addressed to: the first person who will receive the message."""
    return db.session.scalars(recipients(event, status, registration_ids).limit(1)).first()


def compose_message(
    event: Event, user: User, subject: str, body: str, *, event_url: str
) -> mail.RenderedEmail:
    """The organiser's message to one registrant, exactly as it is sent (and previewed):
    the event's name in the subject, the greeting, their text, the organisation's
    signature and the site's footer, from the organisation's name."""
    return mail.render_email(
        _l("%(subject)s — %(title)s", subject=subject, title=event.title),
        "organiser_message",
        language=user.language,
        from_name=event.organisation.name,
        event=event,
        user=user,
        body=body,
        sender_name=event.organisation.name,
        event_url=event_url,
    )


def email_registrants(
    event: Event,
    status: str,
    subject: str,
    body: str,
    actor: User,
    now: datetime,
    *,
    event_url: str,
    registration_ids: Sequence[int] = (),
) -> int:
    """Queue one message per registrant (through the outbox), each built by
    `compose_message`; returns how many."""
    sent = 0
    for user in db.session.scalars(recipients(event, status, registration_ids)):
        mail.queue_rendered(
            user.email,
            compose_message(event, user, subject, body, event_url=event_url),
            category="organiser_message",
            reply_to=actor.email,
        )
        sent += 1
    audit.record(
        "email_registrants",
        organisation_id=event.organisation_id,
        event_id=event.id,
        actor=actor,
        now=now,
        status=status,
        registrations=list(registration_ids) if status == SELECTED else None,
        subject=subject,
        count=sent,
    )
    return sent
