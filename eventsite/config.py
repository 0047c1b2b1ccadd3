"""Configuration classes and how the environment overrides them."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask

ENV_PREFIX = "EVENTSITE"


class Config:
    SITE_NAME = "eventsite"
    SITE_TAGLINE = "Forums and conferences on science, technology and society"
    SECRET_KEY: str | None = None
    SQLALCHEMY_DATABASE_URI: str | None = None  # filled in from instance/ when unset
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, Any] = {"pool_pre_ping": True}
    SQLALCHEMY_RECORD_QUERIES = False
    WTF_CSRF_ENABLED = True
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    BABEL_DEFAULT_LOCALE = "en"
    BABEL_DEFAULT_TIMEZONE = "UTC"
    EVENTS_PER_PAGE = 20
    # Request bodies. Anything larger is refused (413, the site's error page) before it is
    # read, so no form, pattern or parser ever sees it. The largest form is an event's
    # description (50,000 characters: at most 600 kB in UTF-8, percent-encoded). The
    # workspace's logo upload raises the cap for that one page only (organiser/).
    MAX_CONTENT_LENGTH = 1024 * 1024
    # multipart/form-data: the largest text part held in memory, and the number of parts.
    MAX_FORM_MEMORY_SIZE = 256 * 1024
    MAX_FORM_PARTS = 1000
    # Per-process cache of public pages for anonymous visitors (events/page_cache.py)
    PAGE_CACHE_ENABLED = True
    PAGE_CACHE_MAX_ENTRIES = 512
    # Sessions and cookies
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = False
    PREFERRED_URL_SCHEME = "http"
    # Rate limits (Flask-Limiter)
    RATELIMIT_ENABLED = True
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = True
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
    MAIL_MAX_ATTEMPTS = 30  # with the capped backoff, about a day of SMTP outage
    MAIL_TIMEOUT = 10  # seconds for connecting to and talking with the SMTP server
    MAIL_RETRY_BASE_SECONDS = 30  # backoff after a temporary failure: 30 s, 1 min, 2 min...
    MAIL_RETRY_MAX_SECONDS = 3600  # ...capped at one hour
    OUTBOX_BATCH_SIZE = 50  # messages per round of `flask outbox work`
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
    LOGIN_FAILURE_LIMIT = 5
    LOGIN_FAILURE_WINDOW_MINUTES = 15
    LOGIN_BLOCK_MINUTES = 5
    # Rate limits per IP address (Flask-Limiter strings; several separated by ";")
    RATELIMIT_LOGIN = "10/minute;50/hour"
    RATELIMIT_SIGNUP = "5/minute;20/hour"
    RATELIMIT_PASSWORD_RESET = "5/minute;20/hour"
    RATELIMIT_RESEND_VERIFICATION = "3/minute;10/hour"
    RATELIMIT_SHARE = "5/minute;20/hour"
    RATELIMIT_SHARE_ACCOUNT = "10/hour;30/day"  # per logged-in account
    SHARE_MAX_PER_RECIPIENT_PER_DAY = 3  # checked in the database, across servers
    RATELIMIT_NOTIFY = "5/minute;20/hour"
    ANNOUNCE_CONFIRM_MAX_AGE = 7 * 24 * 3600
    # Organiser workspace
    ORGANISER_LOGO_MAX_BYTES = 1_000_000
    ORGANISER_INVITATION_MAX_AGE = 14 * 24 * 3600  # seconds an invitation link stays valid
    ORGANISER_REGISTRANTS_PER_PAGE = 50
    RATELIMIT_ORGANISER_EMAIL = "5/hour;20/day"  # emails to registrants, per account
    # Reverse proxies in front of the app (0 = none). With N, the client address, scheme and
    # host come from the last N X-Forwarded-* values (Werkzeug's ProxyFix); rate limits
    # need the real client address.
    TRUSTED_PROXIES = 0
    # Host names the site answers to (None: any); another Host header gets a 400.
    TRUSTED_HOSTS: list[str] | None = None
    # Strict-Transport-Security on HTTPS responses (browsers then refuse plain HTTP).
    HSTS_ENABLED = False
    # Canonical address used in emails and calendar feeds when there is no request
    SERVER_NAME: str | None = None
    BASE_URL = "http://127.0.0.1:5000"


class DevelopmentConfig(Config):
    DEBUG = False


class TestingConfig(Config):
    TESTING = True
    WTF_CSRF_ENABLED = False
    RATELIMIT_ENABLED = False
    MAIL_DELIVER_AFTER_REQUEST = False
    PAGE_CACHE_ENABLED = False  # tests of the cache turn it on
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
        if env_name == "production" and not _is_real_secret(app.config.get("SECRET_KEY")):
            raise ConfigError(
                "eventsite refuses to start in production without a real secret key: "
                "set SECRET_KEY (or EVENTSITE_SECRET_KEY) to a long random value, "
                'e.g. python -c "import secrets; print(secrets.token_hex(32))".'
            )

    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(Path(app.instance_path))
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        db_path = Path(app.instance_path) / "eventsite.sqlite3"
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{db_path}"
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(
        app.config["SQLALCHEMY_DATABASE_URI"]
    )
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        options.setdefault("connect_args", {"timeout": 30, "check_same_thread": False})
        # A file on this machine does not drop connections: skip the ping per checkout.
        options["pool_pre_ping"] = False
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def normalise_database_url(url: str) -> str:
    """Accept the `postgres://` and `postgresql://` spellings hosting platforms hand out."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _is_real_secret(value: object) -> bool:
    return isinstance(value, str) and len(value) >= 16 and "change-me" not in value.lower()


def _instance_secret(instance: Path) -> str:
    """Development only: create a secret key once and keep it in instance/."""
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key
