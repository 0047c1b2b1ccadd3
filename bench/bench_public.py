"""Issues 2 and 16: the public pages with 10,000 events, in process and over HTTP via
gunicorn, cached and rendered, anonymous and logged in, as they are and compressed, next to
two bare Flask yardsticks."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import Flask

from bench import harness
from bench.harness import BenchContext, Row
from eventsite.page_cache import store

MAX_MEDIAN_MS = 10.0  # listing and event pages, in process
MIN_HTTP_RATIO = 0.60  # cached pages: of a bare Flask app's requests/s, same gunicorn settings
# Issue 16: pages that are rendered (the page cache off, or someone logged in), as a share
# of the naive listing's requests/s (20 of 10,000 rows from SQLite, plain SQLAlchemy + Jinja).
MIN_RENDERED_RATIO = 0.50
MIN_LOGGED_IN_RATIO = 0.40
NAIVE_ROWS = 10_000
# Issue 16, bytes on the wire: what a browser sends (it gets brotli), and a gzip-only client.
ENCODINGS = {"br": "gzip, deflate, br, zstd", "gzip": "gzip"}
# Issue 15: cached pages in another language, as fast as English (within 10 %): a shared
# `?lang=fr` link (each newcomer also gets the cookie that remembers it), and a first
# visit whose browser asks for Arabic.
MAX_LANGUAGE_SLOWDOWN = 1.10
# Over HTTP, English and the other languages are loaded in turn this many times and the
# median round's pair is compared: one run each, a few seconds apart, measured the machine's
# drift (a tenth within a minute) as much as the language.
LANGUAGE_ROUNDS = 3
LANGUAGES = [
    ("French, ?lang=fr", "lang=fr", None),
    ("Arabic, Accept-Language", "", {"Accept-Language": "ar"}),
]


def pages(data: harness.GeneratedData) -> list[tuple[str, str]]:
    topic = data.topic_slugs[0]
    return [
        ("home (listing)", "/"),
        ("listing, first page", "/events/"),
        ("listing, filtered", f"/events/?topic={topic}&format=hybrid"),
        ("listing, text search", f"/events/?q={data.search_word}"),
        ("listing, search by country", f"/events/?q={data.search_place}"),
        ("listing, page 50", "/events/?page=50"),
        ("event page", f"/events/{data.event_slugs[0]}"),
    ]


def rendered_pages(data: harness.GeneratedData) -> list[tuple[str, str]]:
    """Issue 16's rows: what the page cache cannot serve must still be fast."""
    topic = data.topic_slugs[0]
    return [
        ("listing", "/events/"),
        ("listing, filtered", f"/events/?topic={topic}&format=hybrid"),
        ("listing, text search", f"/events/?q={data.search_word}"),
        ("event page", f"/events/{data.event_slugs[0]}"),
    ]


def compressed_pages(data: harness.GeneratedData) -> list[tuple[str, str]]:
    """The pages measured as they are and compressed: sizes, and cached requests/s."""
    return [("listing, first page", "/events/"), ("event page", f"/events/{data.event_slugs[0]}")]


def language_pages(data: harness.GeneratedData) -> list[tuple[str, str]]:
    return [("listing", "/events/"), ("event page", f"/events/{data.event_slugs[0]}")]


def _in_language(path: str, query: str) -> str:
    if not query:
        return path
    return f"{path}{'&' if '?' in path else '?'}{query}"


def _language_row(name: str, stats: harness.Stats, english: harness.Stats, *, http: bool) -> Row:
    """A cached page in another language against the same page in English, measured back
    to back: median within 10 % (in process), requests/s within 10 % (HTTP)."""
    row = Row.from_stats(name, stats)
    if http:
        ratio = english.rps / stats.rps if stats.rps else float("inf")
        row.target = f"req/s >= English / {MAX_LANGUAGE_SLOWDOWN:g} ({english.rps:.0f})"
    else:
        ratio = stats.median_ms / english.median_ms if english.median_ms else float("inf")
        row.target = f"median <= {MAX_LANGUAGE_SLOWDOWN:.0%} of English ({ratio:.0%})"
    row.ok = ratio <= MAX_LANGUAGE_SLOWDOWN and not stats.errors
    return row


def median_round(
    pairs: list[tuple[harness.Stats, harness.Stats]],
) -> tuple[harness.Stats, harness.Stats]:
    """Of the rounds' (language, English) pairs, the one whose slowdown (English's
    requests/s over the language's) is the median."""

    def slowdown(pair: tuple[harness.Stats, harness.Stats]) -> float:
        stats, english = pair
        return english.rps / stats.rps if stats.rps else float("inf")

    return sorted(pairs, key=slowdown)[len(pairs) // 2]


def logged_in_pages(data: harness.GeneratedData) -> list[tuple[str, str]]:
    return [
        ("listing", "/events/"),
        ("event page", f"/events/{data.event_slugs[0]}"),
        ("My events", "/account/"),
    ]


@contextmanager
def page_cache_switched(app: Flask, *, on: bool) -> Iterator[None]:
    """With the page cache off, every request renders its page."""
    kept = app.extensions.get(store.EXTENSION)
    if not on:
        app.extensions.pop(store.EXTENSION, None)
    try:
        yield
    finally:
        if kept is not None:
            app.extensions[store.EXTENSION] = kept


def naive_database(workdir: Path, rows: int = NAIVE_ROWS) -> Path:
    """The naive listing's SQLite file: `rows` events with an index on their start."""
    path = workdir / "naive.sqlite3"
    rnd = random.Random(16)
    start = datetime(2027, 1, 1, tzinfo=UTC)
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE IF EXISTS events")
        conn.execute(
            "CREATE TABLE events (id INTEGER PRIMARY KEY, slug TEXT, title TEXT, summary TEXT,"
            " city TEXT, starts_at TEXT)"
        )
        conn.executemany(
            "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)",
            [
                (
                    n,
                    f"event-{n}",
                    f"{rnd.choice(harness.SUBJECTS)} Conference #{n}",
                    " ".join(rnd.choices(harness.WORDS, k=12)),
                    rnd.choice(harness.ZONES)[2],
                    (start + timedelta(hours=rnd.randrange(3 * 365 * 24))).isoformat(),
                )
                for n in range(1, rows + 1)
            ],
        )
        conn.execute("CREATE INDEX events_starts_at ON events (starts_at)")
    return path


def logged_in_cookie(ctx: BenchContext, data: harness.GeneratedData) -> str:
    """A session cookie of a verified account registered for five upcoming events (the
    event page measured is one of them), as Flask-Login keeps it."""
    from sqlalchemy import select

    from eventsite.extensions import db
    from eventsite.models import Event, Registration, User

    app = ctx.app
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "bench-reader@example.org"))
        if user is None:
            user = User(
                email="bench-reader@example.org",
                name="Bench reader",
                password_hash="!",
                email_verified_at=ctx.now,
                session_token="bench-reader",
                calendar_token_hash="bench-reader-calendar",
            )
            db.session.add(user)
            events = db.session.scalars(select(Event).where(Event.slug.in_(data.event_slugs[:5])))
            for event in events:
                db.session.add(Registration(event=event, user=user, status="confirmed"))
            db.session.commit()
        user_id = user.get_id()
        db.session.remove()
    serializer = app.session_interface.get_signing_serializer(app)
    assert serializer is not None
    name = app.config["SESSION_COOKIE_NAME"]
    # As a browser holds it after its first page: Flask-Login's session protection has
    # marked it not fresh (a session it had not seen from this client), and the first form
    # (the header's logout button) has given it a CSRF token. Without them every answer
    # would write a new cookie, which a browser does once.
    session = {"_user_id": user_id, "_fresh": False, "csrf_token": "b" * 40}
    return f"{name}={serializer.dumps(session)}"


def _ratio_row(name: str, stats: harness.Stats, yardstick: float, minimum: float, of: str) -> Row:
    ratio = stats.rps / yardstick if yardstick else 0.0
    row = Row.from_stats(name, stats)
    row.target = f">= {minimum:.0%} of {of} ({ratio:.0%})"
    row.ok = ratio >= minimum and not stats.errors
    return row


def run(ctx: BenchContext) -> list[Row]:
    data = ctx.data()
    targets = pages(data)
    cookie = logged_in_cookie(ctx, data)
    rows: list[Row] = []

    def in_process(name: str, path: str, headers: dict[str, str] | None = None) -> None:
        stats = harness.measure_in_process(
            ctx.app, path, requests=ctx.requests, max_seconds=ctx.seconds, headers=headers
        )
        row = Row.from_stats(name, stats, max_median_ms=MAX_MEDIAN_MS)
        harness.log(f"  {row.name}: median {row.median_ms:.2f} ms, {row.rps:.0f} req/s")
        rows.append(row)
        if ctx.profile and row.ok is False:
            harness.log(f"--- cProfile of GET {path}")
            harness.log(harness.profile_in_process(ctx.app, path, headers=headers))

    # Anonymous visitors are served from the page cache; a change to the catalogue (or a
    # registration, for an event page) makes the next visitor render it again.
    for suffix, cached in (("in-process", True), ("in-process, rendered", False)):
        with page_cache_switched(ctx.app, on=cached):
            for name, path in targets:
                in_process(f"{name} ({suffix})", path)
    # The same cached pages sent compressed: the stored bytes of the asked encoding.
    for name, path in compressed_pages(data):
        for encoding, accept in ENCODINGS.items():
            in_process(f"{name} (in-process, {encoding})", path, {"Accept-Encoding": accept})
    # The same cached pages in other languages, each next to English measured just before.
    for name, path in language_pages(data):
        english = harness.measure_in_process(
            ctx.app, path, requests=ctx.requests, max_seconds=ctx.seconds
        )
        for label, query, headers in LANGUAGES:
            stats = harness.measure_in_process(
                ctx.app,
                _in_language(path, query),
                requests=ctx.requests,
                max_seconds=ctx.seconds,
                headers=headers,
            )
            row = _language_row(f"{name}, {label} (in-process)", stats, english, http=False)
            harness.log(f"  {row.name}: median {row.median_ms:.2f} ms ({row.target})")
            rows.append(row)
    # Someone logged in always gets a fresh render.
    for name, path in logged_in_pages(data):
        in_process(f"{name}, logged in (in-process)", path, {"Cookie": cookie})

    if not ctx.http:
        return rows

    def load(
        server: harness.Gunicorn,
        path: str,
        cookie: str | None = None,
        headers: dict[str, str] | None = None,
        accept_encoding: str | None = None,
    ) -> harness.Stats:
        headers = {**(headers or {}), **({"Cookie": cookie} if cookie else {})}
        if accept_encoding:
            headers["Accept-Encoding"] = accept_encoding
        return harness.http_load(
            server.host,
            server.port,
            path,
            requests=ctx.http_requests,
            concurrency=ctx.concurrency,
            max_seconds=ctx.seconds,
            headers=headers,
        )

    naive_env = {"BENCH_NAIVE_DATABASE": str(naive_database(ctx.workdir))}

    def yardsticks() -> tuple[harness.Stats, harness.Stats]:
        with ctx.gunicorn("bench.bare_app:app", env=naive_env) as bare:
            return load(bare, "/"), load(bare, "/listing")

    # The yardsticks before and after the site, so a busy moment on a shared machine does
    # not land on one side only.
    bare_before, naive_before = yardsticks()
    site_stats = []
    with ctx.gunicorn("wsgi:app") as site:
        for name, path in targets:
            site_stats.append((name, load(site, path)))
            harness.log(f"  {name} (HTTP): {site_stats[-1][1].rps:.0f} req/s")
        for name, path in compressed_pages(data):
            site_stats.append((f"{name}, br", load(site, path, accept_encoding=ENCODINGS["br"])))
            harness.log(f"  {name}, br (HTTP): {site_stats[-1][1].rps:.0f} req/s")
        for name, path in language_pages(data):
            rounds = []  # (English, each language) loaded in turn
            for _ in range(LANGUAGE_ROUNDS):
                english = load(site, path)
                rounds.append(
                    (
                        english,
                        [load(site, _in_language(path, q), headers=h) for _l, q, h in LANGUAGES],
                    )
                )
            for n, (label, _query, _headers) in enumerate(LANGUAGES):
                pairs = [(other[n], english) for english, other in rounds]
                stats, english = median_round(pairs)
                row = _language_row(f"{name}, {label} (HTTP)", stats, english, http=True)
                if any(other.errors for other, _english in pairs):
                    row.ok = False
                each = ", ".join(f"{o.rps:.0f} vs {e.rps:.0f}" for o, e in pairs)
                row.note = " ".join(
                    [
                        row.note,
                        f"(req/s, the language vs English, {LANGUAGE_ROUNDS} rounds: {each})",
                    ]
                ).strip()
                rows.append(row)
                harness.log(f"  {row.name}: {stats.rps:.0f} req/s (English {english.rps:.0f})")
        logged_in_stats = []
        for name, path in logged_in_pages(data):
            logged_in_stats.append((name, load(site, path, cookie)))
            harness.log(f"  {name}, logged in (HTTP): {logged_in_stats[-1][1].rps:.0f} req/s")
    rendered_stats = []
    with ctx.gunicorn("wsgi:app", env={"EVENTSITE_PAGE_CACHE_ENABLED": "false"}) as site:
        for name, path in rendered_pages(data):
            rendered_stats.append((name, load(site, path)))
            harness.log(f"  {name}, rendered (HTTP): {rendered_stats[-1][1].rps:.0f} req/s")
    bare_after, naive_after = yardsticks()

    def yardstick_row(name: str, before: harness.Stats, after: harness.Stats) -> Row:
        row = Row.from_stats(name, after)
        row.rps = (before.rps + after.rps) / 2
        row.note = (
            f"req/s is the mean of a run before ({before.rps:.0f}) and after "
            f"({after.rps:.0f}) the site's"
        )
        return row

    bare_row = yardstick_row("bare Flask app, one template (HTTP)", bare_before, bare_after)
    naive_row = yardstick_row(
        f"naive Flask listing, 20 of {NAIVE_ROWS:,} rows, SQLite (HTTP)", naive_before, naive_after
    )
    rows += [bare_row, naive_row]
    assert bare_row.rps is not None and naive_row.rps is not None
    for name, stats in site_stats:
        rows.append(_ratio_row(f"{name} (HTTP)", stats, bare_row.rps, MIN_HTTP_RATIO, "bare"))
    for name, stats in rendered_stats:
        rows.append(
            _ratio_row(
                f"{name}, rendered (HTTP)", stats, naive_row.rps, MIN_RENDERED_RATIO, "naive"
            )
        )
    for name, stats in logged_in_stats:
        rows.append(
            _ratio_row(
                f"{name}, logged in (HTTP)", stats, naive_row.rps, MIN_LOGGED_IN_RATIO, "naive"
            )
        )
    return rows
