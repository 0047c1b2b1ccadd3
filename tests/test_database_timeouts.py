"""A database that does not answer costs a request seconds, and the visitor gets the site's
503 page (a load balancer: /healthz 503), instead of a worker hanging until gunicorn kills it.

The "hung database" is a TCP server on 127.0.0.1 that accepts connections and never says a
word; a held lock stands in for a statement that never ends.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from eventsite import create_app
from eventsite.extensions import db
from eventsite.models import Question, Registration

# Old code waits as long as the silent server keeps a connection open: this long, so that
# the tests fail (too slow) rather than hang.
HOLD_SECONDS = 8


class SilentServer:
    """Accepts every connection, answers nothing, and hangs up after HOLD_SECONDS."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _address = self.listener.accept()
            except OSError:  # closed: the test is over
                return
            self.held.append(connection)
            hang_up = threading.Timer(HOLD_SECONDS, connection.close)
            hang_up.daemon = True
            hang_up.start()

    def close(self) -> None:
        self.listener.close()
        for connection in self.held:
            connection.close()


@pytest.fixture
def silent_database() -> Iterator[str]:
    server = SilentServer()
    try:
        yield f"postgresql+psycopg://eventsite:eventsite@127.0.0.1:{server.port}/eventsite"
    finally:
        server.close()


def timed_get(app: Flask, path: str) -> tuple[Any, float]:
    started = time.monotonic()
    response = app.test_client().get(path)
    return response, time.monotonic() - started


def test_healthz_answers_503_within_the_connect_timeout_when_the_database_hangs(
    silent_database,
) -> None:
    app = create_app({"SQLALCHEMY_DATABASE_URI": silent_database, "DATABASE_CONNECT_TIMEOUT": 1})

    response, elapsed = timed_get(app, "/healthz")

    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "database": "down"}
    assert elapsed < 3.5  # libpq waits at least 2 s


def test_a_page_answers_the_sites_503_when_the_database_hangs(silent_database) -> None:
    app = create_app({"SQLALCHEMY_DATABASE_URI": silent_database, "DATABASE_CONNECT_TIMEOUT": 1})

    response, elapsed = timed_get(app, "/events/")

    assert response.status_code == 503
    assert elapsed < 3.5
    body = response.get_data(as_text=True)
    assert "Service unavailable" in body
    assert "cannot load this page just now" in body
    assert 'href="/events/"' in body  # in the site's layout, with its links
    assert response.headers["Retry-After"] == "30"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]


def test_a_first_visit_to_a_cached_page_waits_for_the_silent_database_once(
    silent_database,
) -> None:
    """The page cache's fast path meets the silence first; Flask answers without a second
    wait (two would take twice the connect timeout)."""
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": silent_database,
            "DATABASE_CONNECT_TIMEOUT": 1,
            "PAGE_CACHE_ENABLED": True,
        }
    )

    response, elapsed = timed_get(app, "/")

    assert response.status_code == 503
    assert "cannot load this page just now" in response.get_data(as_text=True)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert elapsed < 3.5  # one wait of libpq's 2 s minimum


def test_the_default_timeouts_keep_healthz_well_inside_gunicorns_30_seconds(
    silent_database,
) -> None:
    app = create_app({"SQLALCHEMY_DATABASE_URI": silent_database})
    connect_args = app.config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"]
    assert connect_args["connect_timeout"] == 5
    assert connect_args["options"] == "-c statement_timeout=10000"


@contextmanager
def write_lock_held_elsewhere(engine: Engine, backend: str) -> Iterator[None]:
    """Another connection holds a lock that sign-up needs, for HOLD_SECONDS at most."""
    locked, done = threading.Event(), threading.Event()

    def hold() -> None:
        with engine.connect() as connection:
            if backend == "sqlite":  # the database's one write lock
                connection.execution_options(sqlite_begin="IMMEDIATE")
                connection.exec_driver_sql("SELECT 1")
            else:
                connection.exec_driver_sql("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
            locked.set()
            done.wait(HOLD_SECONDS)
            connection.rollback()

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert locked.wait(10)
        yield
    finally:
        done.set()
        thread.join()


@pytest.fixture
def one_second_statements(app_config: dict[str, Any]) -> None:
    app_config["DATABASE_STATEMENT_TIMEOUT"] = 1


@pytest.mark.usefixtures("one_second_statements")
def test_a_statement_stuck_behind_a_lock_gives_503_within_the_statement_timeout(
    app, client, backend
) -> None:
    with write_lock_held_elsewhere(db.engine, backend):
        started = time.monotonic()
        response = client.post(
            "/signup",
            data={"name": "Ada", "email": "ada@example.org", "password": "lovelace engine 1843"},
        )
        elapsed = time.monotonic() - started

    assert response.status_code == 503
    assert "cannot load this page just now" in response.get_data(as_text=True)
    assert elapsed < 4
    # Nothing half-done: once the lock is gone, signing up works.
    response = client.post(
        "/signup",
        data={"name": "Ada", "email": "ada@example.org", "password": "lovelace engine 1843"},
    )
    assert response.status_code == 302


@pytest.mark.usefixtures("one_second_statements")
def test_a_registration_reads_and_checks_its_answers_before_it_waits_for_the_write_lock(
    app, client, backend, login, make_user, make_event
) -> None:
    """SQLite: only the writing part of a registration holds up other writers. A form sent
    back for a missing answer never waited for the lock; a valid one waits its turn (here
    in vain: 503, nothing kept), then goes through once the lock is free."""
    if backend != "sqlite":
        pytest.skip("PostgreSQL locks the event's row, not the database")
    event = make_event(capacity=5)
    question = Question(event_id=event.id, label="Affiliation", is_required=True, position=0)
    db.session.add(question)
    db.session.commit()
    person = make_user()
    login(person)
    path = f"/events/{event.slug}/register"
    answered = {question.field_name: "CERN", "name": person.name}
    with write_lock_held_elsewhere(db.engine, backend):
        refused = client.post(path, data={question.field_name: "", "name": person.name})
        waited = client.post(path, data=answered)

    assert refused.status_code == 422
    assert "Please answer this question." in refused.get_data(as_text=True)
    assert waited.status_code == 503
    assert db.session.scalar(select(func.count()).select_from(Registration)) == 0
    assert client.post(path, data=answered).status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Registration)) == 1
