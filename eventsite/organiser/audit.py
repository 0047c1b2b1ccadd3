"""Writing and reading the workspace's audit log."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import Any

from flask_login import current_user
from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from eventsite import signals
from eventsite.accounts.models import User
from eventsite.events.models import Event
from eventsite.extensions import db
from eventsite.organisations.models import Organisation
from eventsite.organiser.models import AuditEntry


def json_value(value: Any) -> Any:
    """A value as it is stored in the log: JSON types only, datetimes as ISO 8601."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(key): json_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set):
        return [json_value(item) for item in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def record(
    action: str,
    *,
    organisation_id: int,
    actor: User | None,
    now: datetime,
    event_id: int | None = None,
    **details: Any,
) -> AuditEntry:
    entry = AuditEntry(
        action=action,
        organisation_id=organisation_id,
        event_id=event_id,
        actor_id=actor.id if actor is not None else None,
        details={key: json_value(value) for key, value in details.items()},
        created_at=now,
    )
    db.session.add(entry)
    return entry


def record_for_event(event: Event, action: str, now: datetime, **details: Any) -> AuditEntry:
    """An entry in the event's history, by the member making the request."""
    return record(
        action,
        organisation_id=event.organisation_id,
        event_id=event.id,
        actor=current_user,
        now=now,
        **details,
    )


@signals.organisation_changed.connect
def record_organisation_change(
    organisation: Organisation,
    *,
    action: str,
    actor: User | None,
    now: datetime,
    details: dict[str, Any],
) -> None:
    """What `organisations.services` changed, wherever it was asked (workspace or CLI)."""
    record(action, organisation_id=organisation.id, actor=actor, now=now, **details)


def changes_detail(pairs: dict[str, tuple[Any, Any]]) -> dict[str, dict[str, Any]]:
    return {
        name: {"old": json_value(old), "new": json_value(new)} for name, (old, new) in pairs.items()
    }


def event_log(event_id: int) -> Select[tuple[AuditEntry]]:
    return (
        select(AuditEntry)
        .where(AuditEntry.event_id == event_id)
        .options(selectinload(AuditEntry.actor))
        .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
    )


def organisation_log(organisation_id: int) -> Select[tuple[AuditEntry]]:
    return (
        select(AuditEntry)
        .where(AuditEntry.organisation_id == organisation_id, AuditEntry.event_id.is_(None))
        .options(selectinload(AuditEntry.actor))
        .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
    )
