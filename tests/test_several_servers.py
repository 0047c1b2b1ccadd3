"""Several servers, really run: the production topology on one machine, and a scenario
across it (issue #16; `make servers` runs this module alone and prints its figures).

Two gunicorn app servers on two ports (two workers each) share one PostgreSQL database and
one Redis (the rate limits' storage), as two machines behind a load balancer would; two
`flask outbox work` processes deliver the email to a real SMTP server. Each visitor's
requests alternate between server A and server B. The scenario:

(a) people racing on both servers for the last places fill exactly the capacity;
(b) a cancellation on server A gives the first on the waiting list the place;
(c) every email is delivered exactly once, by either worker;
(d) a rate limit counts the tries on both servers together;
(e) neither server's page cache shows an old places-left figure after a change made on the
    other.

Only on PostgreSQL with Redis: several machines cannot share an SQLite file, and in-memory
rate limits count per process.
"""

from __future__ import annotations

import email
import email.policy
import os
import re
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask
from sqlalchemy import func, select, text

from eventsite.extensions import db
from eventsite.mail.models import OutboxMessage, OutboxStatus
from eventsite.models import Event, Organisation, Registration, RegistrationStatus, User
from eventsite.registration import queries
from eventsite.timeutil import utcnow
from eventsite.webhooks import services as webhook_services
from eventsite.webhooks.models import DeliveryStatus, EventType, WebhookDelivery

from .http_sink import Receiver, start_receiver
from .servers import (
    Answer,
    Gunicorn,
    OutboxWorker,
    at_once,
    request,
    start_outbox_worker,
    stop_outbox_worker,
)

pytestmark = pytest.mark.slow

REDIS_URL = os.environ.get("TEST_REDIS_URL")
CAPACITY, TAKEN, RACERS = 60, 34, 40  # one more registers first: 25 places left for 40
LOGIN_LIMIT = 6  # log-in tries per minute and address, on all servers together
BASE_URL = "http://events.example.org"  # what a load balancer would answer to
DETAIL = re.compile(r"^/registrations/([\w-]+)\?registered=now$")
SUBJECTS = {
    "confirmed": "You are registered: ",
    "waitlisted": "You are on the waiting list: ",
    "promoted": "A place is yours: ",
    "cancelled": "Registration cancelled: ",
}


@pytest.fixture(autouse=True)
def _postgresql_and_redis(backend: str) -> None:
    if backend != "postgresql":
        pytest.skip("several servers share one PostgreSQL database (not an SQLite file)")
    if not REDIS_URL:
        pytest.skip("TEST_REDIS_URL is not set: several servers count rate limits in Redis")


# --- what is delivered from an outbox ------------------------------------------------------
# Each kind of delivery is checked the same way: everything its outbox sent arrived at its
# receiver exactly once. Webhooks (issue #16) join as a second Delivery: their receiver (an
# HTTP sink) started in `several_servers`, their outbox's delivered ids, and the ids the
# receiver saw (the delivery id header); `drain` and the scenario's check then cover them.


@dataclass
class Delivery:
    name: str
    pending: Callable[[], int]  # still to deliver (or retry)
    sent: Callable[[], Counter[str]]  # ids the outbox recorded as delivered
    received: Callable[[], Counter[str]]  # ids the receiver got, as often as it got them


def email_delivery(smtp_sink: Any) -> Delivery:
    _controller, handler = smtp_sink

    def pending() -> int:
        return db.session.scalar(
            select(func.count()).where(OutboxMessage.status == OutboxStatus.PENDING)
        )

    def sent() -> Counter[str]:
        rows = db.session.scalars(
            select(OutboxMessage.message_id).where(OutboxMessage.status == OutboxStatus.SENT)
        )
        return Counter(rows)

    def received() -> Counter[str]:
        with handler.lock:
            return Counter(str(message(e)["Message-ID"]) for e in handler.messages)

    return Delivery("email", pending, sent, received)


def webhook_delivery(receiver: Receiver) -> Delivery:
    def pending() -> int:
        return db.session.scalar(
            select(func.count()).where(WebhookDelivery.status == DeliveryStatus.PENDING)
        )

    def sent() -> Counter[str]:
        rows = db.session.scalars(
            select(WebhookDelivery.webhook_id).where(WebhookDelivery.status == DeliveryStatus.SENT)
        )
        return Counter(rows)

    def received() -> Counter[str]:
        with receiver.lock:
            return Counter(hit.headers["Eventsite-Webhook-Id"] for hit in receiver.received)

    return Delivery("webhooks", pending, sent, received)


def message(envelope: Any) -> email.message.EmailMessage:
    return email.message_from_bytes(envelope.content, policy=email.policy.default)


# --- the topology --------------------------------------------------------------------------


@dataclass
class Site:
    a: Gunicorn
    b: Gunicorn
    workers: list[OutboxWorker]
    deliveries: list[Delivery]

    @property
    def servers(self) -> tuple[Gunicorn, Gunicorn]:
        return (self.a, self.b)

    def drain(self, timeout: float = 30) -> None:
        """Wait until every outbox is empty and its receiver has all it sent."""
        deadline = time.monotonic() + timeout
        while True:
            db.session.rollback()  # a fresh snapshot each time
            if all(d.pending() == 0 and d.received() >= d.sent() for d in self.deliveries):
                return
            if time.monotonic() > deadline:
                logs = "\n".join(w.log_text() for w in self.workers)
                pytest.fail(f"the outboxes did not drain in {timeout} s:\n{logs}")
            time.sleep(0.1)


@pytest.fixture
def several_servers(
    app: Flask, app_config: dict[str, Any], gunicorn: Callable[..., Gunicorn], smtp_sink, tmp_path
) -> Iterator[Callable[[], Site]]:
    """`several_servers()` commits what the test wrote and starts the topology: servers A
    and B as production runs them (page cache and rate limits on, limits counted in
    Redis under this test's own prefix), and two outbox workers sending to `smtp_sink`.
    Everything stops when the test ends."""
    workers: list[OutboxWorker] = []
    receiver, sink = start_receiver()
    shared = {"BASE_URL": BASE_URL}
    app_servers = {
        **shared,
        "PAGE_CACHE_ENABLED": "true",
        "RATELIMIT_ENABLED": "true",
        "RATELIMIT_STORAGE_URI": str(REDIS_URL),
        "RATELIMIT_KEY_PREFIX": f"several-servers-{uuid.uuid4().hex}",
        "RATELIMIT_LOGIN": f"{LOGIN_LIMIT}/minute",
    }
    mail = {**shared, "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(app_config["MAIL_PORT"])}

    def start() -> Site:
        # Every organisation the test made hears of all its registrations and events.
        for organisation in db.session.scalars(select(Organisation)):
            webhook_services.create_endpoint(
                organisation,
                url=receiver.url,
                event_types=[kind.value for kind in EventType],
                now=utcnow(),
            )
        db.session.commit()
        a, b = gunicorn(workers=2, **app_servers), gunicorn(workers=2, **app_servers)
        for _ in range(2):
            workers.append(
                start_outbox_worker(
                    app_config["SQLALCHEMY_DATABASE_URI"],
                    app_config["SECRET_KEY"],
                    tmp_path,
                    settings=mail,
                )
            )
        return Site(a, b, workers, [email_delivery(smtp_sink), webhook_delivery(receiver)])

    try:
        yield start
    finally:
        for worker in workers:
            stop_outbox_worker(worker)
        sink.shutdown()
        sink.server_close()
        db.session.remove()


# --- visitors --------------------------------------------------------------------------------


def session_cookie(app: Flask, user: User) -> str:
    serializer = app.session_interface.get_signing_serializer(app)
    assert serializer is not None
    value = serializer.dumps({"_user_id": user.get_id(), "_fresh": True})
    return f"{app.config['SESSION_COOKIE_NAME']}={value}"


def post(server: Gunicorn, path: str, cookie: str = "", data: dict[str, str] | None = None):
    headers = {"Cookie": cookie} if cookie else {}
    return request(server.url, "POST", path, urlencode(data or {}).encode(), headers, 120)


def anonymous_pages(site: Site, slug: str, times: int = 6) -> list[tuple[str, str, Answer]]:
    """The event page and the listing, `times` each from each server, without a cookie (as
    a first visit: the page cache's fast path), one after the other so each server's two
    workers both get some."""
    return [
        (server.url, path, server.request("GET", path))
        for _ in range(times)
        for server in site.servers
        for path in (f"/events/{slug}", "/events/")
    ]


def assert_every_page_shows(site: Site, slug: str, page: str, card: str) -> list[str]:
    """Every anonymous view of the event page says `page`, of the listing `card`; returns
    the page cache's answers (hit, miss)."""
    outcomes = []
    for url, path, answer in anonymous_pages(site, slug):
        assert answer.status == 200, (url, path, answer.body[:500])
        expected = card if path == "/events/" else page
        assert expected in answer.body, f"{url}{path}: no {expected!r} (a stale page?)"
        outcomes.append(answer.headers.get("X-Page-Cache", ""))
    return outcomes


def listing_cards(site: Site, title: str) -> set[str]:
    """What the card of the event called `title` says about registering, in every anonymous
    answer of both servers' listing (several from each, so both workers answer)."""
    said = set()
    for _ in range(4):
        for server in site.servers:
            body = server.request("GET", "/events/").body
            for card in re.findall(r'<article class="event-card.*?</article>', body, re.S):
                if f">{title}</a>" in card:
                    said |= set(re.findall(r'class="badge badge-places[^"]*">([^<]+)<', card))
    return said


@contextmanager
def event_locked(event_id: int) -> Iterator[None]:
    """Hold the event's row lock, as a request changing its places does, until the end."""
    with db.engine.connect() as connection, connection.begin():
        connection.execute(select(Event.id).where(Event.id == event_id).with_for_update())
        yield


def wait_for_a_lock_waiter(timeout: float = 30) -> None:
    """Until some request of the servers is waiting for a lock in the database."""
    waiting = text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE wait_event_type = 'Lock' AND datname = current_database()"
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with db.engine.connect() as connection:
            if connection.execute(waiting).scalar():
                return
        time.sleep(0.05)
    pytest.fail("no request came to wait for the event's lock")


def statuses(event_id: int) -> dict[str, int]:
    db.session.expire_all()
    rows = db.session.execute(
        select(Registration.status, func.count())
        .where(Registration.event_id == event_id)
        .group_by(Registration.status)
    )
    return {str(status): n for status, n in rows}


def registration(public_id: str) -> Registration:
    return db.session.scalars(select(Registration).where(Registration.public_id == public_id)).one()


# --- the scenario ------------------------------------------------------------------------------


def test_two_app_servers_and_two_workers_work_as_one_site(
    app, make_event, make_user, make_registration, several_servers, smtp_sink, capsys
) -> None:
    starts = utcnow() + timedelta(days=30)
    event: Event = make_event(
        title="Two Servers Forum",
        starts_at=starts,
        ends_at=starts + timedelta(hours=8),
        capacity=CAPACITY,
        has_waiting_list=True,
    )
    for _ in range(TAKEN):
        make_registration(make_user(), event)
    small = make_event(title="Small Workshop", starts_at=starts, capacity=10)
    leaving = make_registration(make_user(), small)
    for _ in range(2):
        make_registration(make_user(), small)
    other = make_event(title="Other Meeting", starts_at=starts, capacity=50)
    users = [leaving.user, *(make_user() for _ in range(2 + RACERS))]
    cookies = {user.email: session_cookie(app, user) for user in users}
    small_leaver, latecomer, first, *racers = cookies  # their addresses
    event_id, slug, title = event.id, event.slug, event.title
    small_id, small_cancel = small.id, f"/registrations/{leaving.public_id}/cancel"
    other_register = f"/events/{other.slug}/register"
    register = f"/events/{slug}/register"
    site = several_servers()
    a, b = site.servers

    # (e) Both servers cache the pages with 26 places left; one more registers on B; A's
    # next anonymous answers show 25, from every worker.
    left = CAPACITY - TAKEN
    cached = assert_every_page_shows(site, slug, f"{left} places", f"{left} places left")
    assert "hit" in cached  # the pages really were served from the caches
    assert post(b, register, cookies[first]).status == 302
    assert_every_page_shows(site, slug, f"{left - 1} places", f"{left - 1} places left")

    # (e) A cancellation on A waits for its event's lock while a registration for another
    # event commits on B: it commits last, its `updated_at` older. The listings both servers
    # cached in between give way to it all the same.
    with ThreadPoolExecutor(1) as pool, event_locked(small_id):
        cancelling = pool.submit(post, a, small_cancel, cookies[small_leaver])
        wait_for_a_lock_waiter()
        assert post(b, other_register, cookies[latecomer]).status == 302
        assert listing_cards(site, "Small Workshop") == {"7 places left"}
    assert cancelling.result(timeout=60).status == 302
    assert listing_cards(site, "Small Workshop") == {"8 places left"}

    # (a) 40 people race for the last 25 places, every other one on server B.
    jobs = [
        (lambda c=cookies[who], s=site.servers[i % 2]: post(s, register, c))
        for i, who in enumerate(racers)
    ]
    started = time.perf_counter()
    results = at_once(jobs)
    seconds = time.perf_counter() - started
    errors = [r for r in results if not isinstance(r, Answer) or r.status != 302]
    assert errors == [], a.log_text() + b.log_text()
    got = {
        who: registration(DETAIL.match(r.location).group(1))
        for who, r in zip(racers, results, strict=True)
    }
    assert statuses(event_id) == {"confirmed": CAPACITY, "waitlisted": RACERS - (left - 1)}
    assert Counter(str(r.status) for r in got.values()) == {"confirmed": 25, "waitlisted": 15}
    waiting = [r for r in got.values() if r.status == RegistrationStatus.WAITLISTED]
    assert sorted(queries.waitlist_rank(r) for r in waiting) == list(range(1, 16))
    assert_every_page_shows(site, slug, "Waiting list open", "Waiting list")

    # (b) Someone who got a place cancels on server A: the first in line gets it.
    leaver = next(e for e, r in got.items() if r.status == RegistrationStatus.CONFIRMED)
    first_in_line = next(e for e, r in got.items() if queries.waitlist_rank(r) == 1)
    answer = post(a, f"/registrations/{got[leaver].public_id}/cancel", cookies[leaver])
    assert answer.status == 302
    db.session.expire_all()
    assert got[leaver].status == RegistrationStatus.CANCELLED
    assert got[first_in_line].status == RegistrationStatus.CONFIRMED
    assert statuses(event_id) == {"confirmed": CAPACITY, "waitlisted": 14, "cancelled": 1}

    # (c) Every email arrives once, whichever worker sent it.
    site.drain()
    for delivery in site.deliveries:
        sent, received = delivery.sent(), delivery.received()
        assert received == sent, f"{delivery.name}: delivered other than once each"
        assert set(sent.values()) == {1}  # and no id was used twice
    _controller, handler = smtp_sink
    subjects = Counter()
    for envelope in handler.messages:
        for rcpt in envelope.rcpt_tos:
            subjects[rcpt, str(message(envelope)["Subject"])] += 1
    expected = Counter(
        {
            (first, SUBJECTS["confirmed"] + title): 1,
            (small_leaver, SUBJECTS["cancelled"] + "Small Workshop"): 1,
            (latecomer, SUBJECTS["confirmed"] + "Other Meeting"): 1,
        }
    )
    for mail_to, r in got.items():
        kind = (
            "waitlisted"
            if r.status == RegistrationStatus.WAITLISTED or mail_to == first_in_line
            else "confirmed"
        )
        expected[mail_to, SUBJECTS[kind] + title] += 1
    expected[leaver, SUBJECTS["cancelled"] + title] += 1
    expected[first_in_line, SUBJECTS["promoted"] + title] += 1
    assert subjects == expected
    webhooks = sum(site.deliveries[1].received().values())
    assert webhooks >= RACERS + 2  # every registration made on either server, and more
    per_worker = [worker.sent() for worker in site.workers]
    assert sum(per_worker) == len(handler.messages)
    # Both workers were up and sharing the work (each claims one message at a time).
    assert all(w.process.poll() is None for w in site.workers)
    assert all(per_worker), [w.log_text() for w in site.workers]

    # (d) The log-in limit counts tries on both servers together.
    tries = [
        (lambda s=site.servers[i % 2], i=i: post(
            s, "/login", data={"email": f"guess{i}@example.org", "password": "wrong"}
        ))
        for i in range(2 * LOGIN_LIMIT)
    ]  # fmt: skip
    answers = at_once(tries)
    assert Counter(r.status for r in answers) == {422: LOGIN_LIMIT, 429: LOGIN_LIMIT}
    refused = next(r for r in answers if r.status == 429)
    assert "You have tried this too many times" in refused.body  # the site's own page

    with capsys.disabled():
        print(
            f"\nSeveral servers (2 gunicorn servers x 2 workers, 2 outbox workers, PostgreSQL,"
            f" Redis): {RACERS} registrations racing for the last {left - 1} places in"
            f" {seconds:.2f} s = {RACERS / seconds:.1f} registrations/s (median answer"
            f" {statistics.median(r.seconds for r in results) * 1000:.0f} ms); exact capacity"
            f" {CAPACITY}/{CAPACITY}, waiting list {RACERS - (left - 1)}, 0 errors;"
            f" {len(handler.messages)} emails, each delivered once (workers sent"
            f" {' + '.join(map(str, per_worker))}); {webhooks} webhooks, each delivered"
            f" once; log-in limit {LOGIN_LIMIT}/minute:"
            f" {LOGIN_LIMIT} tries answered, {LOGIN_LIMIT} refused (429) across both servers;"
            f" no stale page after a change on the other server."
        )
