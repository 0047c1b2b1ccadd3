"""Shared pieces of the benchmarks: a scratch database, 10,000 generated events, latency in
process and over HTTP through gunicorn, and the table the results are printed in."""

from __future__ import annotations

import http.client
import os
import random
import resource
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import Engine, func, insert, select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
SECRET_KEY = secrets.token_hex(32)  # production refuses made-up keys; one per run will do

# --- results -------------------------------------------------------------------------------------


@dataclass
class Stats:
    """Latencies of one measured run, in seconds, and its wall time."""

    latencies: list[float]
    wall: float
    errors: int = 0
    body_bytes: int | None = None  # the last answer's body, as sent (compressed or not)

    @property
    def median_ms(self) -> float:
        return statistics.median(self.latencies) * 1000 if self.latencies else float("nan")

    @property
    def p95_ms(self) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] * 1000

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.wall if self.wall > 0 else float("nan")


@dataclass
class SummaryStats(Stats):
    """A run measured by wrk: its counts and percentiles rather than each latency."""

    requests: int = 0
    median_seconds: float = float("nan")
    p95_seconds: float = float("nan")

    @property
    def median_ms(self) -> float:
        return self.median_seconds * 1000

    @property
    def p95_ms(self) -> float:
        return self.p95_seconds * 1000

    @property
    def rps(self) -> float:
        return self.requests / self.wall if self.wall > 0 else float("nan")


@dataclass
class Row:
    """One line of the printed table."""

    name: str
    median_ms: float | None = None
    p95_ms: float | None = None
    rps: float | None = None
    target: str = ""
    ok: bool | None = None
    note: str = ""
    body_bytes: int | None = None

    @classmethod
    def from_stats(
        cls, name: str, stats: Stats, *, max_median_ms: float | None = None, note: str = ""
    ) -> Row:
        target, ok = "", None
        if max_median_ms is not None:
            target = f"median < {max_median_ms:g} ms"
            ok = stats.median_ms < max_median_ms
        if stats.errors:
            note = (note + "; " if note else "") + f"{stats.errors} errors"
            ok = False
        return cls(
            name, stats.median_ms, stats.p95_ms, stats.rps, target, ok, note, stats.body_bytes
        )


def format_table(rows: Sequence[Row]) -> str:
    headers = ["benchmark", "median ms", "p95 ms", "req/s", "bytes", "target", "ok?"]

    def num(value: float | None, digits: int) -> str:
        return "" if value is None else f"{value:.{digits}f}"

    def verdict(row: Row) -> str:
        return {None: "", True: "yes", False: "NO"}[row.ok]

    body = [
        [
            r.name,
            num(r.median_ms, 2),
            num(r.p95_ms, 2),
            num(r.rps, 0),
            "" if r.body_bytes is None else f"{r.body_bytes:,}",
            r.target,
            verdict(r),
        ]
        for r in rows
    ]
    widths = [max(len(h), *(len(line[i]) for line in body)) for i, h in enumerate(headers)]
    right = {1, 2, 3, 4}

    def render(cells: list[str]) -> str:
        return (
            "| "
            + " | ".join(
                c.rjust(w) if i in right else c.ljust(w)
                for i, (c, w) in enumerate(zip(cells, widths, strict=True))
            )
            + " |"
        )

    lines = [render(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += [render(cells) for cells in body]
    notes = [f"- {r.name}: {r.note}" for r in rows if r.note]
    return "\n".join(lines + (["", *notes] if notes else []))


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- the scratch database and the app -------------------------------------------------------------


def prepare_database(database_url: str | None, workdir: Path) -> str:
    """A fresh, empty schema: an SQLite file in `workdir`, or the given PostgreSQL database
    emptied (only one whose name says it is for benchmarks or tests)."""
    if not database_url:
        return f"sqlite:///{workdir / 'bench.sqlite3'}"
    from eventsite.config import normalise_database_url

    database_url = normalise_database_url(database_url)
    name = make_url(database_url).database or ""
    if not any(word in name for word in ("bench", "test", "scratch")):
        raise SystemExit(
            f"refusing to empty database {name!r}: benchmarks drop every table in the database "
            "they are given; use one whose name contains 'bench', 'test' or 'scratch'"
        )
    return database_url


def environment(database_url: str) -> dict[str, str]:
    """The settings the site runs with, in process and under gunicorn alike."""
    return {
        "EVENTSITE_ENV": "production",
        "SECRET_KEY": SECRET_KEY,
        "DATABASE_URL": database_url,
        "EVENTSITE_RATELIMIT_ENABLED": "false",  # the load generator is one client
        "EVENTSITE_BASE_URL": "http://127.0.0.1",
        # The load generator asks for 127.0.0.1, Flask's test client for localhost.
        "EVENTSITE_TRUSTED_HOSTS": '["127.0.0.1", "localhost"]',
    }


def create_schema(app: Flask) -> None:
    """The scratch schema from the models, as the test suite builds it (a throw-away
    database, not a deployment: migrations are tested elsewhere)."""
    from eventsite import models  # noqa: F401  (every table on the metadata)
    from eventsite.extensions import db

    with app.app_context():
        db.drop_all()
        with db.engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        db.create_all()


# --- generated data ------------------------------------------------------------------------------

ZONES = [
    ("Asia/Shanghai", "CN", "Beijing", 39.9, 116.4),
    ("Asia/Shanghai", "CN", "Shanghai", 31.2, 121.5),
    ("Europe/Zurich", "CH", "Geneva", 46.2, 6.1),
    ("Europe/Zurich", "CH", "Zurich", 47.4, 8.5),
    ("Europe/Berlin", "DE", "Berlin", 52.5, 13.4),
    ("Europe/Paris", "FR", "Lyon", 45.8, 4.8),
    ("Africa/Nairobi", "KE", "Nairobi", -1.3, 36.8),
    ("Africa/Lagos", "NG", "Lagos", 6.5, 3.4),
    ("America/Sao_Paulo", "BR", "São Paulo", -23.6, -46.6),
    ("America/New_York", "US", "New York", 40.7, -74.0),
    ("America/Chicago", "US", "Chicago", 41.9, -87.6),
    ("Asia/Kolkata", "IN", "Bengaluru", 13.0, 77.6),
    ("Asia/Tokyo", "JP", "Kyoto", 35.0, 135.8),
    ("Australia/Sydney", "AU", "Sydney", -33.9, 151.2),
]
KINDS = ["forum", "conference", "summit", "workshop", "lecture"]
FORMATS = ["in_person", "in_person", "hybrid", "online"]
SUBJECTS = [
    "Green Hydrogen", "Vaccine Manufacturing", "Pandemic Preparedness", "Open Data",
    "Digital Trade", "Rural Broadband", "Research Ethics", "Climate Adaptation",
    "Ocean Observation", "Quantum Networks", "Soil Carbon", "Public Health Genomics",
    "Trustworthy AI", "Satellite Connectivity", "Urban Heat", "Battery Recycling",
    "Science Diplomacy", "Open Access Publishing", "Malaria Research", "Smart Grids",
]  # fmt: skip
WORDS = [
    "research", "cooperation", "openness", "trust", "innovation", "climate", "health",
    "digital", "network", "data", "policy", "energy", "ethics", "governance", "laboratory",
    "university", "science", "technology", "community", "sustainable", "development",
    "global", "public", "good", "instruments", "results", "collaboration",
]  # fmt: skip
FIRST = ["Amara", "Lars", "Mei", "Joaquim", "Ruth", "Kenji", "Elinor", "Lan", "Jia", "Aisha"]
LAST = ["Okafor", "Vedel", "Tsang", "Albero", "Klein", "Morita", "Castell", "Mwangi", "Rao"]
# A word found in about one event in fifty, for the text search benchmark.
RARE_WORD = "heliophysics"


@dataclass
class GeneratedData:
    events: int
    organisation_slugs: list[str]
    topic_slugs: list[str]
    event_slugs: list[str]  # a sample of upcoming published events with agendas
    search_word: str = RARE_WORD
    search_place: str = "kenya"  # a country's name: about one event in ten is there
    seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)


def generate_events(
    engine: Engine,
    *,
    count: int = 10_000,
    now: datetime,
    seed: int = 2027,
    sessions_per_event: int = 3,
    speakers_per_session: int = 2,
) -> GeneratedData:
    """Insert `count` published events with organisations, topics, agendas, speakers and
    pictures (covers and logos), in a few executemany statements per table. Ids are chosen
    here, so no RETURNING."""
    from eventsite.demo import data as demo_data
    from eventsite.events.models import (
        AgendaSession,
        Event,
        Organisation,
        SessionSpeaker,
        Speaker,
        Topic,
        event_topics,
    )
    from eventsite.events.search_text import country_names
    from eventsite.images.models import Image

    started = time.perf_counter()
    rnd = random.Random(seed)
    topics = [{"id": i + 1, **t} for i, t in enumerate(demo_data.demo().topics)]
    topics += [
        {"id": len(topics) + i + 1, "slug": f"topic-{i + 1}", "name": f"Topic {i + 1}",
         "description": "A generated topic."}
        for i in range(6)
    ]  # fmt: skip
    # Pictures as pages show them (covers on every card, logos): rows with variants whose
    # files are never fetched, so the figures are the pages' own cost.
    images = [
        {
            "id": i + 1,
            "key": f"{i + 1:064x}",
            "width": 1600,
            "height": 900,
            "alt": f"Generated picture {i + 1}",
            "variants": [
                {"width": w, "height": w * 9 // 16, "webp": f"{i:02x}{w:04x}".ljust(64, "0")
                 + ".webp", "jpeg": f"{i:02x}{w:04x}".ljust(64, "0") + ".jpg"}
                for w in (400, 800, 1600)
            ],
            "created_at": now,
        }
        for i in range(20)
    ]  # fmt: skip
    organisations = [
        {
            "id": i + 1,
            "logo_image_id": i % len(images) + 1,
            "slug": f"organisation-{i + 1}",
            "name": f"{rnd.choice(SUBJECTS)} Institute {i + 1}",
            "description": "A generated organisation.",
            "website": f"https://org{i + 1}.example.org",
            "created_at": now,
        }
        for i in range(60)
    ]
    speakers = [
        {
            "id": i + 1,
            "name": f"{rnd.choice(FIRST)} {rnd.choice(LAST)}-{i + 1}",
            "affiliation": f"{rnd.choice(SUBJECTS)} Centre",
            "country": rnd.choice(ZONES)[1],
            "honours": "Nobel laureate in Physics" if i % 97 == 0 else "",
            "bio": " ".join(rnd.choices(WORDS, k=20)),
        }
        for i in range(3000)
    ]

    events: list[dict[str, Any]] = []
    links: list[dict[str, int]] = []
    sessions: list[dict[str, Any]] = []
    session_speakers: list[dict[str, int]] = []
    session_id = 0
    span_days = 3 * 365
    for n in range(1, count + 1):
        tz, country, city, lat, lon = rnd.choice(ZONES)
        organisation = rnd.choice(organisations)
        fmt = rnd.choice(FORMATS)
        kind = rnd.choice(KINDS)
        subject = rnd.choice(SUBJECTS)
        # About three in four events are upcoming, spread over the next three years.
        offset = rnd.uniform(-span_days / 3, span_days)
        starts_at = (now + timedelta(days=offset)).replace(minute=0, second=0, microsecond=0)
        days = rnd.choice([1, 1, 2, 3])
        ends_at = starts_at + timedelta(days=days - 1, hours=8)
        title = f"{subject} {kind.title()} {starts_at.year} #{n}"
        summary = f"{subject}: {' '.join(rnd.choices(WORDS, k=12))}."
        words = rnd.choices(WORDS, k=80)
        if n % 50 == 0:
            words.insert(rnd.randrange(len(words)), RARE_WORD)
        description = (
            f"## About\n\n{' '.join(words[:40])}.\n\n## Programme\n\n- {' '.join(words[40:60])}\n"
            f"- {' '.join(words[60:])}\n"
        )
        names: list[str] = []
        session_titles: list[str] = []
        for s in range(sessions_per_event):
            session_id += 1
            day = s % days
            s_start = starts_at + timedelta(days=day, hours=1 + 2 * (s // days))
            session_title = f"Session {s + 1}: {rnd.choice(SUBJECTS)}"
            session_titles.append(session_title)
            sessions.append(
                {
                    "id": session_id,
                    "event_id": n,
                    "title": session_title,
                    "starts_at": s_start,
                    "ends_at": s_start + timedelta(minutes=90),
                    "room": f"Room {rnd.randint(1, 9)}",
                    "description": "",
                    "created_at": now,
                    "updated_at": now,
                }
            )
            for position, speaker in enumerate(rnd.sample(speakers, speakers_per_session)):
                session_speakers.append(
                    {"session_id": session_id, "speaker_id": speaker["id"], "position": position}
                )
                names.append(speaker["name"])
        for topic in rnd.sample(topics, rnd.randint(1, 3)):
            links.append({"event_id": n, "topic_id": topic["id"]})
        online = fmt != "in_person"
        in_person = fmt != "online"
        events.append(
            {
                "id": n,
                "slug": f"event-{n}",
                "title": title,
                "kind": kind,
                "summary": summary,
                "description": description,
                "starts_at": starts_at,
                "ends_at": ends_at,
                "timezone": tz,
                "is_all_day": False,
                "venue_name": f"{city} Congress Centre" if in_person else "",
                "venue_address": f"{rnd.randint(1, 200)} Main Street" if in_person else "",
                "city": city if in_person else "",
                "country": country if in_person else None,
                "latitude": lat if in_person else None,
                "longitude": lon if in_person else None,
                "format": fmt,
                "online_url": f"https://meet.example.org/event-{n}" if online else None,
                "status": "published",
                "cancellation_reason": "",
                "capacity": rnd.choice([None, 50, 100, 300, 1000]),
                "registration_opens_at": starts_at - timedelta(days=60),
                "registration_closes_at": starts_at - timedelta(days=1),
                "has_waiting_list": rnd.random() < 0.3,
                "requires_approval": rnd.random() < 0.1,
                "organisation_id": organisation["id"],
                "cover_image_id": n % len(images) + 1,
                # The same recipe as events.search_text.build.
                "search_text": " ".join(
                    [title, summary, description, organisation["name"]]
                    + (
                        [f"{city} Congress Centre", city, *country_names(country)]
                        if in_person
                        else []
                    )
                    + [*session_titles, *names]
                ).lower(),
                "revision": 0,
                "published_at": now - timedelta(days=90),
                "created_at": now - timedelta(days=100),
                "updated_at": now - timedelta(days=100),
            }
        )

    with engine.begin() as conn:
        conn.execute(insert(Image.__table__), images)
        conn.execute(insert(Topic.__table__), topics)
        conn.execute(insert(Organisation.__table__), organisations)
        conn.execute(insert(Speaker.__table__), speakers)
        for chunk in _chunks(events, 2000):
            conn.execute(insert(Event.__table__), chunk)
        conn.execute(insert(event_topics), links)
        for chunk in _chunks(sessions, 5000):
            conn.execute(insert(AgendaSession.__table__), chunk)
        for chunk in _chunks(session_speakers, 10000):
            conn.execute(insert(SessionSpeaker.__table__), chunk)
        if conn.dialect.name == "postgresql":
            for table in (
                "images",
                "topics",
                "organisations",
                "speakers",
                "events",
                "agenda_sessions",
            ):
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
                )
            conn.execute(text("ANALYZE"))
        else:
            conn.execute(text("ANALYZE"))
        upcoming = list(
            conn.scalars(
                select(Event.__table__.c.slug)
                .where(Event.__table__.c.starts_at > now)
                .order_by(Event.__table__.c.id)
                .limit(50)
            )
        )
        counts = {
            table.name: conn.scalar(select(func.count()).select_from(table))
            for table in (Event.__table__, AgendaSession.__table__, SessionSpeaker.__table__)
        }
    return GeneratedData(
        events=count,
        organisation_slugs=[o["slug"] for o in organisations],
        topic_slugs=[t["slug"] for t in topics],
        event_slugs=upcoming,
        seconds=time.perf_counter() - started,
        counts=counts,
    )


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- measuring in process ------------------------------------------------------------------------


def measure_in_process(
    app: Flask,
    path: str,
    *,
    requests: int = 200,
    warmup: int = 20,
    expect: int = 200,
    max_seconds: float = 30.0,
    headers: dict[str, str] | None = None,
) -> Stats:
    """Time `requests` GETs through the WSGI app with Flask's test client, one at a time
    (fewer when `max_seconds` runs out first). `headers`: sent with each (a Cookie, an
    Accept-Encoding)."""
    client = app.test_client(use_cookies=False)
    response = None
    for _ in range(warmup):
        response = client.get(path, headers=headers)
        if response.status_code != expect:
            raise RuntimeError(f"GET {path} answered {response.status_code}, not {expect}")
    latencies: list[float] = []
    errors = 0
    started = time.perf_counter()
    deadline = started + max_seconds
    for _ in range(requests):
        if time.perf_counter() > deadline:
            break
        t0 = time.perf_counter()
        response = client.get(path, headers=headers)
        latencies.append(time.perf_counter() - t0)
        if response.status_code != expect:
            errors += 1
    body_bytes = None if response is None else len(response.get_data())
    return Stats(latencies, time.perf_counter() - started, errors, body_bytes)


def profile_in_process(
    app: Flask,
    path: str,
    *,
    requests: int = 100,
    top: int = 30,
    headers: dict[str, str] | None = None,
) -> str:
    """cProfile over `requests` GETs: where a slow page spends its time."""
    import cProfile
    import io
    import pstats

    client = app.test_client(use_cookies=False)
    client.get(path, headers=headers)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(requests):
        client.get(path, headers=headers)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(top)
    return out.getvalue()


# --- measuring over HTTP --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gunicorn:
    """`gunicorn -w 2 --threads 1 -b 127.0.0.1:<free port> <app>` as a subprocess."""

    def __init__(
        self,
        app_spec: str,
        *,
        env: dict[str, str] | None = None,
        workers: int = 2,
        threads: int = 1,
        cwd: Path = ROOT,
        ready_path: str = "/healthz",
    ) -> None:
        self.app_spec = app_spec
        self.env = {**os.environ, **(env or {})}
        self.workers = workers
        self.threads = threads
        self.cwd = cwd
        self.ready_path = ready_path
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = Path(tempfile.mkstemp(prefix="gunicorn-", suffix=".log")[1])

    @property
    def host(self) -> str:
        return "127.0.0.1"

    def start(self, timeout: float = 60) -> Gunicorn:
        command = [
            sys.executable, "-m", "gunicorn",
            "-w", str(self.workers), "--threads", str(self.threads),
            "-b", f"{self.host}:{self.port}", "--log-level", "warning",
            self.app_spec,
        ]  # fmt: skip
        with self.log_path.open("wb") as log_file:
            self.process = subprocess.Popen(
                command, cwd=self.cwd, env=self.env, stdout=log_file, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited early:\n{self.log_path.read_text()}")
            try:
                conn = http.client.HTTPConnection(self.host, self.port, timeout=2)
                conn.request("GET", self.ready_path)
                status = conn.getresponse().status
                conn.close()
                if status == 200:
                    # Let both workers finish booting before anyone measures.
                    time.sleep(0.5)
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn did not answer {self.ready_path} within {timeout}s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        self.log_path.unlink(missing_ok=True)

    def pids(self) -> list[int]:
        """The master's and its workers' process ids."""
        if self.process is None:
            return []
        return [self.process.pid, *_children(self.process.pid)]

    def __enter__(self) -> Gunicorn:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


# The load generator. The figures were measured with wrk (C, two threads); a Python
# client on the same two cores takes about half a millisecond of CPU a request away from the
# server, which caps a fast yardstick more than a slow page (the naive listing: ~1,850 req/s
# with it, ~2,850 with wrk, same machine, same minute). wrk is used when it is installed
# (`apt-get install wrk`); EVENTSITE_BENCH_CLIENT=python forces the Python client.
WRK = shutil.which("wrk") if os.environ.get("EVENTSITE_BENCH_CLIENT") != "python" else None
WRK_SECONDS = 3

# wrk's report, one line: requests, microseconds, socket errors, answers not 2xx/3xx, and the
# median and 95th percentile latency in microseconds.
_WRK_SCRIPT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("eventsite-wrk %d %d %d %d %d %d\\n", summary.requests,
    summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(95)))
end
"""


def load_client() -> str:
    """Which client `http_load` measures with, for the table's notes."""
    return "wrk" if WRK else "Python http.client"


def http_load(
    host: str,
    port: int,
    paths: Sequence[str] | str,
    *,
    requests: int = 1000,
    concurrency: int = 4,
    max_seconds: float = 30.0,
    warmup: int = 20,
    expect: int = 200,
    headers: dict[str, str] | None = None,
) -> Stats:
    """Send `requests` GETs from `concurrency` threads, each on its own keep-alive
    connection (http.client reopens it when the server closes), cycling through `paths`;
    stop early after `max_seconds`. `headers`: sent with each (a Cookie, an Accept-Encoding:
    http.client decodes nothing, so the bytes counted are the bytes sent). With wrk
    installed (see `WRK`), one path is loaded by wrk for `WRK_SECONDS` instead, on
    `concurrency` connections."""
    headers = headers or {}
    path_list = [paths] if isinstance(paths, str) else list(paths)
    warm = http.client.HTTPConnection(host, port, timeout=30)
    size, status = None, expect
    for i in range(warmup):
        warm.request("GET", path_list[i % len(path_list)], headers=headers)
        response = warm.getresponse()
        size, status = len(response.read()), response.status
    warm.close()
    # wrk counts any 2xx or 3xx as answered: only a path that answers as expected goes to it.
    if WRK and len(path_list) == 1 and expect == 200 and status == expect:
        return _wrk_load(host, port, path_list[0], concurrency, headers, size)

    counter = iter(range(requests))
    lock = threading.Lock()
    latencies: list[float] = []
    errors = [0]
    body_bytes: list[int] = []
    deadline = time.perf_counter() + max_seconds

    def worker() -> None:
        conn = http.client.HTTPConnection(host, port, timeout=30)
        mine: list[float] = []
        bad = 0
        try:
            while time.perf_counter() < deadline:
                with lock:
                    n = next(counter, None)
                if n is None:
                    break
                t0 = time.perf_counter()
                try:
                    conn.request("GET", path_list[n % len(path_list)], headers=headers)
                    response = conn.getresponse()
                    size = len(response.read())
                    if response.status != expect:
                        bad += 1
                except (OSError, http.client.HTTPException):
                    bad += 1
                    conn.close()
                    continue
                mine.append(time.perf_counter() - t0)
        finally:
            conn.close()
            with lock:
                latencies.extend(mine)
                errors[0] += bad
                if mine:
                    body_bytes.append(size)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Stats(
        latencies, time.perf_counter() - started, errors[0], body_bytes[0] if body_bytes else None
    )


def _wrk_load(
    host: str, port: int, path: str, concurrency: int, headers: dict[str, str], size: int | None
) -> SummaryStats:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_WRK_SCRIPT)
    command = [WRK or "wrk", "-t2", f"-c{concurrency}", f"-d{WRK_SECONDS}s", "-s", script.name]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    try:
        out = subprocess.run(
            [*command, f"http://{host}:{port}{path}"], capture_output=True, text=True, check=True
        ).stdout
    finally:
        os.unlink(script.name)
    line = next((line for line in out.splitlines() if line.startswith("eventsite-wrk ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no report for {path}:\n{out}")
    count, micros, socket_errors, not_ok, median, p95 = (int(n) for n in line.split()[1:])
    return SummaryStats(
        latencies=[],
        wall=micros / 1e6,
        errors=socket_errors + not_ok,
        body_bytes=size,
        requests=count,
        median_seconds=median / 1e6,
        p95_seconds=p95 / 1e6,
    )


# --- the run's context ---------------------------------------------------------------------------


@dataclass
class BenchContext:
    """What every bench module's `run(ctx)` gets: settings, a scratch database shared by
    the modules of one run, and the site's app configured for it."""

    database_url: str | None = None
    events: int = 10_000
    requests: int = 300  # in-process requests per measurement
    http_requests: int = 1500  # HTTP requests per measurement
    concurrency: int = 4
    seconds: float = 30.0  # upper bound of one measurement
    http: bool = True
    profile: bool = False
    scale_sizes: tuple[int, ...] | None = None  # bench_scale's sizes, in events
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="eventsite-bench-")))
    reports: list[str] = field(default_factory=list)  # printed after the table
    _app: Flask | None = None
    _data: GeneratedData | None = None
    _url: str | None = None

    @property
    def url(self) -> str:
        if self._url is None:
            self._url = prepare_database(self.database_url, self.workdir)
        return self._url

    @property
    def env(self) -> dict[str, str]:
        return environment(self.url)

    @property
    def app(self) -> Flask:
        """The site, built from the environment exactly as gunicorn builds it."""
        if self._app is None:
            os.environ.update(self.env)
            from eventsite import create_app

            self._app = create_app()
            create_schema(self._app)
        return self._app

    def data(self) -> GeneratedData:
        """The 10,000 events, generated once per run (the first module that asks pays)."""
        if self._data is None:
            from eventsite.extensions import db

            app = self.app
            log(f"generating {self.events} events in {self.url.split(':')[0]} ...")
            with app.app_context():
                self._data = generate_events(db.engine, count=self.events, now=self.now)
            log(f"  done in {self._data.seconds:.1f}s: {self._data.counts}")
        return self._data

    def gunicorn(
        self, app_spec: str = "wsgi:app", *, env: dict[str, str] | None = None, **options: Any
    ) -> Gunicorn:
        """Gunicorn with the site's settings, and `env` on top."""
        return Gunicorn(app_spec, env={**self.env, **(env or {})}, **options)

    def close(self) -> None:
        if self._app is not None:
            from eventsite.extensions import db

            with self._app.app_context():
                db.session.remove()
                db.engine.dispose()
        shutil.rmtree(self.workdir, ignore_errors=True)


def measure_pages(
    ctx: BenchContext,
    pages: Sequence[tuple[str, str]],
    *,
    max_median_ms: float | None = None,
    on_row: Callable[[Row], None] | None = None,
) -> list[Row]:
    """In-process rows for (name, path) pairs."""
    rows = []
    for name, path in pages:
        stats = measure_in_process(ctx.app, path, requests=ctx.requests, max_seconds=ctx.seconds)
        row = Row.from_stats(f"{name} (in-process)", stats, max_median_ms=max_median_ms)
        rows.append(row)
        if on_row:
            on_row(row)
    return rows


# --- CPU a request -------------------------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    try:
        listed = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in listed.split()]


def _cpu_seconds(pid: int) -> float:
    """User plus system CPU the process has used so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _postgres_pids() -> list[int]:
    """This machine's PostgreSQL processes (none when the database is elsewhere)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@dataclass
class CpuUse:
    """CPU seconds a measured run used: the servers' processes, this machine's PostgreSQL
    (its backends and helpers; 0 for SQLite, whose work is in the servers) and the load
    generator (this process, all its threads)."""

    servers: float
    database: float
    client: float

    def per_request(self, requests: int) -> str:
        n = max(requests, 1)
        parts = [f"servers {1000 * self.servers / n:.2f}"]
        if self.database:
            parts.append(f"PostgreSQL {1000 * self.database / n:.2f}")
        parts.append(f"client {1000 * self.client / n:.2f}")
        return ", ".join(parts) + " ms of CPU a request"


class CpuMeter:
    """`with CpuMeter(servers) as meter:` ... `meter.used`: what the run inside cost the
    two cores, by process (Linux /proc). A process started meanwhile counts from zero."""

    def __init__(self, servers: Sequence[Gunicorn]) -> None:
        self.servers = servers
        self.used = CpuUse(0.0, 0.0, 0.0)

    def _sample(self) -> tuple[dict[int, float], dict[int, float], float]:
        server_pids = [pid for server in self.servers for pid in server.pids()]
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return (
            {pid: _cpu_seconds(pid) for pid in server_pids},
            {pid: _cpu_seconds(pid) for pid in _postgres_pids()},
            usage.ru_utime + usage.ru_stime,
        )

    def __enter__(self) -> CpuMeter:
        self._start = self._sample()
        return self

    def __exit__(self, *_exc: object) -> None:
        servers, database, client = self._sample()
        servers_before, database_before, client_before = self._start
        self.used = CpuUse(
            sum(t - servers_before.get(pid, 0.0) for pid, t in servers.items()),
            sum(t - database_before.get(pid, 0.0) for pid, t in database.items()),
            client - client_before,
        )
