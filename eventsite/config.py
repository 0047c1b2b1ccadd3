"""Configuration classes and how the environment overrides them."""

from __future__ import annotations

import math
import os
import secrets
from collections import Counter
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask

ENV_PREFIX = "EVENTSITE"
SQLITE_DEFAULT_BUSY_SECONDS = 30
REDIS_SCHEMES = frozenset({"redis", "rediss", "redis+unix", "valkey", "valkeys", "valkey+unix"})


class Config:
    SITE_NAME = "eventsite"
    # None: the site's own tagline, in the visitor's language (templating.site_tagline).
    SITE_TAGLINE: str | None = None
    SECRET_KEY: str | None = None
    SQLALCHEMY_DATABASE_URI: str | None = None  # filled in from instance/ when unset
    # {"pool_pre_ping": true} pings each pooled connection as a request takes it; by default
    # only one idle this long is pinged, and one used more recently is checked without a
    # round trip (database._check_connections_on_checkout). Seconds.
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, Any] = {}
    DATABASE_PING_AFTER_IDLE_SECONDS = 10
    SQLALCHEMY_RECORD_QUERIES = False
    # A database that does not answer fails the request within seconds (503, and /healthz
    # says so) instead of holding the worker until gunicorn kills it (30 s, then a bare 500).
    # Connect: PostgreSQL's connect_timeout (libpq waits at least 2 s). Statement:
    # PostgreSQL's statement_timeout; on SQLite, how long a write waits for another
    # connection's write lock. Write transactions are short (nobody holds one across network
    # I/O: the mail sender commits its claim before talking to the SMTP server), so waiting
    # longer means something is wrong, and the request fails well within gunicorn's 30-second
    # worker timeout. Seconds; 0 = no limit (SQLite then waits 30 s).
    DATABASE_CONNECT_TIMEOUT = 5
    DATABASE_STATEMENT_TIMEOUT = 10
    WTF_CSRF_ENABLED = True
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    BABEL_DEFAULT_LOCALE = "en"
    BABEL_DEFAULT_TIMEZONE = "UTC"
    EVENTS_PER_PAGE = 20
    # Request bodies. Anything larger is refused (413, the site's error page) before it is
    # read, so no form, pattern or parser ever sees it. The largest form is an event's
    # description (50,000 characters: at most 600 kB in UTF-8, percent-encoded). The
    # workspace's picture uploads raise the cap for those pages only (organiser/).
    MAX_CONTENT_LENGTH = 1024 * 1024
    # multipart/form-data: the largest text part held in memory, and the number of parts.
    MAX_FORM_MEMORY_SIZE = 256 * 1024
    MAX_FORM_PARTS = 1000
    # Pictures (images/): where their files are kept (unset: instance/images/; a folder; or
    # s3://bucket?endpoint=https://host&region=name for an S3-compatible store shared by
    # several servers), and the largest upload the pages that take one accept.
    IMAGE_STORAGE: str | None = None
    IMAGE_MAX_UPLOAD_BYTES = 10 * 1024 * 1024
    # Per-process cache of public pages for anonymous visitors (page_cache/), and how
    # long a shared cache (proxy, CDN) may answer with its copy of them without asking
    PAGE_CACHE_ENABLED = True
    PAGE_CACHE_MAX_ENTRIES = 512
    PAGE_CACHE_SHARED_MAX_AGE = 10  # seconds; 0 = ask every time (public, no-cache)
    # Compress textual answers (brotli or gzip, as the client asks; cached pages are kept
    # compressed). Off when a proxy in front compresses instead (see compression.py).
    COMPRESSION_ENABLED = True
    # Sessions and cookies
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    # "Keep me logged in": how long the remember-me cookie lasts (a timedelta, or seconds
    # from the environment). Logging out or changing the password ends it sooner.
    REMEMBER_COOKIE_DURATION: timedelta | int = timedelta(days=30)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = False
    PREFERRED_URL_SCHEME = "http"
    # Rate limits (Flask-Limiter). memory:// counts per process: production with several
    # workers or servers shares the counts in Redis (redis://host:6379/0).
    RATELIMIT_ENABLED = True
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    # Redis unreachable: each process counts in memory until it answers again (checked with
    # pauses growing to half a minute), rather than the site failing; any other
    # error of the store lets the request through unlimited. Either way it is logged.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_SWALLOW_ERRORS = True
    RATELIMIT_STORAGE_TIMEOUT = 1  # seconds for connecting to and talking with Redis
    # Mail: without MAIL_SERVER, development prints messages to the console
    MAIL_SERVER: str | None = None
    MAIL_PORT = 25
    MAIL_USE_TLS = False
    MAIL_USE_SSL = False
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None
    MAIL_DEFAULT_SENDER = "eventsite <no-reply@localhost>"
    MAIL_REPLY_TO: str | None = None
    MAIL_DELIVER_AFTER_REQUEST = True  # development: send right after the request
    MAIL_AFTER_REQUEST_QUEUE_SIZE = 500  # messages waiting for that; the rest wait for the worker
    MAIL_MAX_ATTEMPTS = 30  # with the capped backoff, about a day of SMTP outage
    MAIL_TIMEOUT = 10  # seconds for connecting to and talking with the SMTP server
    MAIL_RETRY_BASE_SECONDS = 30  # backoff after a temporary failure: 30 s, 1 min, 2 min...
    MAIL_RETRY_MAX_SECONDS = 3600  # ...capped at one hour
    OUTBOX_BATCH_SIZE = 50  # messages per round of `flask outbox work`
    # Webhooks: seconds to wait for a receiver's answer; whether an endpoint may be plain
    # http:// on this machine (127.0.0.1, localhost) and use a private or loopback address
    # (development and tests only: in production every endpoint is https:// on a public
    # address, so an organisation cannot make the worker call the site's own network).
    WEBHOOK_TIMEOUT = 10
    WEBHOOKS_ALLOW_LOCAL = False
    # Calendar feeds
    CALENDAR_REFRESH_MINUTES = 60
    # Domain part of calendar UIDs (event-<id>@<domain>); never change it once in use.
    # Unset: the host of BASE_URL.
    ICAL_UID_DOMAIN: str | None = None
    # ORGANIZER address in calendar files; unset: the address of MAIL_DEFAULT_SENDER.
    ICAL_ORGANIZER_EMAIL: str | None = None
    # Accounts: signed links (seconds) and the per-account brake on failed log-ins
    ACCOUNT_VERIFY_MAX_AGE = 3 * 24 * 3600
    EMAIL_CHANGE_MAX_AGE = 24 * 3600
    PASSWORD_RESET_MAX_AGE = 3600
    LOGIN_LINK_MAX_AGE = 15 * 60  # an emailed log-in link works once, for this long
    LOGIN_FAILURE_LIMIT = 5
    LOGIN_FAILURE_WINDOW_MINUTES = 15
    LOGIN_BLOCK_MINUTES = 5
    # werkzeug's generate_password_hash method. Tests use a cheap "pbkdf2:sha256:1000"; a
    # site never should (a stolen hash would fall to guessing at once).
    PASSWORD_HASH_METHOD = "scrypt"
    # Rate limits per IP address (Flask-Limiter strings; several separated by ";")
    RATELIMIT_LOGIN = "10/minute;50/hour"
    RATELIMIT_SIGNUP = "5/minute;20/hour"
    RATELIMIT_PASSWORD_RESET = "5/minute;20/hour"
    RATELIMIT_LOGIN_LINK = "5/minute;20/hour"
    RATELIMIT_LOGIN_LINK_ADDRESS = "5/hour;10/day"  # per address asked for, account or not
    RATELIMIT_RESEND_VERIFICATION = "3/minute;10/hour"
    RATELIMIT_SHARE = "5/minute;20/hour"
    RATELIMIT_REGISTER = "5/minute;20/hour"  # visitors registering without logging in
    RATELIMIT_SHARE_ACCOUNT = "10/hour;30/day"  # per logged-in account
    SHARE_MAX_PER_RECIPIENT_PER_DAY = 3  # checked in the database, across servers
    RATELIMIT_NOTIFY = "5/minute;20/hour"
    RATELIMIT_API = "120/minute;3000/hour"  # the JSON API, per client address
    ANNOUNCE_CONFIRM_MAX_AGE = 7 * 24 * 3600
    # Organiser workspace
    ORGANISER_INVITATION_MAX_AGE = 14 * 24 * 3600  # seconds an invitation link stays valid
    ORGANISER_REGISTRANTS_PER_PAGE = 50
    RATELIMIT_ORGANISER_EMAIL = "5/hour;20/day"  # emails to registrants, per account
    # Reverse proxies in front of the app (0 = none). With N, the client address, scheme and
    # host come from the last N X-Forwarded-* values (Werkzeug's ProxyFix); rate limits
    # need the real client address.
    TRUSTED_PROXIES = 0
    # Host names the site answers to (None: any; required in production, where SERVER_NAME's
    # host stands in when only that is set); another Host header gets a 400.
    TRUSTED_HOSTS: list[str] | None = None
    # Strict-Transport-Security on HTTPS responses (browsers then refuse plain HTTP).
    HSTS_ENABLED = False
    # Canonical address used in emails and calendar feeds when there is no request
    SERVER_NAME: str | None = None
    BASE_URL = "http://127.0.0.1:5000"


class DevelopmentConfig(Config):
    DEBUG = False
    WEBHOOKS_ALLOW_LOCAL = True


class TestingConfig(Config):
    TESTING = True
    WTF_CSRF_ENABLED = False
    RATELIMIT_ENABLED = False
    MAIL_DELIVER_AFTER_REQUEST = False
    WEBHOOKS_ALLOW_LOCAL = True
    PAGE_CACHE_ENABLED = True  # as production runs; a test that needs it off says so
    SECRET_KEY = "testing-secret-key-not-for-production"


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    PREFERRED_URL_SCHEME = "https"
    HSTS_ENABLED = True
    MAIL_DELIVER_AFTER_REQUEST = False  # `flask outbox work` delivers


CONFIGS: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "production": ProductionConfig,
    "testing": TestingConfig,
}


class ConfigError(RuntimeError):
    """The configuration cannot run safely; the message says what to set."""


def load_config(app: Flask, test_config: dict[str, Any] | None) -> None:
    """Defaults from a class, then the environment, then (tests only) an explicit mapping.

    With a test mapping the environment is ignored, so a developer's shell never redirects
    the suite to another database.
    """
    if test_config is not None:
        app.config.from_object(TestingConfig)
        app.config.update(test_config)
        app.config["ENV_NAME"] = "testing"
    else:
        env_name = os.environ.get(f"{ENV_PREFIX}_ENV", "development").lower()
        if env_name not in CONFIGS:
            raise ConfigError(
                f"{ENV_PREFIX}_ENV={env_name!r} is unknown; use one of {', '.join(CONFIGS)}."
            )
        app.config.from_object(CONFIGS[env_name])
        app.config["ENV_NAME"] = env_name
        if os.environ.get("SECRET_KEY"):
            app.config["SECRET_KEY"] = os.environ["SECRET_KEY"]
        if os.environ.get("DATABASE_URL"):
            app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
        app.config.from_prefixed_env(ENV_PREFIX)
        app.config["TRUSTED_HOSTS"] = trusted_hosts(app.config)
        if env_name == "production":
            check_production(app.config)
            _warn_about_per_process_rate_limits(app)

    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(Path(app.instance_path))
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        db_path = Path(app.instance_path) / "eventsite.sqlite3"
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{db_path}"
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(
        app.config["SQLALCHEMY_DATABASE_URI"]
    )
    _redis_timeouts(app.config)
    _database_timeouts(app.config)


def _database_timeouts(config: dict[str, Any]) -> None:
    """DATABASE_CONNECT_TIMEOUT and DATABASE_STATEMENT_TIMEOUT as the driver's connect
    arguments (an explicit connect argument in SQLALCHEMY_ENGINE_OPTIONS wins)."""
    options = dict(config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    connect_args = dict(options.get("connect_args") or {})
    connect_timeout = float(config.get("DATABASE_CONNECT_TIMEOUT") or 0)
    statement_timeout = float(config.get("DATABASE_STATEMENT_TIMEOUT") or 0)
    url = str(config["SQLALCHEMY_DATABASE_URI"])
    if url.startswith("sqlite"):
        connect_args.setdefault("timeout", statement_timeout or SQLITE_DEFAULT_BUSY_SECONDS)
        connect_args.setdefault("check_same_thread", False)
        # A file on this machine does not drop connections: skip the ping per checkout.
        options["pool_pre_ping"] = False
    elif url.startswith("postgresql"):
        if connect_timeout > 0:
            connect_args.setdefault("connect_timeout", max(1, math.ceil(connect_timeout)))
        server_options = str(connect_args.get("options") or "")
        if statement_timeout > 0 and "statement_timeout" not in server_options:
            setting = f"-c statement_timeout={math.ceil(statement_timeout * 1000)}"
            connect_args["options"] = f"{server_options} {setting}".strip()
    options["connect_args"] = connect_args
    config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def _warn_about_per_process_rate_limits(app: Flask) -> None:
    uri = str(app.config.get("RATELIMIT_STORAGE_URI") or "memory://")
    if app.config.get("RATELIMIT_ENABLED") and uri.startswith("memory://"):
        app.logger.warning(
            "RATELIMIT_STORAGE_URI is %s: every process counts rate limits on its own, so "
            "each limit multiplies by the number of processes (gunicorn workers times "
            "servers). Set %s_RATELIMIT_STORAGE_URI=redis://host:6379/0 to share the counts.",
            uri,
            ENV_PREFIX,
        )


def _redis_timeouts(config: dict[str, Any]) -> None:
    """A Redis that does not answer costs a request at most RATELIMIT_STORAGE_TIMEOUT
    (redis-py waits forever by default); then the in-memory fallback takes over."""
    uri = str(config.get("RATELIMIT_STORAGE_URI") or "")
    if uri.split(":", 1)[0] not in REDIS_SCHEMES:
        return
    timeout = float(config.get("RATELIMIT_STORAGE_TIMEOUT") or 1)
    options = dict(config.get("RATELIMIT_STORAGE_OPTIONS") or {})
    options.setdefault("socket_connect_timeout", timeout)
    options.setdefault("socket_timeout", timeout)
    config["RATELIMIT_STORAGE_OPTIONS"] = options


def normalise_database_url(url: str) -> str:
    """Accept the `postgres://` and `postgresql://` spellings hosting platforms hand out."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


# Production's secret key: long, and not one character over and over. The estimate counts
# how evenly the characters are spread (Shannon), so it reads a random key's strength
# roughly: a key from `secrets.token_hex(32)` scores about 240 bits, `token_hex(16)` about
# 115 (never below 80), "0000..." zero.
SECRET_KEY_MIN_LENGTH = 32
SECRET_KEY_MIN_BITS = 80
SECRET_KEY_PLACEHOLDERS = ("change-me", "changeme", "change_me")
GENERATE_SECRET_KEY = 'python -c "import secrets; print(secrets.token_hex(32))"'


def check_production(config: Mapping[str, Any]) -> None:
    """ConfigError, saying what to set, unless the settings are safe to serve the public."""
    problem = secret_key_problem(config.get("SECRET_KEY"))
    if problem:
        raise ConfigError(
            f"eventsite refuses to start in production: {problem}. Set SECRET_KEY (or "
            "EVENTSITE_SECRET_KEY) to a long random value, e.g. the output of "
            + GENERATE_SECRET_KEY
        )
    if not config.get("TRUSTED_HOSTS"):
        raise ConfigError(
            "eventsite refuses to start in production without TRUSTED_HOSTS: set "
            "EVENTSITE_TRUSTED_HOSTS to the host names the site answers to, e.g. "
            "EVENTSITE_TRUSTED_HOSTS='[\"events.example.org\"]' (or set EVENTSITE_SERVER_NAME). "
            "Otherwise any Host header is answered, and links in the pages point where it says."
        )


def secret_key_problem(value: object) -> str | None:
    """What makes `value` unfit to sign production's sessions and links, or None."""
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    if not isinstance(value, str) or not value:
        return "SECRET_KEY is not set"
    if any(word in value.lower() for word in SECRET_KEY_PLACEHOLDERS):
        return "SECRET_KEY is still a placeholder"
    if len(value) < SECRET_KEY_MIN_LENGTH:
        return f"SECRET_KEY has {len(value)} characters; it needs at least {SECRET_KEY_MIN_LENGTH}"
    if estimated_bits(value) < SECRET_KEY_MIN_BITS:
        return "SECRET_KEY repeats too few different characters to be hard to guess"
    return None


def estimated_bits(value: str) -> float:
    """Length times the Shannon entropy of the characters' frequencies."""
    counts = Counter(value)
    return -sum(n * math.log2(n / len(value)) for n in counts.values())


def trusted_hosts(config: Mapping[str, Any]) -> list[str] | None:
    """TRUSTED_HOSTS as a list: a JSON list, or names separated by commas or spaces (from
    the environment). Unset: the host of SERVER_NAME, if that is set."""
    hosts = config.get("TRUSTED_HOSTS")
    if isinstance(hosts, str):
        hosts = hosts.replace(",", " ").split()
    if not hosts and config.get("SERVER_NAME"):
        hosts = [urlsplit(f"//{config['SERVER_NAME']}").hostname or ""]
    hosts = [host for host in hosts or () if host]
    return hosts or None


def _instance_secret(instance: Path) -> str:
    """Development only: create a secret key once and keep it in instance/."""
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key
