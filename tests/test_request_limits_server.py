"""Oversized "send this to a friend" requests against the real server: gunicorn on an
SQLite file, four 1 MB POSTs at once. Each is refused within a second, and the health
check keeps answering meanwhile (one such request used to hold a worker for minutes)."""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from eventsite.extensions import db

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
MIB = 1024 * 1024
EVENT_SLUG = "climate-forum"


class Server:
    def __init__(self, port: int, log: Path) -> None:
        self.port, self.log = port, log

    def request(
        self, method: str, path: str, body: bytes | None = None, timeout: float = 30
    ) -> tuple[int, str, float]:
        """(status, body, seconds) on a fresh connection."""
        headers = {"Connection": "close"}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            text = response.read().decode("utf-8", "replace")
            return response.status, text, time.perf_counter() - started
        finally:
            conn.close()


@pytest.fixture
def event(make_event):
    return make_event(slug=EVENT_SLUG)


@pytest.fixture
def gunicorn(
    app, event, app_config: dict[str, Any], backend: str, tmp_path: Path
) -> Iterator[Server]:
    """The site under gunicorn (2 workers x 4 threads) on the test's SQLite file."""
    if backend != "sqlite":
        pytest.skip("one backend is enough: the request never reaches the database")
    db.session.commit()
    db.session.remove()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {
        **os.environ,
        "EVENTSITE_ENV": "development",
        "DATABASE_URL": app_config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": app_config["SECRET_KEY"],
        "EVENTSITE_WTF_CSRF_ENABLED": "false",
        "EVENTSITE_RATELIMIT_ENABLED": "false",
        "EVENTSITE_MAIL_DELIVER_AFTER_REQUEST": "false",
        "EVENTSITE_BASE_URL": f"http://127.0.0.1:{port}",
    }
    log = tmp_path / "gunicorn.log"
    command = [
        sys.executable, "-m", "gunicorn", "-w", "2", "--threads", "4",
        "-b", f"127.0.0.1:{port}", "--log-level", "warning", "--timeout", "120", "wsgi:app",
    ]  # fmt: skip
    with log.open("wb") as out:
        # Its own process group: a worker stuck in a request (the old quadratic pattern ran
        # for hours) is killed with the master, not left behind.
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(port, log)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"gunicorn exited:\n{log.read_text()}")
            try:
                if server.request("GET", "/healthz", timeout=2)[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"gunicorn did not start:\n{log.read_text()}")
            time.sleep(0.2)
        time.sleep(1.0)  # every worker booted
        yield server
    finally:
        process.send_signal(signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=20)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # the group: master and workers
        process.wait()
        db.session.remove()


def _at_once(jobs: list[Any]) -> list[Any]:
    """Run the callables from one thread each, released together; results in order."""
    barrier = threading.Barrier(len(jobs))
    results: list[Any] = [None] * len(jobs)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = jobs[i]()
        except Exception as err:  # a lost request shows up here
            results[i] = err

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


class HealthWatch:
    """Asks /healthz every 50 ms in the background, keeping status and time of each."""

    def __init__(self, server: Server) -> None:
        self.server, self.answers = server, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                status, _body, seconds = self.server.request("GET", "/healthz", timeout=10)
            except OSError as err:
                status, seconds = repr(err), 10.0
            self.answers.append((status, seconds))
            time.sleep(0.05)

    def __enter__(self) -> HealthWatch:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        time.sleep(0.2)
        self._stop.set()
        self._thread.join(timeout=30)


def _share_body(note_bytes: int, name: str = "Ada") -> bytes:
    return urlencode(
        {"email": "friend@example.org", "name": name, "note": "a" * note_bytes}
    ).encode()


def test_four_one_megabyte_shares_at_once_are_refused_quickly(gunicorn) -> None:
    path = f"/events/{EVENT_SLUG}/share"
    body = _share_body(MIB)  # 1 MiB of note: over MAX_CONTENT_LENGTH with the other fields
    with HealthWatch(gunicorn) as health:
        results = _at_once([lambda: gunicorn.request("POST", path, body, timeout=10)] * 4)
    for result in results:
        assert not isinstance(result, Exception), result
        status, text, seconds = result
        assert status == 413
        assert "Too large" in text
        assert seconds < 1.0
    assert health.answers
    assert {status for status, _seconds in health.answers} == {200}
    assert max(seconds for _status, seconds in health.answers) < 1.0


def test_four_bodies_just_under_the_ceiling_are_refused_by_length_quickly(gunicorn) -> None:
    """Under MAX_CONTENT_LENGTH the form answers; its length checks come before the link
    pattern, so the ~1 MB of name and note is never scanned."""
    path = f"/events/{EVENT_SLUG}/share"
    body = _share_body(600_000, name="a-" * 200_000)
    assert len(body) < MIB
    with HealthWatch(gunicorn) as health:
        results = _at_once([lambda: gunicorn.request("POST", path, body, timeout=10)] * 4)
    for result in results:
        assert not isinstance(result, Exception), result
        status, text, seconds = result
        assert status == 422
        assert "Field cannot be longer than 500 characters." in text
        assert len(text) < 50_000  # the page does not echo the megabyte back
        assert seconds < 1.0
    assert {status for status, _seconds in health.answers} == {200}
