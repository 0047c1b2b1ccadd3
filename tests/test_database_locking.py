"""SQLite's write lock taken after reads (`database.lock_for_write`): the read ends, the
lock is held until the transaction ends, and what was read is read again unless kept."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest
from sqlalchemy import update

from eventsite import database
from eventsite.extensions import db
from eventsite.models import Event


@pytest.fixture
def sqlite_only(backend: str) -> None:
    if backend != "sqlite":
        pytest.skip("PostgreSQL locks rows instead (SELECT ... FOR UPDATE): a no-op there")


def _other_writer(event: Event, capacity: int) -> None:
    """Another connection changes the event, as an organiser's request would."""
    with db.engine.begin() as other:
        other.execute(update(Event).where(Event.id == event.id).values(capacity=capacity))


def _write_from_another_connection_fails() -> bool:
    """Whether another connection is refused the write lock (it waits 0.1 s for it)."""
    path = db.engine.url.database
    assert path
    other = sqlite3.connect(path, timeout=0.1, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as err:
        assert "locked" in str(err)
        return True
    else:
        other.execute("ROLLBACK")
        return False
    finally:
        other.close()


def test_after_reads_the_lock_is_held_until_commit_and_what_was_read_is_read_again(
    sqlite_only, make_event
) -> None:
    event = make_event(capacity=5)
    db.session.commit()
    assert event.capacity == 5  # a read: the transaction begins DEFERRED
    assert not _write_from_another_connection_fails()
    _other_writer(event, capacity=7)

    database.lock_for_write()
    assert _write_from_another_connection_fails()
    assert event.capacity == 7  # expired by the lock: read again under it
    event.capacity = 9
    db.session.commit()
    assert not _write_from_another_connection_fails()
    db.session.expire_all()
    assert event.capacity == 9


def test_keep_loaded_keeps_what_was_read_and_the_session_goes_on(sqlite_only, make_event) -> None:
    event = make_event(capacity=5)
    db.session.commit()
    assert event.capacity == 5
    _other_writer(event, capacity=7)

    database.lock_for_write(keep_loaded=True)
    assert _write_from_another_connection_fails()
    assert event.capacity == 5  # kept: the caller checks what decides (registration)
    database.lock_for_write()  # already held: nothing changes
    assert event.capacity == 5
    db.session.rollback()
    assert not _write_from_another_connection_fails()
    assert event.capacity == 7


def test_a_change_before_the_lock_is_refused(sqlite_only, make_event) -> None:
    event = make_event(capacity=5)
    db.session.commit()
    event.capacity = 6
    with pytest.raises(RuntimeError, match="before any change"):
        database.lock_for_write()
    db.session.rollback()


def _hold_the_write_lock(seconds: float) -> threading.Thread:
    """Another connection takes the write lock now and lets it go after `seconds`."""
    path = db.engine.url.database
    assert path
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")

    def release() -> None:
        time.sleep(seconds)
        holder.execute("ROLLBACK")
        holder.close()

    thread = threading.Thread(target=release)
    thread.start()
    return thread


def _busy_timeout() -> int:
    return db.session.connection().exec_driver_sql("PRAGMA busy_timeout").scalar_one()


def test_a_writer_waits_for_the_lock_and_its_busy_timeout_is_kept(sqlite_only, make_event) -> None:
    """`lock_for_write` waits in short steps while another connection writes, then holds
    the lock; the connection's busy timeout is what it was."""
    event = make_event(capacity=5)
    db.session.commit()
    assert event.capacity == 5
    configured = _busy_timeout()
    thread = _hold_the_write_lock(0.05)
    database.lock_for_write()
    thread.join()
    assert _write_from_another_connection_fails()
    assert _busy_timeout() == configured
    db.session.rollback()
