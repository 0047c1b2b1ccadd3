"""Issue 16's scale curve: the same pages at 1,000, 10,000 and 100,000 events (ten
registrations per event, so 1,000,000 at the largest size, a tenth of them for one big event
with answers), median latency in process at each size, and what grows.

Only run when named (`python -m bench scale --database-url …`): every size is generated
afresh in the database given, and the largest takes minutes. `--scale-sizes 1000,10000`
chooses the sizes. Each row's median is in milliseconds; "rendered" is the page cache off
(every request renders), "cached" on (every request after the first is a hit). The
workspace rows are the big event's (a tenth of the registrations), seen by a member of its
organisation. Exports are timed whole (streamed and thrown away as they arrive) and their
peak Python memory traced in a separate run.

A row's verdict compares the largest size with the smallest: "flat" (at most 2×, or less
than 5 ms more: noise on a shared machine), "grows with items shown" (a page that lists
every item: the sitemap up to its 5,000 addresses a file, the month view up to its 300 events,
the calendar feed, the exports, the door list), or "grows ✗" (a page showing a fixed
number of items that gets slower with the data: a bug)."""

from __future__ import annotations

import json
import math
import os
import random
import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import Engine, func, insert, select, text

from bench import harness
from bench.bench_ical import _clear_caches as clear_feed_caches
from bench.bench_public import page_cache_switched
from bench.harness import BenchContext, Row

DEFAULT_SIZES = (1_000, 10_000, 100_000)
REGISTRATIONS_PER_EVENT = 10
BIG_EVENT_SHARE = 10  # the big event holds one registration in ten
FLAT = 2.0  # growth up to this factor, smallest to largest size, is "flat"
# ... and so is less than this many milliseconds more: a cache hit of 1 ms that takes 3 ms
# on a busy machine has not grown with the data.
NOISE_MS = 5.0
EXPORT_RUNS = 3  # fewer at 100,000 events and more (see _export_runs)
COLD_FEED_RUNS = 3
STATUSES = ["confirmed"] * 17 + ["waitlisted", "pending", "cancelled"]
QUESTIONS = [
    ("short_text", "Dietary requirements", []),
    ("single_choice", "Which track will you follow?", ["Physics", "Biology", "Policy"]),
    ("country", "Country of your institution", []),
]


@dataclass
class Measure:
    """One row of the curve: a page, how it is measured, and whether it must grow."""

    name: str
    grows: bool = False  # lists every item: growing with the data is expected
    medians: dict[int, float] = field(default_factory=dict)
    notes: dict[int, str] = field(default_factory=dict)


# --- generated registrations ----------------------------------------------------------------


@dataclass
class Workspace:
    big_event_id: int
    people: int
    registrations: int
    big_registrations: int
    member_cookie: str
    seconds: float


def _rows_people(count: int, now: datetime, rnd: random.Random) -> Iterator[tuple[Any, ...]]:
    for n in range(1, count + 1):
        yield (
            n,
            f"person-{n}@example.org",
            f"{rnd.choice(harness.FIRST)} {rnd.choice(harness.LAST)} {n}",
            "!",
            f"{rnd.choice(harness.SUBJECTS)} Centre",
            rnd.choice(harness.ZONES)[1],
            False,
            now - timedelta(days=400),
            f"{n:064x}",
            f"c{n:063x}",
            now - timedelta(days=400),
        )


PEOPLE_COLUMNS = (
    "id", "email", "name", "password_hash", "affiliation", "country", "is_admin",
    "email_verified_at", "session_token", "calendar_token_hash", "created_at",
)  # fmt: skip
REGISTRATION_COLUMNS = (
    "id", "public_id", "event_id", "user_id", "status", "answers", "created_at",
    "updated_at", "cancelled_at", "cancelled_by_organiser", "checked_in_at", "ticket_code",
    "is_hold_expired",
)  # fmt: skip


def _rows_registrations(
    *, events: int, big_event_id: int, big: int, total: int, people: int, question_ids: list[int],
    now: datetime, rnd: random.Random,
) -> Iterator[tuple[Any, ...]]:  # fmt: skip
    """`big` registrations for the big event (people 1…big, with answers), the others
    spread over every other event (each person at most once per event)."""
    others = [e for e in range(1, events + 1) if e != big_event_id]
    for n in range(1, total + 1):
        if n <= big:
            event_id, person = big_event_id, n
            kind_values = [
                rnd.choice(["", "Vegetarian", "Halal", "No nuts"]),
                rnd.choice(QUESTIONS[1][2]),
                rnd.choice(harness.ZONES)[1],
            ]
            answers = {
                str(qid): {"label": label, "kind": kind, "position": i, "value": value}
                for i, (qid, (kind, label, _options), value) in enumerate(
                    zip(question_ids, QUESTIONS, kind_values, strict=True)
                )
            }
        else:
            k = n - big - 1
            event_id = others[k % len(others)]
            person = (k // len(others)) % people + 1
            answers = {}
        status = rnd.choice(STATUSES)
        created = now - timedelta(minutes=rnd.randrange(60 * 24 * 60))
        yield (
            n,
            f"{n:032x}",
            event_id,
            person,
            status,
            answers,
            created,
            created,
            created + timedelta(hours=1) if status == "cancelled" else None,
            False,
            created + timedelta(days=1) if status == "confirmed" and n % 5 == 0 else None,
            f"{n:08X}",
            False,
        )


def _copy(engine: Engine, table_name: str, columns: tuple[str, ...], rows: Iterator[tuple]) -> None:
    """PostgreSQL COPY (psycopg's `cursor.copy`): a million rows in well under a minute.
    Elsewhere (SQLite, the smoke test) executemany through the table's column types."""
    from eventsite import models  # noqa: F401  (every table on the metadata)
    from eventsite.extensions import db

    table = db.metadata.tables[table_name]
    json_at = [i for i, c in enumerate(columns) if c == "answers"]
    if engine.dialect.name == "postgresql":
        raw = engine.raw_connection()
        try:
            with raw.driver_connection.cursor() as cursor:
                # The site's statement timeout is for requests, not a million-row load.
                cursor.execute("SET LOCAL statement_timeout = 0")
                statement = f"COPY {table_name} ({', '.join(columns)}) FROM STDIN"
                with cursor.copy(statement) as copy:
                    for row in rows:
                        if json_at:
                            row = tuple(
                                json.dumps(v) if i in json_at else v for i, v in enumerate(row)
                            )
                        copy.write_row(row)
            raw.commit()
        finally:
            raw.close()
        return
    with engine.begin() as conn:
        batch: list[dict[str, Any]] = []
        for row in rows:
            batch.append(dict(zip(columns, row, strict=True)))
            if len(batch) >= 10_000:
                conn.execute(insert(table), batch)
                batch = []
        if batch:
            conn.execute(insert(table), batch)


def generate_workspace(
    app: Flask, engine: Engine, *, events: int, big_event_slug: str, now: datetime, seed: int = 16
) -> Workspace:
    """REGISTRATIONS_PER_EVENT registrations per event (a tenth for the big event, which
    asks three questions), as many people as the big event has, and a member of the big
    event's organisation whose session cookie the workspace rows send."""
    from eventsite.extensions import db
    from eventsite.models import Event, JoinedVia, Membership, Question, User

    started = time.perf_counter()
    rnd = random.Random(seed)
    total = events * REGISTRATIONS_PER_EVENT
    big = total // BIG_EVENT_SHARE
    people = max(big, REGISTRATIONS_PER_EVENT)
    with app.app_context():
        event_id, organisation_id = db.session.execute(
            select(Event.id, Event.organisation_id).where(Event.slug == big_event_slug)
        ).one()
        db.session.remove()
    questions = [
        {"id": i + 1, "event_id": event_id, "position": i, "kind": kind, "label": label,
         "help_text": "", "is_required": False, "options": options, "is_active": True,
         "created_at": now - timedelta(days=90)}
        for i, (kind, label, options) in enumerate(QUESTIONS)
    ]  # fmt: skip
    with engine.begin() as conn:
        conn.execute(insert(Question.__table__), questions)
    _copy(engine, "users", PEOPLE_COLUMNS, _rows_people(people, now, rnd))
    rows = _rows_registrations(
        events=events, big_event_id=event_id, big=big, total=total, people=people,
        question_ids=[q["id"] for q in questions], now=now, rnd=rnd,
    )  # fmt: skip
    _copy(engine, "registrations", REGISTRATION_COLUMNS, rows)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL statement_timeout = 0"))  # ANALYZE of 1,000,000 rows
            for table in ("users", "registrations", "registration_questions"):
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
                )
        conn.execute(text("ANALYZE"))
    with app.app_context():
        member = User(
            email="bench-scale-member@example.org",
            name="Bench organiser",
            password_hash="!",
            email_verified_at=now,
            session_token="bench-scale-member",
            calendar_token_hash="bench-scale-member-calendar",
        )
        db.session.add(member)
        db.session.add(
            Membership(user=member, organisation_id=organisation_id, joined_via=JoinedVia.ADDED)
        )
        db.session.commit()
        user_id = member.get_id()
        db.session.remove()
    serializer = app.session_interface.get_signing_serializer(app)
    assert serializer is not None
    session = serializer.dumps({"_user_id": user_id, "_fresh": True})
    cookie = f"{app.config['SESSION_COOKIE_NAME']}={session}"
    return Workspace(event_id, people, total, big, cookie, time.perf_counter() - started)


# --- one size -------------------------------------------------------------------------------


def _forget_everything(app: Flask) -> None:
    """What a fresh process would not hold: pages, cards, kept fragments, feeds."""
    from eventsite import fragments
    from eventsite.events import cards
    from eventsite.page_cache import store

    page_cache = store.cache_for(app)
    if page_cache is not None:
        page_cache.clear()
    cards.clear()
    fragments.clear()
    clear_feed_caches(vevents=True)


def _last_page(app: Flask, now: datetime) -> int:
    from eventsite.events import listing as listings
    from eventsite.extensions import db

    with app.app_context():
        stmt = listings.list_public_events(
            listings.ListingFilters(), period=listings.Period.UPCOMING, now=now
        )
        upcoming = db.session.scalar(stmt.with_only_columns(func.count()).order_by(None)) or 0
        db.session.remove()
        return max(1, math.ceil(upcoming / app.config["EVENTS_PER_PAGE"]))


def _sitemap_file(app: Flask) -> str:
    """The sitemap itself while it is one file, else its first part of events."""
    from eventsite.events import discovery
    from eventsite.extensions import db

    with app.app_context():
        parts = discovery.sitemap_parts()
        db.session.remove()
    return "/sitemap.xml" if parts == 1 else "/sitemaps/2.xml"


def _busiest_month(app: Flask, now: datetime) -> str:
    """A month two months ahead: full of generated events at every size."""
    month = (now.month + 1) % 12 + 1
    year = now.year + (1 if month < now.month else 0)
    return f"{year:04d}-{month:02d}"


def public_pages(
    data: harness.GeneratedData, last_page: int, month: str, sitemap_file: str
) -> list[tuple[str, str, bool, bool]]:
    """(name, path, cacheable, grows with the data)."""
    topic, organisation = data.topic_slugs[0], data.organisation_slugs[0]
    slug = data.event_slugs[1]
    return [
        ("home (listing)", "/", True, False),
        ("listing, first page", "/events/", True, False),
        ("listing, filtered", f"/events/?topic={topic}&format=hybrid", True, False),
        ("listing, text search", f"/events/?q={data.search_word}", True, False),
        ("listing, page 50 (or the last)", f"/events/?page={min(50, last_page)}", True, False),
        ("listing, last page", f"/events/?page={last_page}", True, False),
        ("event page", f"/events/{slug}", True, False),
        ("topic page", f"/topics/{topic}", True, False),
        ("organisation page", f"/organisations/{organisation}", True, False),
        # Every event of the month, up to month.MAX_EVENTS (300): more with more data.
        ("month calendar", f"/events/calendar?month={month}", True, True),
        ("Atom feed", "/events/feed.atom", True, False),
        ("sitemap.xml", "/sitemap.xml", True, True),
        ("sitemap, its largest file", sitemap_file, True, True),
        ("API: events", "/api/v1/events", False, False),
        ("API: one event", f"/api/v1/events/{slug}", False, False),
    ]


def _median(ctx: BenchContext, path: str, headers: dict[str, str] | None = None) -> float:
    stats = harness.measure_in_process(
        ctx.app, path, requests=ctx.requests, warmup=2,
        max_seconds=min(ctx.seconds, 15.0), headers=headers,
    )  # fmt: skip
    if stats.errors:
        raise RuntimeError(f"GET {path}: {stats.errors} answers were not 200")
    return stats.median_ms


def _timed_get(
    app: Flask, path: str, *, before: Callable[[], None] | None = None,
    headers: dict[str, str] | None = None, runs: int = COLD_FEED_RUNS, expect: int = 200,
) -> tuple[float, int]:  # fmt: skip
    """Median ms of `runs` GETs (each after `before()`), and the body's size."""
    client = app.test_client(use_cookies=False)
    latencies, size = [], 0
    for _ in range(runs):
        if before:
            before()
        t0 = time.perf_counter()
        response = client.get(path, headers=headers)
        latencies.append((time.perf_counter() - t0) * 1000)
        if response.status_code != expect:
            raise RuntimeError(f"GET {path} answered {response.status_code}, not {expect}")
        size = len(response.data)
    return sorted(latencies)[len(latencies) // 2], size


def _export(app: Flask, path: str, cookie: str, runs: int) -> tuple[float, int, int]:
    """Median ms of whole exports, streamed and thrown away chunk by chunk as a client
    saving it would; then one more run under tracemalloc for the peak. Returns (ms, bytes,
    peak bytes)."""
    client = app.test_client(use_cookies=False)

    def once() -> int:
        response = client.get(path, headers={"Cookie": cookie}, buffered=False)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} answered {response.status_code}")
        size = sum(len(chunk) for chunk in response.response)
        response.close()
        return size

    latencies = []
    size = 0
    for _ in range(runs):
        t0 = time.perf_counter()
        size = once()
        latencies.append((time.perf_counter() - t0) * 1000)
    tracemalloc.start()
    try:
        once()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return sorted(latencies)[len(latencies) // 2], size, peak


def _load() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def measure_size(ctx: BenchContext, size: int, record: Callable[..., None]) -> str:
    """Generate `size` events and their registrations, measure every row; returns a line
    saying what generating took."""
    from eventsite.extensions import db

    app = ctx.app
    harness.create_schema(app)
    _forget_everything(app)
    harness.log(f"generating {size:,} events ...")
    with app.app_context():
        data = harness.generate_events(db.engine, count=size, now=ctx.now)
        engine = db.engine
        workspace = generate_workspace(
            app, engine, events=size, big_event_slug=data.event_slugs[0], now=ctx.now
        )
    ctx._data = data
    generated = (
        f"{size:,} events: {data.seconds:.0f} s to generate (with {data.counts}), "
        f"{workspace.registrations:,} registrations of {workspace.people:,} people "
        f"({workspace.big_registrations:,} for the big event) {workspace.seconds:.0f} s"
    )
    harness.log("  " + generated)
    now = ctx.now
    for name, path, cacheable, grows in public_pages(
        data, _last_page(app, now), _busiest_month(app, now), _sitemap_file(app)
    ):
        for suffix, on in (("rendered", False), ("cached", True)):
            if on and not cacheable:
                continue
            with page_cache_switched(app, on=on):
                ms = _median(ctx, path)
            record(f"{name} ({suffix})", size, ms, grows=grows)
            harness.log(f"  {name} ({suffix}): {ms:.2f} ms")

    feed = "/calendar.ics"
    cold, feed_size = _timed_get(app, feed, before=lambda: clear_feed_caches(vevents=True))
    record("/calendar.ics, cold build", size, cold, grows=True, note=f"{feed_size / 1e6:.1f} MB")
    warm = _median(ctx, feed)
    record("/calendar.ics, built (feed cache)", size, warm, grows=True)
    with app.test_client() as client:
        etag = client.get(feed).headers["ETag"]
    not_modified = harness.measure_in_process(
        app, feed, requests=ctx.requests, warmup=2, expect=304,
        max_seconds=min(ctx.seconds, 15.0), headers={"If-None-Match": etag},
    ).median_ms  # fmt: skip
    record("/calendar.ics, 304", size, not_modified)
    harness.log(f"  /calendar.ics: cold {cold:.0f} ms, warm {warm:.1f}, 304 {not_modified:.2f}")

    manage = f"/manage/events/{workspace.big_event_id}"
    cookie = {"Cookie": workspace.member_cookie}
    big_pages = math.ceil(
        workspace.big_registrations / app.config["ORGANISER_REGISTRANTS_PER_PAGE"]
    )
    for name, path, grows in (
        ("registrants, first page", f"{manage}/registrants", False),
        (
            "registrants, confirmed by name",
            f"{manage}/registrants?status=confirmed&sort=name",
            False,
        ),
        ("registrants, search", f"{manage}/registrants?q=okafor", False),
        ("registrants, last page", f"{manage}/registrants?page={big_pages}", False),
        ("statistics", f"{manage}/statistics", False),
        ("door page, search", f"{manage}/door?q=okafor", False),
        ("door list (JSON, every registrant)", f"{manage}/door/list", True),
    ):
        ms = _median(ctx, path, cookie)
        record(f"workspace: {name}", size, ms, grows=grows)
        harness.log(f"  {name}: {ms:.2f} ms")
    runs = 1 if workspace.big_registrations > 20_000 else EXPORT_RUNS
    for kind in ("csv", "xlsx"):
        ms, body, peak = _export(app, f"{manage}/registrants.{kind}", workspace.member_cookie, runs)
        note = f"{body / 1e6:.1f} MB, peak {peak / 1e6:.1f} MB traced"
        record(
            f"workspace: {kind.upper()} export of the big event", size, ms, grows=True, note=note
        )
        harness.log(f"  {kind} export: {ms:.0f} ms, {note}")
    return f"{generated}; load average {_load()} after measuring"


# --- the table ------------------------------------------------------------------------------


def verdict(measure: Measure, sizes: list[int]) -> tuple[str, str]:
    first, last = measure.medians.get(sizes[0]), measure.medians.get(sizes[-1])
    if first is None or last is None or len(sizes) < 2:
        return "", ""
    growth = last / first if first else math.inf
    if growth <= FLAT or last - first < NOISE_MS:
        return f"{growth:.1f}×", "flat"
    if measure.grows:
        return f"{growth:.1f}×", "grows with items shown"
    return f"{growth:.1f}×", "grows ✗"


def format_curve(measures: list[Measure], sizes: list[int], lines: list[str]) -> str:
    short = {1_000: "1k", 10_000: "10k", 100_000: "100k", 1_000_000: "1M"}
    label = f"growth {short.get(sizes[0], sizes[0])}→{short.get(sizes[-1], sizes[-1])}"
    headers = ["page (median ms, in process)", *(f"{s:,} events" for s in sizes), label, "verdict"]
    body = []
    for m in measures:
        growth, says = verdict(m, sizes)
        cells = [f"{m.medians[s]:.2f}" if s in m.medians else "" for s in sizes]
        body.append([m.name, *cells, growth, says])
    widths = [max(len(h), *(len(r[i]) for r in body)) for i, h in enumerate(headers)]

    def render(cells: list[str]) -> str:
        return "| " + " | ".join(
            c.rjust(w) if 0 < i <= len(sizes) + 1 else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ) + " |"  # fmt: skip

    table = [render(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    table += [render(r) for r in body]
    notes = [
        f"- {m.name}: " + "; ".join(f"{s:,}: {m.notes[s]}" for s in sizes if s in m.notes)
        for m in measures
        if m.notes
    ]
    return "\n".join(["Scale curve", *(f"- {line}" for line in lines), "", *table, "", *notes])


def run(ctx: BenchContext) -> list[Row]:
    sizes = sorted(ctx.scale_sizes or DEFAULT_SIZES)
    measures: dict[str, Measure] = {}

    def record(name: str, size: int, ms: float, *, grows: bool = False, note: str = "") -> None:
        measure = measures.setdefault(name, Measure(name, grows))
        measure.medians[size] = ms
        if note:
            measure.notes[size] = note

    lines = [measure_size(ctx, size, record) for size in sizes]
    ctx.reports.append(format_curve(list(measures.values()), sizes, lines))
    wrong = [m.name for m in measures.values() if verdict(m, sizes)[1] == "grows ✗"]
    return [
        Row(
            f"scale curve, {', '.join(f'{s:,}' for s in sizes)} events",
            ok=not wrong if len(sizes) > 1 else None,
            note=("grows: " + ", ".join(wrong)) if wrong else "table below",
        )
    ]
