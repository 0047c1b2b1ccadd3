"""Capacity under real concurrency: a gunicorn process, many threads, each its own session.

The server runs in a subprocess on the test's own database (an SQLite file, or the
PostgreSQL test database); every thread sends its own signed session cookie, made with
the app's session serializer and the same SECRET_KEY, so no login form is involved.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask
from sqlalchemy import func, select

from eventsite.extensions import db
from eventsite.models import Registration, RegistrationStatus, User
from eventsite.registration import queries, services
from eventsite.timeutil import utcnow

from ..servers import Answer, at_once, request

pytestmark = pytest.mark.slow

DETAIL = re.compile(r"^/registrations/([\w-]+)\?registered=now$")


def session_cookie(app: Flask, user: User) -> str:
    serializer = app.session_interface.get_signing_serializer(app)
    assert serializer is not None
    value = serializer.dumps({"_user_id": user.get_id(), "_fresh": True})
    return f"{app.config['SESSION_COOKIE_NAME']}={value}"


def post(base_url: str, path: str, cookie: str, data: dict[str, str]) -> Answer:
    """One POST on a fresh connection, as the person the cookie logs in."""
    return request(base_url, "POST", path, urlencode(data).encode(), {"Cookie": cookie}, 120)


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
    app, make_event, make_user, make_question, gunicorn
) -> None:
    capacity, people = 20, 60
    event = future_event(make_event, capacity=capacity, has_waiting_list=True)
    question = make_question(event, label="Affiliation", is_required=True)
    users = [make_user() for _ in range(people)]
    cookies = [session_cookie(app, u) for u in users]
    event_id, slug, field = event.id, event.slug, question.field_name
    server = gunicorn(workers=4, threads=4)

    path = f"/events/{slug}/register"
    results = at_once(
        [
            (lambda c=c, i=i: post(server.url, path, c, {field: f"Lab {i}"}))
            for i, c in enumerate(cookies)
        ]
    )

    errors = [r for r in results if isinstance(r, Exception)]
    assert errors == []
    assert [answer.status for answer in results] == [302] * people, server.log_text()
    ids = [DETAIL.match(answer.location).group(1) for answer in results]
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
    app, make_event, make_user, gunicorn
) -> None:
    event = future_event(make_event, capacity=5)
    cookie = session_cookie(app, make_user())
    event_id, slug = event.id, event.slug
    server = gunicorn(workers=4, threads=4)

    results = at_once(
        [(lambda: post(server.url, f"/events/{slug}/register", cookie, {})) for _ in range(12)]
    )
    assert [r.status for r in results] == [302] * 12, results
    # Everyone is shown the same registration (one made it, the others found it).
    assert len({r.location.split("?")[0] for r in results}) == 1
    assert counts(event_id) == {"confirmed": 1}


def test_cancellations_racing_registrations_never_lose_or_double_a_place(
    app, make_event, make_user, gunicorn
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
            server.url, f"/registrations/{rid}/cancel", c, {}
        ))
        for u, rid in holders
    ] + [
        (lambda c=session_cookie(app, u): post(server.url, f"/events/{slug}/register", c, {}))
        for u in newcomers
    ]  # fmt: skip
    server = gunicorn(workers=4, threads=4)  # the jobs hold their cookies already

    results = at_once(jobs)

    assert [r if isinstance(r, Exception) else r.status for r in results] == [302] * len(jobs)
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

    results = at_once([(lambda c=c: post(live_server, path, c, {})) for c in cookies])

    assert [r if isinstance(r, Exception) else r.status for r in results] == [302] * people
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


def place_holders_are_the_first_in_line(event_id: int, capacity: int) -> list[Registration]:
    """First come, first served, with holds: the active registrations holding a place are
    exactly the first `capacity` active ones in the list's order (id), and every other one
    waits. Returns the active registrations in that order."""
    db.session.expire_all()
    active = list(
        db.session.scalars(
            select(Registration)
            .where(
                Registration.event_id == event_id,
                Registration.status.in_(["confirmed", "pending", "waitlisted"]),
            )
            .order_by(Registration.id)
        )
    )
    statuses = [r.status for r in active]
    assert statuses == ["confirmed"] * min(capacity, len(active)) + ["waitlisted"] * max(
        len(active) - capacity, 0
    )
    return active


def test_racing_newcomers_and_members_fill_exactly_the_capacity_and_holds_expire_in_order(
    app, make_event, make_user, gunicorn
) -> None:
    """Half the racers have no account (the one-step form, their places held), half are
    logged in. Then every newcomer's hold runs out while a second wave races: the first
    request to take the event's lock releases them, and the places go down the waiting
    list in order, never above the capacity."""
    capacity, members, newcomers = 20, 30, 30
    event = future_event(make_event, capacity=capacity, has_waiting_list=True)
    cookies = [session_cookie(app, make_user()) for _ in range(members + 10)]
    event_id, path = event.id, f"/events/{event.slug}/register"
    server = gunicorn(workers=4, threads=4)

    def newcomer(i: int) -> Answer:
        data = {"name": f"Newcomer {i}", "email": f"newcomer{i}@example.org"}
        return request(server.url, "POST", path, urlencode(data).encode(), {}, 120)

    jobs = [(lambda c=c: post(server.url, path, c, {})) for c in cookies[:members]]
    jobs += [(lambda i=i: newcomer(i)) for i in range(newcomers)]
    results = at_once(jobs)

    assert [r if isinstance(r, Exception) else r.status for r in results] == (
        [302] * members + [200] * newcomers
    ), server.log_text()
    assert all("We are holding your place until" in r.body for r in results[members:])
    active = place_holders_are_the_first_in_line(event_id, capacity)
    assert len(active) == members + newcomers
    held = [r for r in active if r.hold_expires_at is not None]
    assert len(held) == newcomers
    assert (
        db.session.scalar(
            select(func.count()).select_from(User).where(User.email_verified_at.is_(None))
        )
        == newcomers
    )

    # Every hold runs out; a second wave (ten members, ten newcomers) races the release.
    for registration in held:
        registration.hold_expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    db.session.remove()
    second = [(lambda c=c: post(server.url, path, c, {})) for c in cookies[members:]]
    second += [(lambda i=i: newcomer(i)) for i in range(newcomers, newcomers + 10)]
    results = at_once(second)

    assert [r if isinstance(r, Exception) else r.status for r in results] == (
        [302] * 10 + [200] * 10
    ), server.log_text()
    final = counts(event_id)
    assert final["cancelled"] == newcomers  # every expired hold, and nothing else
    active = place_holders_are_the_first_in_line(event_id, capacity)
    assert len(active) == members + 20
    # The first members in line (by id) have the places: nobody jumped the queue.
    assert all(r.hold_expires_at is None for r in active[:capacity])
