"""Sending mail never holds up the site: with a mail server that hangs, or one that answers
at once after every request, registrations and shares answer quickly and never fail.

The site runs on a real HTTP server (threads, each request its own session and connection)
on an SQLite file, the backend where a lock held by the sender would stop every writer.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask
from sqlalchemy import func, select

from eventsite.extensions import db
from eventsite.mail import after_request, sender, worker
from eventsite.mail import services as mail
from eventsite.mail.models import OutboxMessage, OutboxStatus
from eventsite.models import EventShare, Registration, User
from eventsite.timeutil import utcnow

from .conftest import HUNG_SECONDS, received

pytestmark = pytest.mark.slow

# A request that waited for the hung mail server takes HUNG_SECONDS; one that did not
# takes milliseconds, or a few seconds if the machine stalls (seen once in CI: three
# requests in flight together all took 2.8 s).
MAX_SECONDS = HUNG_SECONDS / 2


def session_cookie(app: Flask, user: User) -> str:
    serializer = app.session_interface.get_signing_serializer(app)
    assert serializer is not None
    value = serializer.dumps({"_user_id": user.get_id(), "_fresh": True})
    return f"{app.config['SESSION_COOKIE_NAME']}={value}"


def post(base_url: str, path: str, data: dict[str, str], cookie: str = "") -> tuple[int, float]:
    """(status, seconds) of one POST on a fresh connection."""
    host, port = base_url.removeprefix("http://").split(":")
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if cookie:
        headers["Cookie"] = cookie
    started = time.perf_counter()
    conn = http.client.HTTPConnection(host, int(port), timeout=120)
    try:
        conn.request("POST", path, body=urlencode(data), headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status, time.perf_counter() - started
    finally:
        conn.close()


def run_clients(jobs: list[Callable[[], tuple[int, float]]], clients: int) -> list[Any]:
    """Run the jobs from `clients` threads, each taking the next job; results in order."""
    results: list[Any] = [None] * len(jobs)
    next_job = iter(range(len(jobs)))
    lock = threading.Lock()

    def client() -> None:
        while True:
            with lock:
                n = next(next_job, None)
            if n is None:
                return
            try:
                results[n] = jobs[n]()
            except Exception as err:  # a lost request shows up here
                results[n] = err

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return results


@pytest.fixture
def sqlite_only(backend: str) -> None:
    if backend != "sqlite":
        pytest.skip("PostgreSQL never locks the whole database")


@pytest.fixture
def outbox_worker(app: Flask) -> Iterator[Callable[[], None]]:
    """`start()` runs `flask outbox work`'s loop on a thread, as production does beside
    the web server; it stops when the test ends."""
    stop = threading.Event()
    threads: list[threading.Thread] = []

    def loop() -> None:
        with app.app_context():
            worker.run_worker(interval=0.05, stop=stop, echo=lambda _line: None)

    def start() -> None:
        thread = threading.Thread(target=loop, name="test-outbox-worker", daemon=True)
        thread.start()
        threads.append(thread)

    try:
        yield start
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)


@pytest.mark.usefixtures("sqlite_only")
@pytest.mark.parametrize("mode", ["development", "production"])
def test_a_mail_server_that_never_answers_slows_no_request(
    mode, app, stalling_smtp, outbox_worker, live_server, make_event, make_user
) -> None:
    """30 registrations and 30 shares while every SMTP conversation hangs for MAIL_TIMEOUT
    (HUNG_SECONDS): delivered after each request (development) or by the worker (production)."""
    event = make_event(title="Hung Mail Forum", capacity=10, has_waiting_list=True)
    cookies = [session_cookie(app, make_user()) for _ in range(30)]
    slug = event.slug
    db.session.commit()
    app.config["MAIL_DELIVER_AFTER_REQUEST"] = mode == "development"
    if mode == "production":
        outbox_worker()

    register = [(lambda c=c: post(live_server, f"/events/{slug}/register", {}, c)) for c in cookies]
    share = [
        (lambda n=n: post(
            live_server,
            f"/events/{slug}/share",
            {"email": f"friend{n}@example.org", "name": "Grace", "note": "Come along"},
        ))
        for n in range(30)
    ]  # fmt: skip
    jobs = [job for pair in zip(register, share, strict=True) for job in pair]
    try:
        results = run_clients(jobs, clients=3)
        # The mail server was being talked to meanwhile (the worker may reach it only after
        # the last request on a busy machine: give it a moment).
        deadline = time.monotonic() + 15
        while stalling_smtp.accepted < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert stalling_smtp.accepted >= 1
    finally:
        stalling_smtp.close()  # the hung conversations fail at once
        after_request.wait_for_deliveries(timeout=30)

    assert [r if isinstance(r, Exception) else r[0] for r in results] == [302] * 60
    slow = [round(seconds, 2) for _status, seconds in results if seconds >= MAX_SECONDS]
    assert slow == []
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Registration)) == 30
    assert db.session.scalar(select(func.count()).select_from(EventShare)) == 30
    # The confirmations the worker had not reached yet are still on their registrations:
    # its next round moves them to the outbox.
    mail.queue_pending()
    db.session.commit()
    statuses = db.session.scalars(select(OutboxMessage.status)).all()
    assert Counter(statuses) == {OutboxStatus.PENDING: 60}  # nothing lost, nothing sent


@pytest.mark.usefixtures("sqlite_only")
def test_shares_back_to_back_each_delivered_after_its_request_all_succeed(
    app, smtp_sink, live_server, make_event
) -> None:
    """One visitor shares 60 times in a row while the previous share's mail goes out."""
    _controller, handler = smtp_sink
    event = make_event(title="Busy Forum")
    slug = event.slug
    db.session.commit()
    app.config["MAIL_DELIVER_AFTER_REQUEST"] = True

    statuses = []
    for n in range(60):
        status, _seconds = post(
            live_server,
            f"/events/{slug}/share",
            {"email": f"friend{n}@example.org", "name": "Grace", "note": ""},
        )
        statuses.append(status)
    after_request.wait_for_deliveries(timeout=30)

    assert statuses == [302] * 60
    deadline = time.monotonic() + 10
    while len(handler.messages) < 60 and time.monotonic() < deadline:
        sender.deliver_due()  # whatever the delivery thread left (a full queue) goes now
        time.sleep(0.05)
    arrived = Counter(str(m["To"]) for m in received(handler))
    assert arrived == {f"friend{n}@example.org": 1 for n in range(60)}


def test_after_request_delivery_uses_one_thread_and_a_bounded_queue(
    app, stalling_smtp, client
) -> None:
    """Twenty requests queue mail while the server hangs: one delivery thread, a queue of
    five; what does not fit stays in the outbox for `flask outbox work`."""
    app.config.update(MAIL_DELIVER_AFTER_REQUEST=True, MAIL_AFTER_REQUEST_QUEUE_SIZE=5)

    def queue_one() -> str:
        from eventsite.mail import services

        services.queue_email("ada@example.org", "After the request", "test_message", language="en")
        db.session.commit()
        return "queued"

    app.add_url_rule("/_test/mail/queue", "test_queue", queue_one, methods=["POST"])
    try:
        for _ in range(20):
            started = time.perf_counter()
            assert client.post("/_test/mail/queue").status_code == 200
            assert time.perf_counter() - started < MAX_SECONDS
        senders = [t.name for t in threading.enumerate() if t.name.startswith("eventsite-mail")]
    finally:
        stalling_smtp.close()
        after_request.wait_for_deliveries(timeout=30)

    assert senders == ["eventsite-mail-after-request"]
    db.session.expire_all()
    rows = db.session.scalars(select(OutboxMessage)).all()
    assert len(rows) == 20 and all(r.status == OutboxStatus.PENDING for r in rows)
    tried = [r for r in rows if r.attempts]
    # The message being sent when the queue filled up, and the five queued behind it.
    assert 1 <= len(tried) <= 6
    # The worker takes what was left, and what failed once after its backoff.
    app.config.update(MAIL_SERVER=None)
    assert sender.deliver_due(now=utcnow() + timedelta(minutes=5)).sent == 20
