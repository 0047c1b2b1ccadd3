"""The catalogue version: bumped in the same transaction as every change to what calendars
show (events, their topics, agenda sessions, speakers, topics, organisations), and read
with one primary-key lookup, so a feed's ETag costs one query whatever its size.

Changes made through the ORM are seen after each flush; bulk UPDATE/DELETE/INSERT
statements run through the session are seen before they execute. Raw SQL on a bare
connection is not seen: whoever writes that way must call `bump()` in the same
transaction (see `events.search_text.backfill_description_text` for why it need not).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, case, literal, select, update
from sqlalchemy import event as sa_event
from sqlalchemy.engine import Connection
from sqlalchemy.orm import ORMExecuteState, Session

from eventsite.events.models import (
    AgendaSession,
    Event,
    Organisation,
    SessionSpeaker,
    Speaker,
    Topic,
    event_topics,
)
from eventsite.ical.models import CATALOGUE_ROW_ID, CatalogueVersion
from eventsite.timeutil import UTCDateTime, utcnow

WATCHED = (Event, AgendaSession, SessionSpeaker, Speaker, Topic, Organisation)
WATCHED_TABLES = frozenset(
    [*(cls.__table__.name for cls in WATCHED), event_topics.name]  # type: ignore[attr-defined]
)
# Columns no calendar shows: a new feed token or logo does not change every feed's ETag.
UNSHOWN = {
    Organisation: frozenset({"calendar_token", "logo_data", "logo_content_type", "logo_updated_at"})
}
# The stamp of a database where nothing has been written since the table was created.
EMPTY = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Stamp:
    version: int
    changed_at: datetime


def stamp_columns() -> tuple[Any, Any]:
    """(version, changed_at) as scalar subqueries, to ride along in another select."""
    table = CatalogueVersion.__table__
    where = table.c.id == CATALOGUE_ROW_ID
    return (
        select(table.c.version).where(where).scalar_subquery(),
        select(table.c.changed_at).where(where).scalar_subquery(),
    )


def stamp_query() -> Select:
    table = CatalogueVersion.__table__
    return select(table.c.version, table.c.changed_at).where(table.c.id == CATALOGUE_ROW_ID)


def to_stamp(version: int | None, changed_at: datetime | None) -> Stamp:
    if version is None or changed_at is None:  # no change recorded yet
        return Stamp(0, EMPTY)
    return Stamp(int(version), changed_at)


def current(session: Session) -> Stamp:
    """The catalogue's version: one primary-key lookup, never from the identity map."""
    row = session.execute(stamp_query()).first()
    return to_stamp(*row) if row is not None else to_stamp(None, None)


def bump(connection: Connection, now: datetime | None = None) -> None:
    """version + 1 in one atomic statement (the row is created by the first change).
    On PostgreSQL the row stays locked until the transaction ends, so writers of the
    catalogue take turns; `changed_at` never goes back."""
    table = CatalogueVersion.__table__
    now = now or utcnow()
    later = case((table.c.changed_at > now, table.c.changed_at), else_=literal(now, UTCDateTime()))
    dialect = connection.dialect.name
    if dialect in ("postgresql", "sqlite"):
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        stmt = insert(table).values(id=CATALOGUE_ROW_ID, version=1, changed_at=now)
        stmt = stmt.on_conflict_do_update(
            index_elements=[table.c.id],
            set_={"version": table.c.version + 1, "changed_at": later},
        )
        connection.execute(stmt)
        return
    result = connection.execute(
        update(table)
        .where(table.c.id == CATALOGUE_ROW_ID)
        .values(version=table.c.version + 1, changed_at=later)
    )
    if result.rowcount == 0:
        connection.execute(table.insert().values(id=CATALOGUE_ROW_ID, version=1, changed_at=now))


def _shows_change(session: Session, obj: object) -> bool:
    unshown = UNSHOWN.get(type(obj))  # type: ignore[call-overload]
    if unshown is None:
        return session.is_modified(obj)
    from sqlalchemy import inspect as sa_inspect

    return any(
        attr.history.has_changes() for attr in sa_inspect(obj).attrs if attr.key not in unshown
    )


def changes_catalogue(session: Session) -> bool:
    """Whether the pending flush adds, removes or changes anything a calendar shows."""
    if any(isinstance(obj, WATCHED) for obj in session.new):
        return True
    if any(isinstance(obj, WATCHED) for obj in session.deleted):
        return True
    return any(isinstance(obj, WATCHED) and _shows_change(session, obj) for obj in session.dirty)


def _after_flush(session: Session, _flush_context: object) -> None:
    # After the flush's own writes (new, dirty and deleted still describe them): the hot
    # row is locked last, so a writer never holds it while waiting for an event row.
    if changes_catalogue(session):
        bump(session.connection())


def _on_orm_execute(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) in WATCHED_TABLES:
        bump(state.session.connection())


# Registered once, on the Session class, so every session (requests, CLI, tests) has them.
if not sa_event.contains(Session, "after_flush", _after_flush):
    sa_event.listen(Session, "after_flush", _after_flush)
if not sa_event.contains(Session, "do_orm_execute", _on_orm_execute):
    sa_event.listen(Session, "do_orm_execute", _on_orm_execute)
