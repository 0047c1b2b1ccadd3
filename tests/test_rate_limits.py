"""Rate limits hold across processes: gunicorn workers and servers count in one Redis, and
production says so at start-up when they would count alone.

The servers are real gunicorn processes on the test's database. Redis is the one named by
TEST_REDIS_URL (CI starts a private one); those tests skip when it is unset.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode

import pytest
from flask import Flask

from eventsite import create_app

from .servers import Answer, Gunicorn, at_once, free_port

REDIS_URL = os.environ.get("TEST_REDIS_URL")
LIMITS_ON = {"RATELIMIT_ENABLED": "true"}
FORGOT = "/password/forgot"
TOO_MANY = "You have tried this too many times"

needs_redis = pytest.mark.skipif(not REDIS_URL, reason="TEST_REDIS_URL is not set")


def forgot_password(server: Gunicorn) -> Answer:
    """One POST of the forgotten-password form, on its own connection."""
    return server.request("POST", FORGOT, urlencode({"email": "nobody@example.org"}).encode())


def assert_site_429(answer: Answer) -> None:
    assert answer.status == 429
    assert TOO_MANY in answer.body  # the site's own page, in its layout
    assert "Too many requests" in answer.body
    assert int(answer.headers["Retry-After"]) > 0
    assert answer.headers["X-Content-Type-Options"] == "nosniff"


def redis_settings() -> dict[str, str]:
    """The shared store, under a key prefix of this test's own."""
    assert REDIS_URL
    return {
        "RATELIMIT_STORAGE_URI": REDIS_URL,
        "RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}",
        "RATELIMIT_PASSWORD_RESET": "5/minute",
    }


@pytest.mark.slow
@needs_redis
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # the database plays no part
def test_four_gunicorn_workers_share_one_limit_in_redis(gunicorn) -> None:
    server = gunicorn(workers=4, **LIMITS_ON, **redis_settings())

    answers = at_once([lambda: forgot_password(server)] * 20)

    assert [a for a in answers if not isinstance(a, Answer)] == []
    statuses = Counter(a.status for a in answers)
    assert statuses == {302: 5, 429: 15}, server.log_text()
    for answer in answers:
        if answer.status == 429:
            assert_site_429(answer)
    # The requests really were spread over several processes.
    assert len(server.workers_that_answered("POST", FORGOT)) >= 2


@pytest.mark.slow
@needs_redis
def test_two_servers_on_one_database_share_one_limit_in_redis(gunicorn) -> None:
    settings = {**LIMITS_ON, **redis_settings()}
    servers = [gunicorn(workers=2, **settings), gunicorn(workers=2, **settings)]

    answers = [forgot_password(servers[i % 2]) for i in range(20)]

    assert [a.status for a in answers] == [302] * 5 + [429] * 15
    assert_site_429(answers[-1])


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_with_redis_unreachable_the_site_stays_up_and_counts_per_process(gunicorn) -> None:
    server = gunicorn(
        workers=1,
        **LIMITS_ON,
        RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{free_port()}/0",  # nobody listens there
        RATELIMIT_PASSWORD_RESET="5/minute",
    )

    answers = [forgot_password(server) for _ in range(7)]

    assert [a.status for a in answers] == [302] * 5 + [429] * 2, server.log_text()
    assert_site_429(answers[-1])
    assert "Rate limit storage unreachable" in server.log_text()


def _production_app(monkeypatch, tmp_path: Path, **settings: str) -> Flask:
    monkeypatch.setenv("EVENTSITE_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", secrets.token_hex(32))
    monkeypatch.setenv("EVENTSITE_TRUSTED_HOSTS", '["events.example.org"]')
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'p.sqlite3'}")
    for name, value in settings.items():
        monkeypatch.setenv(f"EVENTSITE_{name}", value)
    return create_app()


def test_production_with_per_process_storage_warns_at_start_up(
    monkeypatch, tmp_path, caplog
) -> None:
    monkeypatch.delenv("EVENTSITE_RATELIMIT_STORAGE_URI", raising=False)
    with caplog.at_level(logging.WARNING):
        _production_app(monkeypatch, tmp_path)
    [warning] = [r for r in caplog.records if "RATELIMIT_STORAGE_URI" in r.getMessage()]
    assert warning.levelno == logging.WARNING
    message = warning.getMessage()
    assert "memory://" in message
    assert re.search(r"multipl\w+ by the number of processes", message)
    assert "EVENTSITE_RATELIMIT_STORAGE_URI=redis://" in message


def test_production_with_a_shared_store_starts_without_warning(
    monkeypatch, tmp_path, caplog
) -> None:
    with caplog.at_level(logging.WARNING):
        app = _production_app(
            monkeypatch, tmp_path, RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/0"
        )
    assert [r for r in caplog.records if "RATELIMIT_STORAGE_URI" in r.getMessage()] == []
    # A Redis that does not answer holds a request up for a second, not for ever.
    options = app.config["RATELIMIT_STORAGE_OPTIONS"]
    assert options["socket_connect_timeout"] == options["socket_timeout"] == 1
