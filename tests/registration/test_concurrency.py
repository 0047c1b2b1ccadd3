"""Capacity under real concurrency: a gunicorn process, many threads, each its own session.

The server runs in a subprocess on the test's own database (an SQLite file, or the
PostgreSQL test database); every thread sends its own signed session cookie, made with
the app's session serializer and the same SECRET_KEY, so no login form is involved.
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask
from sqlalchemy import func, select

from eventsite.extensions import db
from eventsite.models import Registration, RegistrationStatus, User
from eventsite.registration import queries, services
from eventsite.timeutil import utcnow

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
DETAIL = re.compile(r"^/registrations/([\w-]+)$")


class Server:
    def __init__(
        self, host: str, port: int, process: subprocess.Popen[bytes] | None, log: Path | None
    ):
        self.host, self.port, self.process, self.log = host, port, process, log

    @classmethod
    def at(cls, base_url: str) -> Server:
        """A server this process runs (the `live_server` fixture)."""
        host, port = base_url.removeprefix("http://").split(":")
        return cls(host, int(port), None, None)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def gunicorn(app: Flask, app_config: dict[str, Any], tmp_path: Path) -> Iterator[Server]:
    """The site under gunicorn (4 workers x 4 threads) on the test's database."""
    db.session.commit()
    db.session.remove()
    port = _free_port()
    env = {
        **os.environ,
        "EVENTSITE_ENV": "development",
        "DATABASE_URL": app_config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": app_config["SECRET_KEY"],
        "EVENTSITE_WTF_CSRF_ENABLED": "false",
        "EVENTSITE_RATELIMIT_ENABLED": "false",
        "EVENTSITE_MAIL_DELIVER_AFTER_REQUEST": "false",
        "EVENTSITE_BASE_URL": f"http://127.0.0.1:{port}",
    }
    log = tmp_path / "gunicorn.log"
    command = [
        sys.executable, "-m", "gunicorn", "-w", "4", "--threads", "4",
        "-b", f"127.0.0.1:{port}", "--log-level", "warning", "--timeout", "120", "wsgi:app",
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    server = Server("127.0.0.1", port, process, log)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"gunicorn exited:\n{log.read_text()}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"gunicorn did not start:\n{log.read_text()}")
            time.sleep(0.2)
        time.sleep(1.0)  # every worker booted
        yield server
    finally:
        process.send_signal(signal.SIGINT)  # quick shutdown; the test is over
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        db.session.remove()


def session_cookie(app: Flask, user: User) -> str:
    serializer = app.session_interface.get_signing_serializer(app)
    assert serializer is not None
    value = serializer.dumps({"_user_id": user.get_id(), "_fresh": True})
    return f"{app.config['SESSION_COOKIE_NAME']}={value}"


def post(server: Server, path: str, cookie: str, data: dict[str, str]) -> tuple[int, str, str]:
    """(status, Location, body) of one POST on a fresh connection."""
    conn = http.client.HTTPConnection(server.host, server.port, timeout=120)
    try:
        conn.request(
            "POST",
            path,
            body=urlencode(data),
            headers={"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"},
        )
        response = conn.getresponse()
        body = response.read().decode("utf-8", "replace")
        return response.status, response.getheader("Location") or "", body
    finally:
        conn.close()


def run_at_once(jobs: list[Any]) -> list[Any]:
    """Run the callables from one thread each, released together; results in order."""
    barrier = threading.Barrier(len(jobs))
    results: list[Any] = [None] * len(jobs)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = jobs[i]()
        except Exception as err:  # a lost request shows up as an exception here
            results[i] = err

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return results


def counts(event_id: int) -> dict[str, int]:
    db.session.expire_all()
    rows = db.session.execute(
        select(Registration.status, func.count())
        .where(Registration.event_id == event_id)
        .group_by(Registration.status)
    ).all()
    return {str(s): n for s, n in rows}


def future_event(make_event, **overrides: Any):
    starts = utcnow() + timedelta(days=30)
    return make_event(starts_at=starts, ends_at=starts + timedelta(hours=8), **overrides)


def test_concurrent_registrations_fill_exactly_the_capacity(
    app, make_event, make_user, make_question, gunicorn_after_data
) -> None:
    capacity, people = 20, 60
    event = future_event(make_event, capacity=capacity, has_waiting_list=True)
    question = make_question(event, label="Affiliation", is_required=True)
    users = [make_user() for _ in range(people)]
    cookies = [session_cookie(app, u) for u in users]
    event_id, slug, field = event.id, event.slug, question.field_name
    server = gunicorn_after_data()

    path = f"/events/{slug}/register"
    results = run_at_once(
        [
            (lambda c=c, i=i: post(server, path, c, {field: f"Lab {i}"}))
            for i, c in enumerate(cookies)
        ]
    )

    errors = [r for r in results if isinstance(r, Exception)]
    assert errors == []
    assert [status for status, _location, _body in results] == [302] * people, server.log
    ids = [DETAIL.match(location).group(1) for _s, location, _b in results]
    assert len(set(ids)) == people  # nobody lost, nobody doubled
    assert counts(event_id) == {"confirmed": capacity, "waitlisted": people - capacity}
    # The waiting list ranks are 1..40 without gaps or ties.
    waiting = db.session.scalars(
        select(Registration).where(
            Registration.event_id == event_id, Registration.status == "waitlisted"
        )
    ).all()
    assert sorted(queries.waitlist_rank(r) for r in waiting) == list(
        range(1, people - capacity + 1)
    )


def test_one_person_submitting_many_times_at_once_gets_one_registration(
    app, make_event, make_user, gunicorn_after_data
) -> None:
    event = future_event(make_event, capacity=5)
    cookie = session_cookie(app, make_user())
    event_id, slug = event.id, event.slug
    server = gunicorn_after_data()

    results = run_at_once(
        [(lambda: post(server, f"/events/{slug}/register", cookie, {})) for _ in range(12)]
    )
    assert [r[0] for r in results] == [302] * 12, results
    assert len({r[1] for r in results}) == 1  # everyone is shown the same registration
    assert counts(event_id) == {"confirmed": 1}


def test_cancellations_racing_registrations_never_lose_or_double_a_place(
    app, make_event, make_user, gunicorn_after_data
) -> None:
    capacity = 10
    event = future_event(make_event, capacity=capacity, has_waiting_list=True)
    now = utcnow() - timedelta(minutes=5)
    holders, waiting = [], []
    for i in range(2 * capacity):
        user = make_user()
        registration = services.register_attendee(user, event, {}, now + timedelta(seconds=i))
        db.session.commit()
        (holders if i < capacity else waiting).append((user, registration.public_id))
    newcomers = [make_user() for _ in range(30)]
    event_id, slug = event.id, event.slug
    jobs = [
        (lambda c=session_cookie(app, u), rid=rid: post(
            server_ref[0], f"/registrations/{rid}/cancel", c, {}
        ))
        for u, rid in holders
    ] + [
        (lambda c=session_cookie(app, u): post(server_ref[0], f"/events/{slug}/register", c, {}))
        for u in newcomers
    ]  # fmt: skip
    server_ref = [gunicorn_after_data()]

    results = run_at_once(jobs)

    assert [r[0] if not isinstance(r, Exception) else r for r in results] == [302] * len(jobs)
    final = counts(event_id)
    assert final["confirmed"] + final.get("pending", 0) <= capacity
    # A place is never left free while someone waits (registration is open).
    assert final["confirmed"] == capacity
    assert final == {"confirmed": 10, "cancelled": 10, "waitlisted": 30}
    # First come, first served: the ten who were waiting got the ten freed places.
    confirmed_ids = set(
        db.session.scalars(
            select(Registration.public_id).where(
                Registration.event_id == event_id,
                Registration.status == RegistrationStatus.CONFIRMED,
            )
        )
    )
    assert confirmed_ids == {rid for _u, rid in waiting}
    assert len(set(db.session.scalars(select(Registration.user_id)))) == 50  # every request


WAITING_NUMBER = re.compile(r"on the waiting list: number (\d+)\.")


def test_racing_registrations_are_each_emailed_their_final_waiting_list_number(
    app, backend, make_event, make_user, smtp_sink, mailbox, live_server
) -> None:
    """200 people at once for 20 places (`make bench` races 1,000): every waiting-list
    number in the emails is different, and is the person's place in the final list.

    The site runs on a threaded server in this process (each request its own thread,
    session and connection; the event's row lock in PostgreSQL decides the order), which
    starts in no time where gunicorn's workers take seconds."""
    if backend != "postgresql":
        pytest.skip("SQLite decides one registration at a time from the start of the request")
    capacity, people = 20, 200
    event = future_event(make_event, capacity=capacity, has_waiting_list=True)
    cookies = [session_cookie(app, make_user()) for _ in range(people)]
    event_id, path = event.id, f"/events/{event.slug}/register"
    db.session.commit()
    server = Server.at(live_server)

    results = run_at_once([(lambda c=c: post(server, path, c, {})) for c in cookies])

    assert [r if isinstance(r, Exception) else r[0] for r in results] == [302] * people
    emailed = {}
    for message in mailbox():
        found = WAITING_NUMBER.search(message.text)
        if found:
            emailed[message.rcpt_tos[0]] = int(found.group(1))
    waiting = db.session.scalars(
        select(Registration).where(
            Registration.event_id == event_id, Registration.status == "waitlisted"
        )
    ).all()
    final = {r.user.email: queries.waitlist_rank(r) for r in waiting}
    assert len(final) == people - capacity
    assert sorted(emailed.values()) == list(range(1, people - capacity + 1))  # no two alike
    assert emailed == final


@pytest.fixture
def gunicorn_after_data(request: pytest.FixtureRequest):
    """Start the server only once the test has written its rows (commit first)."""

    def start() -> Server:
        db.session.commit()
        return request.getfixturevalue("gunicorn")

    return start
