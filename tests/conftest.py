"""Shared fixtures: an app per test on SQLite (and PostgreSQL when TEST_DATABASE_URL is set),
factories for the main objects, a real SMTP sink, a live server for the browser and
gunicorn for the tests that need real processes."""

from __future__ import annotations

import email
import email.policy
import functools
import os
import re
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import jinja2
import jinja2.bccache
import pytest
from aiosmtpd.controller import Controller
from flask import Flask, current_app, g, has_app_context, request_started
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import event as sa_event
from sqlalchemy import text
from werkzeug.routing import Rule
from werkzeug.security import generate_password_hash
from werkzeug.serving import make_server

from eventsite import create_app
from eventsite.extensions import babel, db
from eventsite.models import (
    AgendaSession,
    Event,
    EventFormat,
    EventKind,
    EventStatus,
    JoinedVia,
    Membership,
    Organisation,
    Registration,
    RegistrationStatus,
    SessionSpeaker,
    Speaker,
    Topic,
    User,
)

from .servers import Gunicorn, free_port, start_gunicorn, stop_gunicorn
from .translations_support import write_pseudo_catalogue

PG_URL = os.environ.get("TEST_DATABASE_URL")
BACKENDS = ["sqlite", "postgresql"]
PASSWORD = "correct horse battery staple"
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
# Cheap on purpose: scrypt takes 0.1-0.25 s a hash here, and the suite signs up and logs in
# hundreds of times. `default_password_hashing` gives a test the site's own scrypt.
PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"

_pg_schema_ready = False


# --- what every test's new app would otherwise build again ---------------------------------------
# Each test builds its own app (a test may change its configuration first). Two costs of a new
# app do not depend on the configuration: Werkzeug compiles a Python function per URL rule to
# build its URLs (about 70 of the 90 ms create_app() takes, for 78 rules), and Jinja compiles
# every template again in the app's own environment. Both are pure functions of their inputs
# (the rule's parsed parts; the template's source), so the tests compile each once. Tests only.


class _SharedBytecodeCache(jinja2.BytecodeCache):
    """Jinja's hook for keeping compiled templates, in memory; a changed source (another
    checksum) is compiled again."""

    def __init__(self) -> None:
        self.code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if bucket.key in self.code:
            bucket.bytecode_from_string(self.code[bucket.key])

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self.code[bucket.key] = bucket.bytecode_to_string()


TEMPLATES = _SharedBytecodeCache()
_compile_builder = Rule._compile_builder
_builders: dict[tuple[Any, ...], Any] = {}


def _shared_builder(self: Rule, append_unknown: bool = True) -> Any:
    defaults = self.defaults or {}
    if any(is_dynamic and part in defaults for is_dynamic, part in self._trace):
        return _compile_builder(self, append_unknown)  # a default's value is in the code
    # The function reads the rule's converters through its `self` argument when it runs.
    key = (self.rule, tuple(self._trace), tuple(defaults), append_unknown)
    if key not in _builders:
        _builders[key] = _compile_builder(self, append_unknown)
    return _builders[key]


Rule._compile_builder = _shared_builder  # type: ignore[method-assign]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql" and not PG_URL:
        pytest.skip("TEST_DATABASE_URL is not set")
    return request.param


@pytest.fixture
def database_url(backend: str, tmp_path) -> str:
    if backend == "sqlite":
        # A file, not :memory:, so threads, live servers and other processes share it.
        return f"sqlite:///{tmp_path / 'test.sqlite3'}"
    assert PG_URL
    return PG_URL


@pytest.fixture(scope="session")
def sqlite_schema(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty SQLite database with every table, built once; each test gets a copy."""
    path = tmp_path_factory.mktemp("schema") / "schema.sqlite3"
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
    with app.app_context():
        db.create_all()
        db.session.remove()
        db.engine.dispose()  # the last connection closing folds the WAL into the file
    assert not path.with_name(path.name + "-wal").exists()
    return path


def _prepare_schema(app: Flask, backend: str, sqlite_schema: Callable[[], Path]) -> None:
    global _pg_schema_ready
    with app.app_context():
        if backend == "sqlite":
            target = db.engine.url.database
            if target and target != ":memory:" and not Path(target).exists():
                shutil.copyfile(sqlite_schema(), target)  # much faster than create_all()
            else:
                db.create_all()
            return
        if not _pg_schema_ready:
            db.drop_all()
            with db.engine.begin() as conn:
                conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
            db.create_all()
            _pg_schema_ready = True
        else:
            # What TRUNCATE ... RESTART IDENTITY did in 40-250 ms (it makes new files for every
            # table and index), in 3-15 ms: one DELETE per table, referencing tables first,
            # in one round trip, then the sequences that moved start again at 1.
            deletes = "; ".join(
                f'DELETE FROM "{table.name}"' for table in reversed(db.metadata.sorted_tables)
            )
            with db.engine.begin() as conn:
                conn.exec_driver_sql(deletes)
                conn.exec_driver_sql(
                    "SELECT setval(quote_ident(schemaname) || '.' || quote_ident(sequencename),"
                    " 1, false) FROM pg_sequences"
                    " WHERE schemaname = current_schema() AND last_value IS NOT NULL"
                )


@pytest.fixture
def app_config(database_url: str, tmp_path) -> dict[str, Any]:
    """The explicit test configuration; a test may change it before `app` is built."""
    return {
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": "test-secret-key-0123456789abcdef",
        "SERVER_NAME": None,
        "BASE_URL": "http://localhost",
        "MAIL_SERVER": None,
        "MAIL_DEFAULT_SENDER": "eventsite <no-reply@eventsite.test>",
        "SITE_NAME": "eventsite",
        "PASSWORD_HASH_METHOD": PASSWORD_HASH_METHOD,
        "IMAGE_STORAGE": str(tmp_path / "images"),
    }


@pytest.fixture
def default_password_hashing(app_config: dict[str, Any]) -> None:
    """The site's own password hashing (scrypt) instead of the tests' cheap one; use it
    before `app` is built."""
    del app_config["PASSWORD_HASH_METHOD"]


def _fresh_g_per_request(_sender: Any, **_extra: Any) -> None:
    """The `app` fixture keeps one app context for the whole test, so `g` (where Flask-Login
    caches the current user and the outbox its queued ids) would carry one request's state
    into the next, even from another client. Production has a fresh `g` per request."""
    for name in list(vars(g)):
        g.pop(name, None)


@pytest.fixture
def app(
    app_config: dict[str, Any], backend: str, request: pytest.FixtureRequest
) -> Iterator[Flask]:
    app = create_app(app_config)
    app.jinja_env.bytecode_cache = TEMPLATES
    _prepare_schema(app, backend, lambda: request.getfixturevalue("sqlite_schema"))
    request_started.connect(_fresh_g_per_request, app)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


# --- factories -------------------------------------------------------------------------------


@pytest.fixture
def make_organisation(app: Flask) -> Callable[..., Organisation]:
    counter = iter(range(1, 10_000))

    def factory(**overrides: Any) -> Organisation:
        n = next(counter)
        values = {"name": f"Organisation {n}", "slug": f"organisation-{n}", "description": ""}
        values.update(overrides)
        organisation = Organisation(**values)
        db.session.add(organisation)
        db.session.commit()
        return organisation

    return factory


@pytest.fixture
def make_topic(app: Flask) -> Callable[..., Topic]:
    def factory(name: str = "Climate", slug: str | None = None, **overrides: Any) -> Topic:
        topic = Topic(name=name, slug=slug or name.lower().replace(" ", "-"), **overrides)
        db.session.add(topic)
        db.session.commit()
        return topic

    return factory


@pytest.fixture
def make_event(app: Flask, make_organisation) -> Callable[..., Event]:
    counter = iter(range(1, 100_000))

    def factory(**overrides: Any) -> Event:
        n = next(counter)
        starts_at = overrides.pop("starts_at", NOW + timedelta(days=30 + n))
        values: dict[str, Any] = {
            "title": f"Event {n}",
            "slug": f"event-{n}",
            "kind": EventKind.CONFERENCE,
            "summary": f"Summary of event {n}",
            "description": f"Description of **event {n}**.",
            "starts_at": starts_at,
            "ends_at": starts_at + timedelta(hours=8),
            "timezone": "Europe/Zurich",
            "venue_name": "Congress Centre",
            "venue_address": "Main street 1",
            "city": "Geneva",
            "country": "CH",
            "format": EventFormat.IN_PERSON,
            "status": EventStatus.PUBLISHED,
            "published_at": NOW - timedelta(days=1),
        }
        values.update(overrides)
        if "organisation" not in values and "organisation_id" not in values:
            values["organisation"] = make_organisation()
        values.setdefault(
            "search_text",
            " ".join([values["title"], values["summary"], values["description"]]).lower(),
        )
        event = Event(**values)
        db.session.add(event)
        db.session.commit()
        return event

    return factory


@pytest.fixture
def make_session(app: Flask) -> Callable[..., AgendaSession]:
    def factory(event: Event, speakers: list[Speaker] | None = None, **overrides: Any):
        starts_at = overrides.pop("starts_at", event.starts_at + timedelta(hours=1))
        session = AgendaSession(
            event=event,
            title=overrides.pop("title", "Opening plenary"),
            starts_at=starts_at,
            ends_at=overrides.pop("ends_at", starts_at + timedelta(hours=1)),
            **overrides,
        )
        for position, speaker in enumerate(speakers or []):
            session.speaker_links.append(SessionSpeaker(speaker=speaker, position=position))
        db.session.add(session)
        db.session.commit()
        return session

    return factory


@pytest.fixture
def make_speaker(app: Flask) -> Callable[..., Speaker]:
    def factory(name: str = "Ada Example", **overrides: Any) -> Speaker:
        speaker = Speaker(name=name, **overrides)
        db.session.add(speaker)
        db.session.commit()
        return speaker

    return factory


@functools.cache
def password_hash() -> str:
    """PASSWORD hashed once for the whole session."""
    return generate_password_hash(PASSWORD, method=PASSWORD_HASH_METHOD)


@pytest.fixture
def make_user(app: Flask) -> Callable[..., User]:
    counter = iter(range(1, 100_000))

    def factory(**overrides: Any) -> User:
        n = next(counter)
        values: dict[str, Any] = {
            "email": f"person{n}@example.org",
            "name": f"Person {n}",
            "password_hash": password_hash(),
            "email_verified_at": NOW,
        }
        values.update(overrides)
        user = User(**values)
        db.session.add(user)
        db.session.commit()
        return user

    return factory


@pytest.fixture
def make_member(make_user) -> Callable[..., User]:
    """A person who is a member of the organisation."""

    def factory(organisation: Organisation, **overrides: Any) -> User:
        user = make_user(**overrides)
        db.session.add(
            Membership(
                user_id=user.id, organisation_id=organisation.id, joined_via=JoinedVia.INVITATION
            )
        )
        db.session.commit()
        return user

    return factory


@pytest.fixture
def make_registration(app: Flask) -> Callable[..., Registration]:
    """A registration row in a given state (the registration service has its own tests)."""

    def factory(
        user: User, event: Event, status: str = RegistrationStatus.CONFIRMED
    ) -> Registration:
        registration = Registration(
            user_id=user.id,
            event_id=event.id,
            status=status,
            answers={},
            created_at=NOW,
            updated_at=NOW,
        )
        db.session.add(registration)
        db.session.commit()
        return registration

    return factory


@pytest.fixture
def login(client: FlaskClient) -> Callable[[User], None]:
    """Log a user in on the test client through Flask-Login's session keys."""

    def do_login(user: User) -> None:
        with client.session_transaction() as session:
            session["_user_id"] = user.get_id()
            session["_fresh"] = True

    return do_login


# --- measuring ---------------------------------------------------------------------------------


class QueryCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, _conn, _cursor, statement: str, *_args: Any) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "SAVEPOINT", "RELEASE", "PRAGMA")):
            self.statements.append(statement)

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_queries(app: Flask) -> Callable[[], Any]:
    """`with count_queries() as counter:` counts the SQL statements run inside."""
    from contextlib import contextmanager

    @contextmanager
    def counting() -> Iterator[QueryCounter]:
        counter = QueryCounter()
        sa_event.listen(db.engine, "before_cursor_execute", counter)
        try:
            yield counter
        finally:
            sa_event.remove(db.engine, "before_cursor_execute", counter)

    return counting


# --- a real SMTP server ----------------------------------------------------------------------


class SMTPCollector:
    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp_sink(app_config: dict[str, Any]) -> Iterator[tuple[Controller, SMTPCollector]]:
    """A real SMTP server on 127.0.0.1; the app's MAIL_* settings point at it."""
    handler = SMTPCollector()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    settings = {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": port}
    app_config.update(settings)
    if has_app_context():  # the app fixture came first: point the running app at the sink
        current_app.config.update(settings)
    try:
        yield controller, handler
    finally:
        controller.stop()


# --- the browser -------------------------------------------------------------------------------

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "headless": True,
        "args": CHROMIUM_ARGS,
    }


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The app served over HTTP from a thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{server.server_port}"
    app.config["BASE_URL"] = base_url
    try:
        yield base_url
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture
def gunicorn(
    app: Flask, app_config: dict[str, Any], tmp_path: Path
) -> Iterator[Callable[..., Gunicorn]]:
    """`gunicorn(workers=2, threads=1, **settings)` commits what the test has written, then
    serves the site under gunicorn on the test's database, with EVENTSITE_<setting>
    overrides, once /healthz answers; every server started stops when the test ends."""
    started: list[Gunicorn] = []

    def start(workers: int = 2, threads: int = 1, **settings: str) -> Gunicorn:
        db.session.commit()
        db.session.remove()  # the server's processes write: hold no connection here
        server = start_gunicorn(
            app_config["SQLALCHEMY_DATABASE_URI"],
            app_config["SECRET_KEY"],
            tmp_path,
            workers=workers,
            threads=threads,
            settings=settings,
        )
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in started:
            stop_gunicorn(server)
        db.session.remove()


# --- email as it arrives, CSRF and rate limits on demand ------------------------------------


@dataclass
class Received:
    """One message as the SMTP server received it."""

    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def text(self) -> str:
        return self.message.get_body(("plain",)).get_content().replace("\r\n", "\n")

    @property
    def html(self) -> str:
        return self.message.get_body(("html",)).get_content().replace("\r\n", "\n")

    def link(self, contains: str = "") -> str:
        """The path of the first link in the text part (containing `contains`)."""
        for url in re.findall(r"https?://[^\s<>\"]+", self.text):
            if contains in url:
                return re.sub(r"^https?://[^/]+", "", url)
        raise AssertionError(f"no link with {contains!r} in:\n{self.text}")


@pytest.fixture
def mailbox(app: Any, smtp_sink: Any) -> Callable[[], list[Received]]:
    """`mailbox()` delivers the outbox and returns the messages that arrived since last time.

    Modules using it put `smtp_sink` in `pytestmark = pytest.mark.usefixtures(...)`, so the
    app is built pointing at the sink.
    """
    from eventsite.mail.sender import deliver_due

    _controller, handler = smtp_sink
    seen = {"count": 0}

    def collect() -> list[Received]:
        deliver_due()
        with handler.lock:
            new = handler.messages[seen["count"] :]
            seen["count"] = len(handler.messages)
        return [
            Received(
                list(envelope.rcpt_tos),
                email.message_from_bytes(envelope.content, policy=email.policy.default),
            )
            for envelope in new
        ]

    return collect


@pytest.fixture(scope="session")
def pseudo_catalogues(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A translation directory whose Russian is the pseudo-locale: every message ⟦msgid⟧."""
    return write_pseudo_catalogue(tmp_path_factory.mktemp("pseudo-locale"), "ru")


@pytest.fixture
def pseudo_locale(app_config: dict[str, Any], pseudo_catalogues: Path) -> Iterator[str]:
    """The site speaks the pseudo-locale (as "ru": what Babel formats, dates and country
    names, is in Cyrillic, so Latin words left are ours): set before `app` is built.
    Flask-Babel keeps loaded catalogues by language alone, for every app of the process:
    the real Russian is forgotten before, and the pseudo one after."""
    app_config["BABEL_TRANSLATION_DIRECTORIES"] = str(pseudo_catalogues)
    app_config["BABEL_DEFAULT_LOCALE"] = "ru"
    _forget_loaded_catalogues()
    yield "ru"
    _forget_loaded_catalogues()


def _forget_loaded_catalogues() -> None:
    domain = vars(babel).get("domain_instance")  # made by the first app that translated
    if domain is not None:
        domain.cache.clear()


@pytest.fixture
def csrf_enabled(app_config: dict[str, Any]) -> None:
    """Use with @pytest.mark.usefixtures before `app` is built."""
    app_config["WTF_CSRF_ENABLED"] = True


@pytest.fixture
def rate_limits_on(app_config: dict[str, Any]) -> None:
    app_config.update(
        {
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_LOGIN": "3/minute",
            "RATELIMIT_SIGNUP": "2/minute",
            "RATELIMIT_PASSWORD_RESET": "2/minute",
            "RATELIMIT_RESEND_VERIFICATION": "1/minute",
            "RATELIMIT_SHARE": "2/minute",
            "RATELIMIT_SHARE_ACCOUNT": "1/hour",
            "RATELIMIT_NOTIFY": "2/minute",
            "RATELIMIT_REGISTER": "2/minute",
            "RATELIMIT_API": "2/minute",
        }
    )
