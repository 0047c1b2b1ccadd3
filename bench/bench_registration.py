"""Issue 4: registrations per second through gunicorn (4 workers), 1,000 accounts for one
event of 300 places, on SQLite and PostgreSQL; overbookings and errors must be 0.

Issue 9: the 700 people who land on the waiting list are each emailed their number; every
number must be different and be the person's place in the final list ("wrong ranks").

Each backend is measured against a yardstick in the same run: a bare Flask app (below,
`bare_app`) whose POST handler writes one row to the same database, under the same
gunicorn settings. PostgreSQL is measured when the run has `--database-url`, or when
EVENTSITE_BENCH_POSTGRES_URL names a database for it (its name must contain 'bench',
'test' or 'scratch': its tables are dropped); then again through two gunicorn servers on
the same database, two workers each, against two bare servers (issue #16). Bare and site
are measured in turn, three rounds, and the median of the rounds' ratios is the figure.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import statistics
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlencode

from flask import Flask, request
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, func, insert, select
from sqlalchemy.engine import Engine

from bench import harness
from bench.harness import BenchContext, Row

ACCOUNTS = 1000
CAPACITY = 300
WORKERS = 4
CLIENT_THREADS = 16
# Bare and site measured in turn this many times (`measure_backend`).
ROUNDS = 3
# The bare POST's requests a round: about as long a run as the site's 1,000 registrations,
# so that neither ratio's half is a short burst whose start and end weigh more.
BARE_REQUESTS = 2500
MIN_RPS_POSTGRESQL = 150.0
# Issue #16: registrations/s as a share of the bare one-row POST's, in the same run.
MIN_RATIO = {"PostgreSQL": 0.40, "SQLite": 0.25}
# The load generator's User-Agent: the logged-in sessions are made for it (below).
USER_AGENT = "eventsite-bench"

# --- the yardstick: a bare POST handler that writes one row ---------------------------------------

bare_metadata = MetaData()
bare_rows = Table(
    "bench_bare_rows",
    bare_metadata,
    Column("id", Integer, primary_key=True),
    Column("who", String(50)),
)
_bare_engine: Engine | None = None


def _engine_for(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})

        from sqlalchemy import event

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


bare_app = Flask(__name__)


@bare_app.get("/healthz")
def bare_healthz() -> dict[str, str]:
    return {"status": "ok"}


@bare_app.post("/write")
def bare_write() -> tuple[str, int, dict[str, str]]:
    global _bare_engine
    if _bare_engine is None:
        _bare_engine = _engine_for(os.environ["DATABASE_URL"])
    with _bare_engine.begin() as conn:
        conn.execute(insert(bare_rows).values(who=request.form.get("who", "")[:50]))
    return "", 302, {"Location": "/done"}


# --- load -----------------------------------------------------------------------------------------


def warm_up(host: str, port: int, requests: list[tuple[str, str, str, dict[str, str]]]) -> None:
    """Send (method, path, cookie, form) from 16 connections at once, so that every worker
    has loaded its templates, translations and compiled statements before the clock runs
    (the bare app has none of those: without this, the site's start-up is measured too)."""

    def send(batch: list[tuple[str, str, str, dict[str, str]]]) -> None:
        conn = http.client.HTTPConnection(host, port, timeout=120)
        for method, path, cookie, form in batch:
            headers = {
                "Content-Type": "application/x-www-form-urlencoded",
                "User-Agent": USER_AGENT,
            }
            if cookie:
                headers["Cookie"] = cookie
            conn.request(method, path, body=urlencode(form) if form else None, headers=headers)
            conn.getresponse().read()
        conn.close()

    pool = [threading.Thread(target=send, args=(requests[n::16],)) for n in range(16)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()


def post_load(
    servers: Sequence[tuple[str, int]],
    requests: list[tuple[str, str, dict[str, str]]],
    threads: int,
) -> tuple[harness.Stats, dict[int, int]]:
    """POST each (path, cookie, form) once from `threads` keep-alive connections, spread
    over the (host, port) servers: connection i talks to server i mod their number."""
    lock = threading.Lock()
    queue = iter(range(len(requests)))
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = [0]

    def worker(host: str, port: int) -> None:
        conn = http.client.HTTPConnection(host, port, timeout=120)
        mine: list[float] = []
        try:
            while True:
                with lock:
                    n = next(queue, None)
                if n is None:
                    break
                path, cookie, form = requests[n]
                headers = {
                    "Content-Type": "application/x-www-form-urlencoded",
                    "User-Agent": USER_AGENT,
                }
                if cookie:
                    headers["Cookie"] = cookie
                t0 = time.perf_counter()
                try:
                    conn.request("POST", path, body=urlencode(form), headers=headers)
                    response = conn.getresponse()
                    response.read()
                    status = response.status
                except (OSError, http.client.HTTPException):
                    conn.close()
                    status = 0
                mine.append(time.perf_counter() - t0)
                with lock:
                    statuses[status] = statuses.get(status, 0) + 1
                    if status != 302:
                        errors[0] += 1
        finally:
            conn.close()
            with lock:
                latencies.extend(mine)

    pool = [threading.Thread(target=worker, args=servers[n % len(servers)]) for n in range(threads)]
    started = time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return harness.Stats(latencies, time.perf_counter() - started, errors[0]), statuses


# --- one backend ----------------------------------------------------------------------------------


def _environment(url: str) -> dict[str, str]:
    return {
        **harness.environment(url),
        "EVENTSITE_WTF_CSRF_ENABLED": "false",  # the load generator has no form to read
        "EVENTSITE_MAIL_DELIVER_AFTER_REQUEST": "false",
    }


def _prepare(url: str, *, fresh: bool) -> tuple[Flask, str, list[str], str]:
    """Schema (when fresh), 1,000 verified accounts, one event of 300 places with a
    waiting list and two questions. Returns the app, the event slug, one session cookie
    per account, and the name of the required question's field."""
    from werkzeug.security import generate_password_hash

    from eventsite import create_app
    from eventsite.extensions import db
    from eventsite.models import Event, Organisation, Question, QuestionKind, User

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": harness.SECRET_KEY})
    if fresh:
        harness.create_schema(app)
    now = datetime.now(UTC)
    stamp = now.strftime("%Y%m%d%H%M%S%f")
    with app.app_context():
        bare_metadata.drop_all(db.engine)
        bare_metadata.create_all(db.engine)
        organisation = Organisation(name="Bench organisers", slug=f"bench-registration-{stamp}")
        starts = now + timedelta(days=40)
        event = Event(
            slug=f"bench-registration-{stamp}",
            title="Registration benchmark",
            starts_at=starts,
            ends_at=starts + timedelta(hours=8),
            status="published",
            published_at=now,
            capacity=CAPACITY,
            has_waiting_list=True,
            organisation=organisation,
        )
        db.session.add(event)
        db.session.flush()
        required = Question(event_id=event.id, label="Affiliation", is_required=True, position=0)
        db.session.add(required)
        db.session.add(
            Question(
                event_id=event.id,
                kind=QuestionKind.CHECKBOX,
                label="Photos may be taken",
                position=1,
            )
        )
        password_hash = generate_password_hash("bench-password")
        db.session.execute(
            insert(User),
            [
                {
                    "email": f"bench-{stamp}-{n}@example.org",
                    "name": f"Bench person {n}",
                    "password_hash": password_hash,
                    "email_verified_at": now,
                    "session_token": f"bench-{stamp}-{n}",
                    "calendar_token_hash": f"bench-cal-{stamp}-{n}",
                }
                for n in range(ACCOUNTS)
            ],
        )
        db.session.commit()
        # What Flask-Login keeps in the session: the user's own get_id() (token.login-start).
        tokens = [
            user.get_id()
            for user in db.session.scalars(
                select(User).where(User.email.like(f"bench-{stamp}-%")).order_by(User.id)
            )
        ]
        slug, field = event.slug, required.field_name
        db.session.remove()
    # And the identifier of the browser it logged in from (Flask-Login's session protection):
    # without it, every request would mark the session not fresh and send a new cookie, as
    # no browser that logged in does.
    from flask_login import login_manager

    agent = {"User-Agent": USER_AGENT}
    with app.test_request_context(headers=agent, environ_base={"REMOTE_ADDR": "127.0.0.1"}):
        browser = login_manager._create_identifier()
    serializer = app.session_interface.get_signing_serializer(app)
    assert serializer is not None
    name = app.config["SESSION_COOKIE_NAME"]
    cookies = [
        f"{name}={serializer.dumps({'_user_id': t, '_fresh': True, '_id': browser})}"
        for t in tokens
    ]
    return app, slug, cookies, field


def _outcome(app: Flask, slug: str) -> dict[str, int]:
    from eventsite.extensions import db
    from eventsite.models import Event, Registration

    with app.app_context():
        event_id = db.session.scalar(select(Event.id).where(Event.slug == slug))
        rows = db.session.execute(
            select(Registration.status, func.count())
            .where(Registration.event_id == event_id)
            .group_by(Registration.status)
        ).all()
        db.session.remove()
        db.engine.dispose()
    return {str(status): n for status, n in rows}


WAITING_NUMBER = re.compile(r"on the waiting list: number (\d+)\.")


def _wrong_ranks(app: Flask, slug: str) -> tuple[int, int]:
    """(waitlisted people whose confirmation states another number than their place in
    the final list, or none, numbers stated to more than one person), read from the
    confirmations the registrations wrote."""
    from eventsite.extensions import db
    from eventsite.mail import services as mail
    from eventsite.models import Event, OutboxMessage, Registration, User
    from eventsite.registration import queries

    with app.app_context():
        # The confirmations are written on the registrations: moved to the outbox first, as
        # the sender does (`notifications.queue_pending_notices`).
        mail.queue_pending()
        db.session.commit()
        event_id = db.session.scalar(select(Event.id).where(Event.slug == slug))
        waiting = db.session.scalars(
            select(Registration).where(
                Registration.event_id == event_id, Registration.status == "waitlisted"
            )
        ).all()
        final = queries.waitlist_ranks(waiting)
        emails = dict(
            db.session.execute(
                select(User.email, Registration.id)
                .join(Registration, Registration.user_id == User.id)
                .where(Registration.event_id == event_id)
            ).all()
        )
        waiting_emails = {
            email for email, registration_id in emails.items() if registration_id in final
        }
        stated: dict[int, int] = {}
        for row in db.session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.category == "registration",
                OutboxMessage.to_address.in_(waiting_emails),
            )
        ):
            # Written as the sender will write it (queued as facts: `mail.queue_facts`).
            body = mail.render_row(row).email.text if row.renderer else row.body_text
            found = WAITING_NUMBER.search(body)
            if found:
                stated[emails[row.to_address]] = int(found.group(1))
        db.session.remove()
        db.engine.dispose()
    wrong = sum(1 for rid, rank in final.items() if stated.get(rid) != rank)
    numbers = list(stated.values())
    shared = len(numbers) - len(set(numbers))
    return wrong, shared


class Round(NamedTuple):
    """One round of `measure_backend`: the site's run and the bare POST's just before it."""

    stats: harness.Stats
    bare_stats: harness.Stats
    statuses: dict[int, int]
    bare_statuses: dict[int, int]
    cpu: harness.CpuUse
    bare_cpu: harness.CpuUse


def measure_backend(label: str, url: str, *, fresh: bool, servers: int = 1) -> list[Row]:
    """The registration POST and the bare one-row POST, each through `servers` gunicorn
    servers sharing the database and WORKERS workers between them (issue #16: "the same
    across two app servers"), the client's connections spread over them.

    Measured ROUNDS times, the two in turn (bare, site, bare, site...), each round's site
    on an event of its own with 1,000 accounts of its own: this machine's speed drifts by a
    fifth within a minute, and a ratio taken from two runs a minute apart measured the
    drift as much as the site. Both servers run throughout (the idle one sleeps); the ratio
    shown is the median of the rounds' ratios, each round's in the note."""
    prepared = [_prepare(url, fresh=fresh and n == 0) for n in range(ROUNDS)]
    env = _environment(url)
    workers = WORKERS // servers
    where = f" ({servers} servers)" if servers > 1 else ""
    rounds: list[Round] = []

    with contextlib.ExitStack() as stack:
        bare = [
            stack.enter_context(
                harness.Gunicorn("bench.bench_registration:bare_app", env=env, workers=workers)
            )
            for _ in range(servers)
        ]
        sites = [
            stack.enter_context(harness.Gunicorn("wsgi:app", env=env, workers=workers))
            for _ in range(servers)
        ]
        _app, slug, cookies, field = prepared[0]
        for server in bare:
            # Its POST too: each worker connects to the database on its first write, which
            # the measured run would otherwise pay (the site's warm-up posts as well).
            warm_up(
                server.host,
                server.port,
                [("GET", "/healthz", "", {})] * 80 + [("POST", "/write", "", {"who": "warm"})] * 80,
            )
        for site in sites:
            # The form, and a submission without the required answer (refused, nothing kept).
            path = f"/events/{slug}/register"
            warm_up(
                site.host,
                site.port,
                [("GET", path, cookie, {}) for cookie in cookies[:80]]
                + [("POST", path, cookie, {field: ""}) for cookie in cookies[:80]],
            )
        for n, (_app, slug, cookies, field) in enumerate(prepared, start=1):
            harness.log(f"  {label}{where}, round {n} of {ROUNDS}: bare POST, registrations ...")
            bare_work = [("/write", "", {"who": f"person {n}.{i}"}) for i in range(BARE_REQUESTS)]
            with harness.CpuMeter(bare) as bare_cpu:
                bare_stats, bare_statuses = post_load(
                    [(server.host, server.port) for server in bare], bare_work, CLIENT_THREADS
                )
            work = [
                (f"/events/{slug}/register", cookie, {field: f"Institute {i}"})
                for i, cookie in enumerate(cookies)
            ]
            with harness.CpuMeter(sites) as cpu:
                stats, statuses = post_load(
                    [(site.host, site.port) for site in sites], work, CLIENT_THREADS
                )
            rounds.append(
                Round(stats, bare_stats, statuses, bare_statuses, cpu.used, bare_cpu.used)
            )
            harness.log(
                f"  {label}{where}, round {n}: {stats.rps:.0f} registrations/s, bare "
                f"{bare_stats.rps:.0f} req/s, ratio {stats.rps / bare_stats.rps:.2f}; "
                f"registration {cpu.used.per_request(ACCOUNTS)}, "
                f"bare {bare_cpu.used.per_request(BARE_REQUESTS)}"
            )

    problems = {"overbooked": 0, "lost": 0, "wrong ranks": 0, "shared ranks": 0, "short": 0}
    outcome: dict[str, int] = {}
    for app, slug, _cookies, _field in prepared:
        outcome = _outcome(app, slug)
        wrong_ranks, shared_ranks = _wrong_ranks(app, slug)
        confirmed = outcome.get("confirmed", 0) + outcome.get("pending", 0)
        problems["overbooked"] += max(0, confirmed - CAPACITY)
        problems["short"] += max(0, CAPACITY - confirmed)
        problems["lost"] += ACCOUNTS - sum(outcome.values())
        problems["wrong ranks"] += wrong_ranks
        problems["shared ranks"] += shared_ranks

    ratios = [r.stats.rps / r.bare_stats.rps for r in rounds]
    ratio = statistics.median(ratios)
    median_round = rounds[sorted(range(len(rounds)), key=lambda i: ratios[i])[len(rounds) // 2]]
    stats, bare_stats = median_round.stats, median_round.bare_stats
    errors = sum(r.stats.errors for r in rounds)
    bare_errors = sum(r.bare_stats.errors for r in rounds)
    all_statuses: dict[int, int] = {}
    for r in rounds:
        for status, count in r.statuses.items():
            all_statuses[status] = all_statuses.get(status, 0) + count
    each = ", ".join(f"{r:.2f}" for r in ratios)
    note = (
        f"{ROUNDS} rounds of {ACCOUNTS} registrations for {CAPACITY} places: per round "
        f"{outcome.get('confirmed', 0)} confirmed, {outcome.get('waitlisted', 0)} waitlisted "
        f"(the last); in all {problems['overbooked']} overbooked, {errors} errors, "
        f"{problems['lost']} lost, {problems['wrong ranks']} wrong emailed ranks "
        f"({problems['shared ranks']} numbers emailed twice) "
        f"(statuses {dict(sorted(all_statuses.items()))}); "
        f"{ratio:.2f}x the bare POST handler (median of the rounds' {each}; "
        f"the median round's bare POST {bare_stats.rps:.0f} req/s); "
        f"{median_round.cpu.per_request(ACCOUNTS)} (the median round's)"
    )
    target = (
        f">= {MIN_RPS_POSTGRESQL:g} req/s, >= {MIN_RATIO[label]:.2f}x bare, 0 overbooked"
        if label == "PostgreSQL"
        else f">= {MIN_RATIO[label]:.2f}x bare, 0 overbooked, 0 errors"
    )
    ok = errors == 0 and not any(problems.values()) and ratio >= MIN_RATIO[label]
    if label == "PostgreSQL":
        ok = ok and stats.rps >= MIN_RPS_POSTGRESQL
    harness.log(f"  {label}{where}: {stats.rps:.0f} registrations/s; {note}")
    harness.log(
        f"  {label}{where}: ratio to the bare one-row POST {ratio:.2f}, rounds {each} "
        f"(target >= {MIN_RATIO[label]:.2f}; load average {os.getloadavg()[0]:.1f})"
    )
    servers_note = f"{servers} servers × {workers} workers" if servers > 1 else f"{workers} workers"
    return [
        Row(
            f"registration POST, {label} (gunicorn {servers_note})",
            stats.median_ms,
            stats.p95_ms,
            stats.rps,
            target,
            ok,
            note,
        ),
        Row(
            f"bare POST writing one row, {label}{where}",
            bare_stats.median_ms,
            bare_stats.p95_ms,
            bare_stats.rps,
            "yardstick",
            None if bare_errors == 0 else False,
            f"statuses {dict(sorted(median_round.bare_statuses.items()))}; "
            f"{median_round.bare_cpu.per_request(BARE_REQUESTS)} (the median round's)",
        ),
    ]


def postgres_database(ctx: BenchContext) -> tuple[str, bool] | None:
    """The PostgreSQL database registrations are measured on, and whether its schema must
    be made first: the run's own (`--database-url`), EVENTSITE_BENCH_POSTGRES_URL's, or none."""
    if ctx.database_url and "postgres" in ctx.database_url:
        ctx.app  # noqa: B018  (the run's schema exists; add rows beside the generated events)
        return ctx.url, False
    if os.environ.get("EVENTSITE_BENCH_POSTGRES_URL"):
        url = os.environ["EVENTSITE_BENCH_POSTGRES_URL"]
        return harness.prepare_database(url, Path(ctx.workdir)), True
    return None


def run(ctx: BenchContext) -> list[Row]:
    if not ctx.http:
        return [Row("registration POST", note="skipped (--no-http)")]
    rows: list[Row] = []
    sqlite_url = f"sqlite:///{Path(ctx.workdir) / 'registration.sqlite3'}"
    rows += measure_backend("SQLite", sqlite_url, fresh=True)

    postgres = postgres_database(ctx)
    if postgres is not None:
        postgres_url, fresh = postgres
        rows += measure_backend("PostgreSQL", postgres_url, fresh=fresh)
        # What production runs: several app servers on one database (another event).
        rows += measure_backend("PostgreSQL", postgres_url, fresh=False, servers=2)
    else:
        rows.append(
            Row(
                "registration POST, PostgreSQL",
                note="skipped: pass --database-url or set EVENTSITE_BENCH_POSTGRES_URL",
            )
        )
    return rows
