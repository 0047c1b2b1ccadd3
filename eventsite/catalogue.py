"""The catalogue version: bumped in the same transaction as every change to what calendars
and cached pages show (and to what a process keeps by it: a registration form's
questions, an organisation's webhook endpoints), and read with one primary-key lookup, so
a feed's ETag (feeds/) or a cached page's key (the page cache) costs one query whatever
the catalogue's size.

Shared infrastructure: it knows no model of its own beyond its one-row table. The packages
that own what the catalogue holds say which of their models count, when they are imported
(`track(Event, Topic, ...)` at the end of events/models.py).

Changes made through the ORM to a tracked model are seen after each flush; bulk
UPDATE/DELETE/INSERT statements on a tracked table run through the session are seen before
they execute. Raw SQL on a bare connection is not seen: whoever writes that way must call
`bump()` in the same transaction (see `events.search_text.backfill_description_text` for why
it need not).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from flask import g, has_app_context, has_request_context
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Integer,
    Select,
    Table,
    case,
    literal,
    select,
    update,
)
from sqlalchemy import event as sa_event
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column

from eventsite import database
from eventsite.extensions import db
from eventsite.timeutil import UTCDateTime, utcnow

CATALOGUE_ROW_ID = 1
T = TypeVar("T")
# The stamp of a database where nothing has been written since the table was created.
EMPTY = datetime(2000, 1, 1, tzinfo=UTC)


class CatalogueVersion(db.Model):
    """A single row (id 1). `version` goes up in the same transaction as every change to a
    tracked model (events, agenda sessions, speakers, topics, organisations), so a feed's
    ETag is one primary-key lookup instead of an aggregate over its events. `changed_at`
    is the time of the last change (a feed's Last-Modified)."""

    __tablename__ = "catalogue_versions"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger, default=0)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<CatalogueVersion {self.version}>"


# --- what counts: registered by the packages that own it -----------------------------------

# Mapped classes whose rows the catalogue holds, and the names of their tables (plus
# association tables) whose bulk statements move it.
_watched: tuple[type, ...] = ()
_watched_tables: frozenset[str] = frozenset()
# Columns no calendar shows, per class: a new feed token or logo does not change every ETag.
_unshown: dict[type, frozenset[str]] = {}


def track(*models: type | Table, unshown: Iterable[str] = ()) -> None:
    """Count changes to these mapped classes (and bulk statements on these tables) as
    changes to the catalogue. `unshown` names columns of the classes that no calendar or
    cached page shows. Called by the owning package when its models are imported."""
    global _watched, _watched_tables
    hidden = frozenset(unshown)
    for model in models:
        if isinstance(model, Table):
            _watched_tables |= {model.name}
            continue
        if model not in _watched:
            _watched = (*_watched, model)
        _watched_tables |= {model.__table__.name}  # type: ignore[attr-defined]
        if hidden:
            _unshown[model] = hidden


# --- reading ---------------------------------------------------------------------------------


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


@functools.cache
def stamp_query() -> Select:
    """Built once per process: it is read on every request."""
    table = CatalogueVersion.__table__
    return select(table.c.version, table.c.changed_at).where(table.c.id == CATALOGUE_ROW_ID)


def to_stamp(version: int | None, changed_at: datetime | None) -> Stamp:
    if version is None or changed_at is None:  # no change recorded yet
        return Stamp(0, EMPTY)
    return Stamp(int(version), changed_at)


def current(session: Session) -> Stamp:
    """The catalogue's version: one primary-key lookup, never from the identity map."""
    row = session.connection().execute(stamp_query()).first()  # Core: no ORM result
    return to_stamp(*row) if row is not None else to_stamp(None, None)


def request_stamp() -> Stamp:
    """The catalogue's stamp as this request sees it: read once per request (one
    primary-key lookup; straight from the driver when nothing was read before it:
    `database.read_directly`), then remembered in `flask.g`."""
    stamp = g.get("catalogue_stamp")
    if stamp is None:
        if database.can_read_directly():
            rows = database.read_directly("catalogue-stamp", stamp_query, {})
            stamp = to_stamp(*rows[0]) if rows else to_stamp(None, None)
        else:
            stamp = current(db.session)
        g.catalogue_stamp = stamp
    return stamp


def known_request_stamp() -> Stamp | None:
    """The stamp this request has read already (with its event, say), or None: never a
    query. A value kept by it (`VersionedMemo`) costs nothing to look up then, where
    reading the stamp for it would cost what the lookup saves. None outside a request
    (a worker's app context lives for hours), after the request changed the catalogue
    itself (`bump`), and while its session holds changes not yet written (their flush may
    move the catalogue, and a value worked out meanwhile would see them under the stamp
    read before)."""
    if not has_request_context():
        return None
    stamp: Stamp | None = g.get("catalogue_stamp")
    if stamp is not None and db.session.registry.has():
        session = db.session()
        if session.new or session.dirty or session.deleted:
            return None
    return stamp


def remember_request_stamp(version: int | None, changed_at: datetime | None) -> Stamp:
    """This request's stamp, read with another statement's row (`stamp_columns`) rather
    than on its own: kept as `request_stamp`'s, unless the request had read one already."""
    stamp = g.get("catalogue_stamp")
    if stamp is None:
        stamp = g.catalogue_stamp = to_stamp(version, changed_at)
    return stamp


class VersionedMemo(Generic[T]):
    """Values worked out from the catalogue (a card's HTML, the filter form's choices), kept
    in this process while the catalogue's stamp stays the same: another stamp drops them
    all. The stamp is read from the database on every request (`request_stamp`), so
    several processes and servers stay as fresh as the page cache. Everything a value
    shows must move the catalogue version (see `track`), exactly as for the page cache.
    The stamp holds the time of the last change with the version, so a catalogue that
    starts again from an empty table never meets the values of an earlier one."""

    def __init__(self, max_entries: int = 2048) -> None:
        self.max_entries = max_entries
        self._stamp: Stamp | None = None
        self._values: dict[Hashable, T] = {}
        self._lock = threading.Lock()

    def peek(self, stamp: Stamp, key: Hashable) -> T | None:
        """The value kept for `key` under this stamp, or None."""
        return self._values.get(key) if stamp == self._stamp else None

    def get(self, stamp: Stamp, key: Hashable, compute: Callable[[], T]) -> T:
        if stamp == self._stamp:
            try:
                return self._values[key]
            except KeyError:
                pass
        value = compute()
        with self._lock:
            if stamp != self._stamp:
                self._stamp, self._values = stamp, {}
            if len(self._values) >= self.max_entries:
                self._values = {}
            self._values[key] = value
        return value

    def clear(self) -> None:
        with self._lock:
            self._stamp, self._values = None, {}


def bump(connection: Connection, now: datetime | None = None) -> None:
    """version + 1 in one atomic statement (the row is created by the first change).
    On PostgreSQL the row stays locked until the transaction ends, so writers of the
    catalogue take turns; `changed_at` never goes back."""
    if has_app_context():
        # What this request reads from now on includes its own change: the stamp it read
        # before no longer describes it (read again, in its transaction, when asked for).
        g.pop("catalogue_stamp", None)
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
    unshown = _unshown.get(type(obj))
    if unshown is None:
        return session.is_modified(obj)
    return any(
        attr.history.has_changes() for attr in sa_inspect(obj).attrs if attr.key not in unshown
    )


def changes_catalogue(session: Session) -> bool:
    """Whether the pending flush adds, removes or changes anything a calendar shows."""
    watched = _watched
    if not watched:
        return False
    if any(isinstance(obj, watched) for obj in session.new):
        return True
    if any(isinstance(obj, watched) for obj in session.deleted):
        return True
    return any(isinstance(obj, watched) and _shows_change(session, obj) for obj in session.dirty)


def _after_flush(session: Session, _flush_context: object) -> None:
    # After the flush's own writes (new, dirty and deleted still describe them): the hot
    # row is locked last, so a writer never holds it while waiting for an event row.
    if changes_catalogue(session):
        bump(session.connection())


def _on_orm_execute(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) in _watched_tables:
        bump(state.session.connection())


# Registered once, on the Session class, so every session (requests, CLI, tests) has them.
if not sa_event.contains(Session, "after_flush", _after_flush):
    sa_event.listen(Session, "after_flush", _after_flush)
if not sa_event.contains(Session, "do_orm_execute", _on_orm_execute):
    sa_event.listen(Session, "do_orm_execute", _on_orm_execute)
