"""Read queries of the workspace: what a person may manage, and counts for the lists."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, case, func, select
from sqlalchemy.orm import selectinload
from werkzeug.datastructures import MultiDict

from eventsite.accounts.models import User
from eventsite.events import forms
from eventsite.events.models import Event, EventStatus
from eventsite.extensions import db
from eventsite.organisations.models import Membership, Organisation
from eventsite.registration.models import Question, Registration


def organisations_for(user: User) -> Select[tuple[Organisation]]:
    stmt = select(Organisation).order_by(Organisation.name)
    if not user.is_admin:
        stmt = stmt.join(Membership, Membership.organisation_id == Organisation.id).where(
            Membership.user_id == user.id
        )
    return stmt


def page_number(args: MultiDict[str, str]) -> int:
    """`?page=` of a workspace table, read as the public listing reads it: 1 up to
    MAX_PAGE, 1 when unusable. db.paginate's own reading takes any integer, and a large
    one overflows the database's OFFSET (a 500 on both backends)."""
    form = forms.PageForm(formdata=args)
    form.validate()
    return form.page_number()


LIST_FILTERS = ("all", "draft", "published", "cancelled", "past")


def _filter_condition(name: str, now: datetime) -> Any:
    return {
        "all": None,
        "draft": Event.status == EventStatus.DRAFT,
        "published": and_(Event.status == EventStatus.PUBLISHED, Event.ends_at > now),
        "cancelled": Event.status == EventStatus.CANCELLED,
        "past": and_(Event.status == EventStatus.PUBLISHED, Event.ends_at <= now),
    }[name]


def _visible(user: User, organisation_id: int | None) -> list[Any]:
    """Where-clauses for the events the user may manage."""
    conditions: list[Any] = []
    if not user.is_admin:
        member_of = select(Membership.organisation_id).where(Membership.user_id == user.id)
        conditions.append(Event.organisation_id.in_(member_of))
    if organisation_id is not None:
        conditions.append(Event.organisation_id == organisation_id)
    return conditions


def workspace_events(
    user: User, status: str, now: datetime, organisation_id: int | None = None
) -> Select[tuple[Event]]:
    """The events the user may manage, for one tab of /manage/."""
    stmt = (
        select(Event)
        .where(*_visible(user, organisation_id))
        .options(selectinload(Event.organisation))
    )
    condition = _filter_condition(status, now)
    if condition is not None:
        stmt = stmt.where(condition)
    if status == "past":
        return stmt.order_by(Event.ends_at.desc(), Event.id.desc())
    # What is coming is what an organiser works on: upcoming events first, soonest first,
    # then the ones that are over, the most recent first.
    is_over = Event.ends_at <= now
    return stmt.order_by(
        case((is_over, 1), else_=0),
        case((is_over, None), else_=Event.starts_at),
        Event.ends_at.desc(),
        Event.id,
    )


def workspace_tab_counts(
    user: User, now: datetime, organisation_id: int | None = None
) -> dict[str, int]:
    """How many events each tab holds, in one query."""
    columns = [
        func.count().label("all"),
        *(
            func.coalesce(func.sum(case((_filter_condition(name, now), 1), else_=0)), 0).label(name)
            for name in LIST_FILTERS[1:]
        ),
    ]
    row = db.session.execute(
        select(*columns).select_from(Event).where(*_visible(user, organisation_id))
    ).one()
    return {name: int(row._mapping[name]) for name in LIST_FILTERS}


def registration_counts(event_ids: list[int]) -> dict[int, dict[str, int]]:
    """{event_id: {status: count}} for the given events, in one grouped query."""
    if not event_ids:
        return {}
    rows = db.session.execute(
        select(Registration.event_id, Registration.status, func.count())
        .where(Registration.event_id.in_(event_ids))
        .group_by(Registration.event_id, Registration.status)
    )
    counts: dict[int, dict[str, int]] = {}
    for event_id, status, count in rows:
        counts.setdefault(event_id, {})[str(status)] = count
    return counts


@dataclass(frozen=True)
class EventLoad:
    """What the event's workspace page shows besides the event."""

    counts: dict[str, int]
    question_count: int


def event_overview(event: Event) -> EventLoad:
    counts = registration_counts([event.id]).get(event.id, {})
    question_count = db.session.scalar(
        select(func.count())
        .select_from(Question)
        .where(Question.event_id == event.id, Question.is_active.is_(True))
    )
    return EventLoad(counts=counts, question_count=int(question_count or 0))
