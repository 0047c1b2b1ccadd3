"""Issue 12: name badges of 1,000 confirmed registrants as one PDF, through the workspace's
route (query, sorting, QR codes, fonts, the PDF), in under 10 s.

The names mix scripts as the flagship forum's list does (Latin with accents, Chinese,
Arabic, Cyrillic, some long enough to wrap). The machine's load average goes in the note:
other processes share the cores."""

from __future__ import annotations

import os
import re
import statistics
import time
from datetime import timedelta

from bench.harness import BenchContext, Row, Stats

PEOPLE = 1000
RUNS = 3
MAX_MS = 10_000.0
LAYOUT = "a4-2x4"
HTTPS = "https://localhost"  # the site's session cookie is Secure
EVENT_SLUG = "badge-bench-forum"
ORGANISATION_SLUG = "badge-bench-org"

NAMES = [
    "Amara Okafor", "Lars Østergaard", "王小明", "ليلى حسن", "Александра Смирнова",
    "Joaquim Conceição", "Kenji Watanabe", "Émilie Lefèvre-Dubois", "陈静怡", "محمد عبد الله",
    "Maria Concepción de los Ángeles Fernández-Villaverde", "Nguyễn Thị Minh Khai", "김민준",
    "Ruth Ben-David", "Σοφία Παπαδοπούλου", "Aisha Abubakar", "さくら 田中", "Jo",
]  # fmt: skip
AFFILIATIONS = [
    "Chinese Academy of Sciences", "جامعة القاهرة", "Université de Genève",
    "Max-Planck-Institut für Meteorologie", "北京大学", "Московский государственный университет",
    "International Centre for Theoretical Physics", "",
]  # fmt: skip
COUNTRIES = ["CN", "EG", "CH", "DE", "RU", "IT", "BR", "JP", "VN", None]


def _prepare(ctx: BenchContext) -> tuple[str, str]:
    """An organisation, its member, an event with PEOPLE confirmed registrations.
    Returns the badges URL and the member's session id."""
    from eventsite.extensions import db
    from eventsite.models import (
        Event,
        JoinedVia,
        Membership,
        Organisation,
        Registration,
        RegistrationStatus,
        User,
    )

    # The run's catalogue first: it is generated with ids of its own (`harness.
    # generate_events`), which rows added before it would take; these rows take the next
    # ones, and leave with `_remove` (the modules after this one count its events).
    ctx.data()
    app = ctx.app
    with app.app_context():
        organisation = Organisation(name="Badge Bench Org", slug=ORGANISATION_SLUG)
        member = User(email="badges-member@example.org", name="Badge Member", password_hash="!")
        event = Event(
            slug=EVENT_SLUG,
            title="Beijing Science Forum 2027 — 北京科学论坛",
            kind="forum",
            starts_at=ctx.now,
            ends_at=ctx.now + timedelta(days=2),
            timezone="Asia/Shanghai",
            status="published",
            organisation=organisation,
        )
        db.session.add_all(
            [organisation, member, event, Membership(user=member, organisation=organisation,
                                                     joined_via=JoinedVia.INVITATION)]
        )  # fmt: skip
        for n in range(PEOPLE):
            person = User(
                email=f"badge-person-{n}@example.org",
                name=f"{NAMES[n % len(NAMES)]} {n}",
                password_hash="!",
                affiliation=AFFILIATIONS[n % len(AFFILIATIONS)],
                country=COUNTRIES[n % len(COUNTRIES)],
            )
            db.session.add(
                Registration(
                    event=event, user=person, status=RegistrationStatus.CONFIRMED, answers={}
                )
            )
        db.session.commit()
        return f"/manage/events/{event.id}/badges", member.get_id()


def _remove(ctx: BenchContext) -> None:
    """What `_prepare` added: the run's scratch database is the other modules' too."""
    from sqlalchemy import delete, select

    from eventsite.extensions import db
    from eventsite.models import Event, Membership, Organisation, Registration, User

    with ctx.app.app_context():
        event_id = select(Event.id).where(Event.slug == EVENT_SLUG).scalar_subquery()
        organisation_id = (
            select(Organisation.id).where(Organisation.slug == ORGANISATION_SLUG).scalar_subquery()
        )
        db.session.execute(delete(Registration).where(Registration.event_id == event_id))
        db.session.execute(delete(Event).where(Event.slug == EVENT_SLUG))
        db.session.execute(delete(Membership).where(Membership.organisation_id == organisation_id))
        db.session.execute(delete(Organisation).where(Organisation.slug == ORGANISATION_SLUG))
        db.session.execute(delete(User).where(User.email.like("badge%@example.org")))
        db.session.commit()


def _load() -> str:
    return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def run(ctx: BenchContext) -> list[Row]:
    url, user_id = _prepare(ctx)
    try:
        return _measure(ctx, url, user_id)
    finally:
        _remove(ctx)


def _measure(ctx: BenchContext, url: str, user_id: str) -> list[Row]:
    client = ctx.app.test_client()
    with client.session_transaction(base_url=HTTPS) as session:
        session["_user_id"] = user_id
        session["_fresh"] = True
    page = client.get(url, base_url=HTTPS)
    if page.status_code != 200:
        raise RuntimeError(f"GET {url} answered {page.status_code}")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text)
    data = {"layout": LAYOUT, "csrf_token": token.group(1) if token else ""}
    latencies: list[float] = []
    size = 0
    started = time.perf_counter()
    cpu = time.process_time()
    for _ in range(RUNS):
        t0 = time.perf_counter()
        # Over HTTPS, Flask-WTF wants the Referer of a page of the same site.
        response = client.post(url, data=data, base_url=HTTPS, headers={"Referer": HTTPS + url})
        latencies.append(time.perf_counter() - t0)
        if response.mimetype != "application/pdf":
            raise RuntimeError(f"POST {url} answered {response.status_code} {response.mimetype}")
        size = len(response.data)
    stats = Stats(latencies, time.perf_counter() - started)
    cpu = (time.process_time() - cpu) / RUNS
    note = (
        f"{PEOPLE} badges, {LAYOUT}, {size / 1e6:.1f} MB; slowest of {RUNS} "
        f"{max(latencies):.1f} s, mean {statistics.mean(latencies):.1f} s, "
        f"CPU {cpu:.1f} s a PDF; {_load()}"
    )
    return [
        Row.from_stats(
            f"badges PDF, {PEOPLE:,} people (in-process)", stats, max_median_ms=MAX_MS, note=note
        )
    ]
