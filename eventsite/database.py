"""Engine set-up per backend, the write lock that read-then-write rules need, and the
direct reads of the hottest pages."""

from __future__ import annotations

import contextlib
import functools
import logging
import select
import time
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from enum import StrEnum
from typing import Any, TypeVar

from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy import DDL, ColumnElement, Select, Table, bindparam, event, literal_column
from sqlalchemy import exc as sa_exc
from sqlalchemy import insert as sa_insert
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.orm import Mapper, Session, SessionTransaction
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.sql.dml import Insert
from werkzeug.routing import IntegerConverter, Map

from eventsite.extensions import db

logger = logging.getLogger(__name__)

V = TypeVar("V", bound=Callable[..., Any])
M = TypeVar("M")

SQLITE_BEGIN_OPTION = "sqlite_begin"
SQLITE_BEGIN_MODE = "eventsite_sqlite_begin_mode"  # key in the connection's info
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SQLITE_MMAP_BYTES = 256 * 1024 * 1024  # address space, not memory: pages stay the OS's


INTEGER_MAX = 2**31 - 1  # the ids are INTEGER columns (32-bit on PostgreSQL)


class DatabaseIntegerConverter(IntegerConverter):
    """`<int:...>` in every route, limited to what an id column can hold: a larger number
    in an address is a 404, not an error from the database driver (SQLite raises
    OverflowError past 64 bits, PostgreSQL NumericValueOutOfRange past 32)."""

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", INTEGER_MAX)
        super().__init__(map, *args, **kwargs)


def attach_ddl(table: Table, when: str, statements: Mapping[str, Sequence[str]]) -> None:
    """Run `statements` (by dialect name) on `table`'s DDL event `when` ("after_create",
    "before_drop", ...): what metadata cannot say (triggers, functions, special indexes),
    made by create_all() and drop_all() too. A migration writes the same out by hand."""
    for dialect, dialect_statements in statements.items():
        for statement in dialect_statements:
            event.listen(table, when, DDL(statement).execute_if(dialect=dialect))


def register_url_converters(app: Flask) -> None:
    """Before any blueprint adds a route."""
    app.url_map.converters["int"] = DatabaseIntegerConverter


def configure_engine(app: Flask) -> None:
    app.teardown_request(_return_direct_connection)
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            _configure_sqlite(engine)
        elif not app.config["SQLALCHEMY_ENGINE_OPTIONS"].get("pool_pre_ping"):
            _check_connections_on_checkout(engine, app.config["DATABASE_PING_AFTER_IDLE_SECONDS"])


_IDLE_SINCE = "eventsite_idle_since"  # in the pool entry's info: time.monotonic()


def _check_connections_on_checkout(engine: Engine, ping_after_idle: float) -> None:
    """What `pool_pre_ping` does, without its round trip on every request: a pooled
    PostgreSQL connection idle for `ping_after_idle` seconds or more is pinged; one used
    more recently is checked without a word to the server: a socket with something to read
    while idle means the server hung up (a restart or pg_terminate_backend sends an error
    and closes it; the site does not LISTEN). Either way a dead connection is replaced
    before the request uses it (DisconnectionError: the pool connects again).

    The ping cost a registration POST about a tenth of its throughput under load (one more
    round trip, the driver's autocommit switched on and off; measured side by side, two
    gunicorn servers on one database, December 2026)."""

    @event.listens_for(engine, "connect")
    @event.listens_for(engine, "checkin")
    def _idle_from_now(_dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _check(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.pop(_IDLE_SINCE, None)
        if idle_since is None:
            return  # not idle: connected just now
        if time.monotonic() - idle_since < ping_after_idle:
            try:
                readable, _, _ = select.select([dbapi_connection.fileno()], [], [], 0)
            except (OSError, ValueError):  # closed already
                readable = [True]
            if not readable:
                return
            reason = "the server hung up while it was idle"
        else:
            try:
                if engine.dialect.do_ping(dbapi_connection):
                    return
            except engine.dialect.loaded_dbapi.Error:
                pass
            reason = "it did not answer a ping"
        logger.info("Replacing a pooled database connection: %s.", reason)
        raise sa_exc.DisconnectionError(reason)


def _configure_sqlite(engine: Engine) -> None:
    """Foreign keys on, WAL for concurrent readers, and transactions we begin ourselves
    so that a read-then-write can ask for BEGIN IMMEDIATE (pysqlite's default would
    begin lazily and deferred, letting two requests both read the last free place).

    The busy timeout only helps a transaction that asks for the write lock first: one that
    has read (BEGIN DEFERRED) and then writes cannot wait for the lock, and fails at once
    with "database is locked" if another connection holds it or has committed since the
    read. So a request that may write (any method but GET, HEAD, OPTIONS) begins its
    transactions IMMEDIATE, and waits its turn instead; reads, and writers outside a
    request, begin DEFERRED unless they ask (`lock_for_write()`).
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        # The busy timeout (waiting for another connection's write lock) is the driver's
        # `timeout` connect argument: DATABASE_STATEMENT_TIMEOUT, set in config.py.
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            # Read through the OS page cache, shared by every connection and worker, rather
            # than copying pages into each connection's small private cache (2 MB): a text
            # search reads most of the events table.
            cursor.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(SQLITE_BEGIN_OPTION) or _request_begin_mode()
        conn.info[SQLITE_BEGIN_MODE] = mode
        conn.exec_driver_sql(f"BEGIN {mode}")


# The attribute `reads_before_locking` sets on a view function.
_READS_FIRST = "eventsite_reads_before_locking"


def reads_before_locking(view: V) -> V:
    """Mark a view whose POST reads (the person, the event, the form's questions, the
    answers checked) before it takes the write lock with `lock_for_write(keep_loaded=True)`
    (SQLite): its transactions begin DEFERRED like a GET's, so only the writing part of the
    request holds up other writers. Place it right under the route decorator."""
    setattr(view, _READS_FIRST, True)
    return view


def _reads_first() -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    return getattr(view, _READS_FIRST, False)


def _request_begin_mode() -> str:
    if has_request_context() and request.method not in SAFE_METHODS:
        return "DEFERRED" if _reads_first() else "IMMEDIATE"
    return "DEFERRED"


def lock_for_write(*, keep_loaded: bool = False) -> None:
    """Start the request's transaction holding the database write lock (SQLite).

    Call it before the first query of a unit of work whose reads decide its writes
    (places left, waiting-list rank). On PostgreSQL this is a no-op: the service takes a
    row lock with SELECT ... FOR UPDATE instead, which lets unrelated events proceed. A
    request that may write has begun IMMEDIATE already (see `_configure_sqlite`); code
    outside requests (commands, the mail sender) needs the call.

    After reads in a DEFERRED transaction (a view marked `reads_before_locking`), the read
    transaction ends and the lock is taken. Everything loaded is then expired and read
    again when next used, unless `keep_loaded`: the objects are kept as they were read,
    and the caller checks under the lock what decides its writes (a registration checks
    its event's row: `registration.services._lock_event`).
    """
    session = db.session()  # the Session itself: scoped_session has no in_transaction()
    if session.get_bind().dialect.name != "sqlite":
        return
    if session.info.get(_CONNECTED) is None:
        # Nothing read in the session yet (what was read came straight from the driver:
        # `read_directly`), so no read transaction to end first.
        if session.new or session.dirty or session.deleted:
            raise RuntimeError("lock_for_write() must come before any change in the session")
        session.connection(execution_options={SQLITE_BEGIN_OPTION: "IMMEDIATE"})
        return
    connection = _session_connection(session)
    if connection.info.get(SQLITE_BEGIN_MODE) == "IMMEDIATE":
        return  # a request that may write began with the lock already
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("lock_for_write() must come before any change in the session")
    # The read ends and the lock is taken on the same connection, in the session's
    # transaction (the driver leaves BEGIN and COMMIT to us: `_on_connect`): ending the
    # session's transaction and beginning another cost more than the two statements.
    connection.exec_driver_sql("COMMIT")
    connection.exec_driver_sql("BEGIN IMMEDIATE")
    connection.info[SQLITE_BEGIN_MODE] = "IMMEDIATE"
    if not keep_loaded:
        session.expire_all()


def commit_keeping_loaded() -> None:
    """Commit without expiring what the session loaded: for a request's last commit, when
    nothing reads its objects after it (a redirect follows), and where the database changed
    nothing they hold behind the ORM's back (a trigger's columns, left unread). Expiring
    walks every attribute of every loaded object: 3.6 % of a registration POST's
    instructions (callgrind, in process)."""
    session = db.session()
    expire = session.expire_on_commit
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = expire


def flushed_connection() -> Connection:
    """The session's connection, the session's pending changes flushed first, for a hot
    statement run as Core: about half the cost of `Session.execute`'s ORM path, nothing
    loaded into the session, and it sees what the session changed, as an ORM query does
    after its autoflush. For columns and INSERTs under a lock, not for entities."""
    session = db.session()
    session.flush()
    return _session_connection(session)


def _session_connection(session: Session) -> Connection:
    """`session.connection()`, kept by `_session_connected` for the transaction: asking
    the session each time cost more than some of the statements run on it."""
    connection = session.info.get(_CONNECTED)
    return connection if connection is not None else session.connection()


def is_postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def insert_or_skip(table: Table) -> Insert:
    """INSERT ... ON CONFLICT DO NOTHING on either backend: a claim by unique key that any
    number of workers can race for (on PostgreSQL the loser waits for the winner's commit,
    then skips the row; on SQLite the write lock puts them in turn)."""
    dialect = postgresql if is_postgresql() else sqlite
    return dialect.insert(table).on_conflict_do_nothing()


def sql_constant(value: StrEnum) -> ColumnElement[Any]:
    """One of our own enum values written into a statement's SQL rather than bound."""
    if not value.value.isidentifier():  # our own enum values; never anything typed
        raise ValueError(value)
    return literal_column(f"'{value.value}'")


def in_constants(column: ColumnElement[Any], values: Iterable[StrEnum]) -> ColumnElement[bool]:
    """`column IN ('a', 'b')` with the values written into the SQL. A bound IN list is
    expanded again on every execution, and the SQL made anew: for the queries every page
    runs (the event, the places, the visitor's registration) that cost as much as running
    them (SQLite, 10,000 events, a visitor's registration: 121 against 79 µs, December
    2026; SQLite also finds the partial index over active registrations then)."""
    return column.in_([sql_constant(value) for value in values])


# --- direct reads ------------------------------------------------------------------------------
# A listing served without the page cache reads two things on every request: the catalogue's
# stamp and its cards' places. Through the Session, each costs several times what the
# database takes to answer: the session's transaction and connection, the Connection's
# events and execution context, the result's machinery, then closing it all (bench, SQLite:
# 0.18 ms a request for the stamp alone, 0.04 ms straight on the driver). A direct read runs
# the same SQL, compiled once per dialect by SQLAlchemy, on a driver connection from the
# engine's pool (so pre-ping, reconnects and the statement timeout still apply), held for the
# rest of the request.
#
# Only where it sees what the session would: in a GET or HEAD request whose session holds no
# connection yet (whose transaction could hold changes of its own). The POST of a view that
# reads before it locks (`reads_before_locking`: it checks under the lock what decides its
# writes; the person, the event and its questions are read so) reads on the session's own
# connection instead, bypassing only the ORM, when the session has no change waiting to be
# written. A GET reads in the driver's autocommit, each statement its own transaction
# (SQLite; PostgreSQL's connection is put in autocommit while the request holds it: no BEGIN
# and ROLLBACK around the reads), READ COMMITTED as the session is: what the session reads
# later in the request may be newer, never older, which is what a value kept by the
# catalogue's stamp needs (a value newer than its stamp is only kept until the stamp moves).
# The engine's `before_cursor_execute` listeners hear each statement (without a Connection):
# the tests count queries with them.

_DIRECT_CONNECTION = "_eventsite_direct_connection"  # in flask.g


class _Prepared:
    """A statement compiled for one dialect: its SQL, its parameters in the driver's order
    (or by name), what each parameter is when the statement fixes it, and how each value
    goes to the driver and each column comes back (known once the driver has said what it
    sends: PostgreSQL's numbers depend on it)."""

    __slots__ = ("binds", "column_types", "defaults", "names", "positional", "results", "sql")

    def __init__(self, statement: Select[Any] | Insert, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = compiled.string
        self.positional = bool(compiled.positional)
        names = tuple(compiled.positiontup or ()) if self.positional else tuple(compiled.binds)
        params = [compiled.binds[name] for name in names]
        self.names = names
        self.defaults = tuple(None if p.callable is not None else p.value for p in params)
        self.binds = tuple(p.type.dialect_impl(dialect).bind_processor(dialect) for p in params)
        # A SELECT's columns, or what an INSERT returns.
        self.column_types = [column.type for column in statement.exported_columns]
        # The columns that need converting, by position, and how: known from the driver's
        # first description of the result (None until then).
        self.results: tuple[tuple[int, Callable[[Any], Any]], ...] | None = None

    def result_processors(
        self, dialect: Dialect, description: Sequence[Any]
    ) -> tuple[tuple[int, Callable[[Any], Any]], ...]:
        if self.results is None:
            processors = (
                type_.dialect_impl(dialect).result_processor(dialect, column[1])
                for type_, column in zip(self.column_types, description, strict=True)
            )
            self.results = tuple(
                (position, process)
                for position, process in enumerate(processors)
                if process is not None
            )
        return self.results


_prepared: dict[tuple[str, Hashable], _Prepared] = {}


# In a session's info: the Connection its transaction holds, while it holds one.
_CONNECTED = "eventsite_connected"


@event.listens_for(Session, "after_begin")
def _session_connected(session: Session, _transaction: Any, connection: Connection) -> None:
    session.info[_CONNECTED] = connection


@event.listens_for(Session, "after_transaction_end")
def _session_ended(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_CONNECTED, None)


def can_read_directly() -> bool:
    """Whether a direct read sees what the session would (see above): a GET or HEAD
    request whose session has no connection yet (it has read nothing, written nothing), or
    the POST of a view that reads before it locks (`reads_before_locking`: it checks under
    the lock what decides its writes), and no change waiting to be written."""
    if not has_request_context():
        return False
    registry = db.session.registry
    if not registry.has():
        # No session yet, so nothing read or written through one: none is made (making it
        # and closing it at the end was ~2 % of a rendered listing, which needs none).
        return request.method in ("GET", "HEAD") or _reads_first()
    session = registry()
    if session.new or session.dirty or session.deleted:
        return False
    if request.method in ("GET", "HEAD"):
        return session.info.get(_CONNECTED) is None
    return _reads_first()


def read_directly(
    key: Hashable, statement: Callable[[], Select[Any]], params: Mapping[str, Any]
) -> list[Sequence[Any]]:
    """The rows of `statement()` (built and compiled once per `key` and dialect) with
    `params`, read on the request's direct connection (a POST: the session's, bypassing
    only its ORM). Only where `can_read_directly()`."""
    if request.method in ("GET", "HEAD"):
        return _read(None, key, statement, params)
    # A POST reads on the session's own connection, in its transaction: one connection a
    # request (each checkout costs PostgreSQL a ping).
    return _read(_session_connection(db.session()), key, statement, params)


def read_in_session(
    key: Hashable, statement: Callable[[], Select[Any]], params: Mapping[str, Any]
) -> list[Sequence[Any]]:
    """`read_directly` in the session's transaction, its pending changes flushed first: for
    the reads under a lock (a registration's), which SQLAlchemy's Connection would wrap in
    its execution context and result (~0.03 ms a statement on SQLite, ~0.06 on PostgreSQL,
    where the statements themselves take 0.01-0.08). Selects of columns, not entities."""
    return _read(flushed_connection(), key, statement, params)


def insert_of_every_column(table: Table, insert: Callable[[Table], Insert] = sa_insert) -> Insert:
    """INSERT binding each of the table's columns but the primary key by its name, the
    statement `insert_in_session` runs (`insert`: a dialect's, for ON CONFLICT)."""
    return insert(table).values(
        {
            column.key: bindparam(column.key, type_=column.type)
            for column in table.c
            if not column.primary_key
        }
    )


def insert_in_session(
    key: Hashable, statement: Callable[[], Insert], table: Table, values: Mapping[str, Any]
) -> list[Sequence[Any]]:
    """`statement()`, an INSERT into `table` that binds each column but the primary key
    by its name (`insert_of_every_column`) and RETURNS what it wrote, run as
    `read_in_session` runs a read (SQLAlchemy's Core took longer than SQLite took for the
    INSERT). The columns not in `values` take their Python default, as Core's INSERT would
    give them; a server default is refused (the statement would write NULL over it)."""
    return _read(flushed_connection(), key, statement, _with_defaults(table, values))


def insert_row_in_session(
    key: Hashable, statement: Callable[[], Insert], table: Table, values: Mapping[str, Any]
) -> dict[str, Any] | None:
    """`insert_in_session` for a statement that RETURNS only the primary key: the row as
    written, by column (`values`, the defaults the columns gave, the key the database gave),
    or None when it wrote none (ON CONFLICT DO NOTHING). Every value is the database's
    already (no server default, no trigger changes the row): reading all of them back cost
    a registration POST 2.8 % of its instructions (callgrind, PostgreSQL, in process), most
    of it turning its JSON and times back into Python."""
    row = _with_defaults(table, values)
    returned = _read(flushed_connection(), key, statement, row)
    if not returned:
        return None
    (primary_key,) = table.primary_key.columns
    row[primary_key.key] = returned[0][0]
    return row


def _with_defaults(table: Table, values: Mapping[str, Any]) -> dict[str, Any]:
    row = dict(values)
    for column in table.c:
        if column.primary_key or column.key in row:
            continue
        if column.server_default is not None:
            raise ValueError(f"{table.name}.{column.key} has a server default: give it")
        default = column.default
        if default is None:
            row[column.key] = None
        elif default.is_callable:
            row[column.key] = default.arg(None)  # type: ignore[attr-defined]
        elif default.is_scalar:
            row[column.key] = default.arg  # type: ignore[attr-defined]
        else:
            raise ValueError(f"{table.name}.{column.key}: a SQL default: give it")
    return row


def _read(
    session_connection: Connection | None,
    key: Hashable,
    statement: Callable[[], Select[Any] | Insert],
    params: Mapping[str, Any],
) -> list[Sequence[Any]]:
    """Run on the session's connection, or (None) on the request's direct connection."""
    engine = db.engine
    dialect = engine.dialect
    prepared = _prepared.get((dialect.name, key))
    if prepared is None:
        prepared = _prepared[(dialect.name, key)] = _Prepared(statement(), dialect)
    values = [
        params.get(name, default)
        for name, default in zip(prepared.names, prepared.defaults, strict=True)
    ]
    values = [
        process(value) if process is not None else value
        for process, value in zip(prepared.binds, values, strict=True)
    ]
    arguments: Any = (
        values if prepared.positional else dict(zip(prepared.names, values, strict=True))
    )
    if session_connection is None:
        connection = _direct_connection(engine)
    else:
        connection = session_connection.connection
    cursor = _kept_cursor(connection)
    try:
        for listener in engine.dispatch.before_cursor_execute:
            listener(None, cursor, prepared.sql, arguments, None, False)
        if dialect.name == "postgresql":
            # Prepared on the server at once, not after psycopg's fifth run: every statement
            # here runs on each request, and there are a few dozen of them (`_prepared`).
            # With the kept cursor below, ~0.01 ms less a statement inside a registration
            # POST (in process, alternated with the old read, December 2026).
            cursor.execute(prepared.sql, arguments, prepare=True)
        else:
            cursor.execute(prepared.sql, arguments)
        rows = cursor.fetchall()
        # The description only once: psycopg builds it anew each time it is asked for.
        results = prepared.results
        if results is None:
            results = prepared.result_processors(dialect, cursor.description)
    except dialect.loaded_dbapi.Error as err:
        _forget_kept_cursor(connection)
        if session_connection is None:
            _drop_direct_connection(connection, err, cursor)
        elif dialect.is_disconnect(err, connection, cursor):
            session_connection.invalidate(err)
        raise sa_exc.DBAPIError.instance(
            prepared.sql, arguments, err, dialect.loaded_dbapi.Error, dialect=dialect
        ) from err
    if not results:
        return rows
    converted = []
    for row in rows:
        values = list(row)
        for position, process in results:
            values[position] = process(values[position])
        converted.append(tuple(values))
    return converted


# In a pooled connection's `info` (kept while the driver's connection lives): the driver
# cursor its direct reads share, each read fetching all its rows before the next runs.
# psycopg copies its adapters into each new cursor: ~0.025 ms of a 0.145 ms read in a loop
# of the same statement, less inside a request (see the preparing above).
_KEPT_CURSOR = "eventsite_kept_cursor"


def _kept_cursor(connection: PoolProxiedConnection) -> Any:
    cursor = connection.info.get(_KEPT_CURSOR)
    if cursor is None or cursor.connection is not connection.driver_connection:
        cursor = connection.info[_KEPT_CURSOR] = connection.driver_connection.cursor()
    return cursor


def _forget_kept_cursor(connection: PoolProxiedConnection) -> None:
    """After an error: the next read starts from a new cursor."""
    cursor = connection.info.pop(_KEPT_CURSOR, None)
    if cursor is not None:
        with contextlib.suppress(Exception):  # a broken connection's cursor may not close
            cursor.close()


def adopt(model: type[M], values: Mapping[str, Any]) -> M:
    """The `model` row whose mapped columns a direct read gave (`values`, by attribute),
    in the session as though the session had loaded it: the attributes not given load
    when first read, and relationships load as usual. Where the session has that row
    already (its identity map outlives a request in the tests), the session's own, its
    expired attributes filled from `values`."""
    session = db.session()
    mapper = _mapper(model)
    key = mapper.identity_key_from_primary_key(
        tuple(values[column.key] for column in mapper.primary_key)
    )
    existing = session.identity_map.get(key)
    if existing is not None:
        # What it has expired is filled from the row, as the ORM's loading would (no
        # refresh query when next read); what it has loaded, or changed, is kept.
        loaded = vars(existing)
        for name, value in values.items():
            if name not in loaded:
                set_committed_value(existing, name, value)
        return existing  # type: ignore[no-any-return]
    # Made as the ORM's loading makes an instance (no constructor, no attribute events: the
    # constructor took longer than the read), given its identity, the attributes not read
    # marked expired, and put in the identity map. What `make_transient_to_detached` and
    # `Session.add` do, less the work they repeat on every call (the attributes not given,
    # worked out from the instance each time; the cascade over relationships, none of them
    # loaded here): 5 % of a registration POST's instructions (callgrind, in process).
    instance = mapper.class_manager.new_instance()
    vars(instance).update(values)
    state = sa_inspect(instance)
    state.key = key
    state._expire_attributes(state.dict, _not_given(mapper, tuple(values)))
    session._update_impl(state)
    return instance  # type: ignore[no-any-return]


@functools.cache
def _mapper(model: type[Any]) -> Mapper[Any]:
    return sa_inspect(model)


@functools.cache
def _not_given(mapper: Mapper[Any], given: tuple[str, ...]) -> frozenset[str]:
    """The attributes (columns, relationships) a row read with `given` leaves unloaded."""
    return frozenset(mapper.class_manager).difference(given)


def _direct_connection(engine: Engine) -> PoolProxiedConnection:
    connection = g.get(_DIRECT_CONNECTION)
    if connection is None:
        try:
            connection = engine.raw_connection()
        except engine.dialect.loaded_dbapi.Error as err:
            raise sa_exc.DBAPIError.instance(
                None, None, err, engine.dialect.loaded_dbapi.Error, dialect=engine.dialect
            ) from err
        if engine.dialect.name == "postgresql":
            # Each read its own transaction, as SQLite's are: no BEGIN and ROLLBACK around
            # them (two round trips a request). Put back before the pool has it again.
            connection.driver_connection.autocommit = True
        setattr(g, _DIRECT_CONNECTION, connection)
    return connection


def _close_direct_connection(connection: PoolProxiedConnection) -> None:
    if connection.is_valid and db.engine.dialect.name == "postgresql":
        connection.driver_connection.autocommit = False
    connection.close()  # to the pool


def _drop_direct_connection(connection: PoolProxiedConnection, err: Exception, cursor: Any) -> None:
    """After an error the connection goes back to the pool (which rolls it back), or is
    thrown away when the database went."""
    g.pop(_DIRECT_CONNECTION, None)
    if db.engine.dialect.is_disconnect(err, connection, cursor):
        connection.invalidate(err)
    _close_direct_connection(connection)


def _return_direct_connection(_error: BaseException | None = None) -> None:
    """At the end of each request (the app's context may outlive it: the tests')."""
    connection = g.pop(_DIRECT_CONNECTION, None)
    if connection is not None:
        _close_direct_connection(connection)
