"""Rate limits hold across processes: gunicorn workers and servers count in one Redis, and
production says so at start-up when they would count alone.

The servers are real gunicorn processes on the test's database. Redis is the one named by
TEST_REDIS_URL (CI starts a private one); those tests skip when it is unset.
"""

from __future__ import annotations

import http.client
import logging
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask

from eventsite import create_app
from eventsite.extensions import db

from .conftest import free_port

REDIS_URL = os.environ.get("TEST_REDIS_URL")
ROOT = Path(__file__).resolve().parents[1]
FORGOT = "/password/forgot"
TOO_MANY = "You have tried this too many times"
ACCESS_LOG_FORMAT = "%(p)s %(m)s %(U)s %(s)s"  # worker pid, method, path, status

needs_redis = pytest.mark.skipif(not REDIS_URL, reason="TEST_REDIS_URL is not set")


@dataclass
class Server:
    port: int
    process: subprocess.Popen[bytes]
    log: Path
    access_log: Path

    def workers_that_answered(self, method: str, path: str) -> set[str]:
        lines = (line.split() for line in self.access_log.read_text().splitlines())
        return {pid for pid, m, p, _status in lines if (m, p) == (method, path)}


def _wait_until_up(server: Server) -> None:
    deadline = time.monotonic() + 60
    while True:
        if server.process.poll() is not None:
            pytest.fail(f"gunicorn exited:\n{server.log.read_text()}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"gunicorn did not start:\n{server.log.read_text()}")
        time.sleep(0.2)


@pytest.fixture
def serve(
    app: Flask, app_config: dict[str, Any], tmp_path: Path
) -> Iterator[Callable[..., Server]]:
    """`serve(workers, **settings)` starts the site under gunicorn on the test's database
    with EVENTSITE_<setting> overrides; every server stops when the test ends."""
    db.session.commit()
    db.session.remove()
    servers: list[Server] = []

    def start(workers: int, **settings: str) -> Server:
        port = free_port()
        env = {
            **os.environ,
            "EVENTSITE_ENV": "development",
            "DATABASE_URL": app_config["SQLALCHEMY_DATABASE_URI"],
            "SECRET_KEY": app_config["SECRET_KEY"],
            "EVENTSITE_WTF_CSRF_ENABLED": "false",
            "EVENTSITE_MAIL_DELIVER_AFTER_REQUEST": "false",
            "EVENTSITE_PAGE_CACHE_ENABLED": "false",
            **{f"EVENTSITE_{name}": value for name, value in settings.items()},
        }
        name = f"gunicorn-{len(servers)}"
        log, access_log = tmp_path / f"{name}.log", tmp_path / f"{name}-access.log"
        command = [
            sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}",
            "--timeout", "60", "--access-logfile", str(access_log),
            "--access-logformat", ACCESS_LOG_FORMAT, "wsgi:app",
        ]  # fmt: skip
        with log.open("wb") as out:
            process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
            )
        server = Server(port, process, log, access_log)
        servers.append(server)
        _wait_until_up(server)
        time.sleep(1.0)  # the other workers booted too
        return server

    try:
        yield start
    finally:
        for server in servers:
            server.process.send_signal(signal.SIGINT)
        for server in servers:
            try:
                server.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.process.kill()
                server.process.wait()


@dataclass
class Answer:
    status: int
    body: str
    headers: dict[str, str]


def forgot_password(server: Server) -> Answer:
    """One POST of the forgotten-password form, on its own connection."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        conn.request(
            "POST",
            FORGOT,
            body=urlencode({"email": "nobody@example.org"}),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        response = conn.getresponse()
        body = response.read().decode("utf-8", "replace")
        return Answer(response.status, body, dict(response.getheaders()))
    finally:
        conn.close()


def all_at_once(job: Callable[[], Answer], times: int) -> list[Answer]:
    barrier = threading.Barrier(times)
    answers: list[Any] = [None] * times

    def run(i: int) -> None:
        barrier.wait()
        try:
            answers[i] = job()
        except Exception as err:  # a lost request shows up in the assertion
            answers[i] = err

    threads = [threading.Thread(target=run, args=(i,)) for i in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return answers


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
def test_four_gunicorn_workers_share_one_limit_in_redis(serve) -> None:
    server = serve(4, **redis_settings())

    answers = all_at_once(lambda: forgot_password(server), 20)

    assert [a for a in answers if not isinstance(a, Answer)] == []
    statuses = Counter(a.status for a in answers)
    assert statuses == {302: 5, 429: 15}, server.log.read_text()
    for answer in answers:
        if answer.status == 429:
            assert_site_429(answer)
    # The requests really were spread over several processes.
    assert len(server.workers_that_answered("POST", FORGOT)) >= 2


@pytest.mark.slow
@needs_redis
def test_two_servers_on_one_database_share_one_limit_in_redis(serve) -> None:
    settings = redis_settings()
    servers = [serve(2, **settings), serve(2, **settings)]

    answers = [forgot_password(servers[i % 2]) for i in range(20)]

    assert [a.status for a in answers] == [302] * 5 + [429] * 15
    assert_site_429(answers[-1])


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_with_redis_unreachable_the_site_stays_up_and_counts_per_process(serve) -> None:
    server = serve(
        1,
        RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{free_port()}/0",  # nobody listens there
        RATELIMIT_PASSWORD_RESET="5/minute",
    )

    answers = [forgot_password(server) for _ in range(7)]

    assert [a.status for a in answers] == [302] * 5 + [429] * 2, server.log.read_text()
    assert_site_429(answers[-1])
    assert "Rate limit storage unreachable" in server.log.read_text()


def _production_app(monkeypatch, tmp_path: Path, **settings: str) -> Flask:
    monkeypatch.setenv("EVENTSITE_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", secrets.token_hex(32))  # production refuses "xxx..."
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
