"""Oversized "send this to a friend" requests against the real server: gunicorn on an
SQLite file, four 1 MB POSTs at once. Each is refused within a second, and the health
check keeps answering meanwhile (one such request used to hold a worker for minutes)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from urllib.parse import urlencode

import pytest

from .servers import Answer, Gunicorn, at_once

pytestmark = pytest.mark.slow

MIB = 1024 * 1024
EVENT_SLUG = "climate-forum"


@pytest.fixture
def server(make_event, backend: str, gunicorn: Callable[..., Gunicorn]) -> Gunicorn:
    """The site under gunicorn (2 workers x 4 threads) on the test's SQLite file."""
    if backend != "sqlite":
        pytest.skip("one backend is enough: the request never reaches the database")
    make_event(slug=EVENT_SLUG)
    return gunicorn(workers=2, threads=4)


class HealthWatch:
    """Asks /healthz every 50 ms in the background, keeping status and time of each."""

    def __init__(self, server: Gunicorn) -> None:
        self.server, self.answers = server, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                answer = self.server.request("GET", "/healthz", timeout=10)
                status, seconds = answer.status, answer.seconds
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


def _four_shares_at_once(
    server: Gunicorn, body: bytes
) -> tuple[list[Answer], list[tuple[int | str, float]]]:
    """Four "send this to a friend" POSTs at once: their answers, and the health check's
    meanwhile (status, seconds)."""
    path = f"/events/{EVENT_SLUG}/share"
    with HealthWatch(server) as health:
        results = at_once([lambda: server.request("POST", path, body, timeout=10)] * 4)
    answers = [result for result in results if isinstance(result, Answer)]
    assert answers == results  # no request lost
    assert health.answers
    return answers, health.answers


def test_four_one_megabyte_shares_at_once_are_refused_quickly(server) -> None:
    # 1 MiB of note: over MAX_CONTENT_LENGTH with the other fields.
    answers, health = _four_shares_at_once(server, _share_body(MIB))
    for answer in answers:
        assert answer.status == 413
        assert "Too large" in answer.body
        assert answer.seconds < 1.0
    assert {status for status, _seconds in health} == {200}
    assert max(seconds for _status, seconds in health) < 1.0


def test_four_bodies_just_under_the_ceiling_are_refused_by_length_quickly(server) -> None:
    """Under MAX_CONTENT_LENGTH the form answers; its length checks come before the link
    pattern, so the ~1 MB of name and note is never scanned."""
    body = _share_body(600_000, name="a-" * 200_000)
    assert len(body) < MIB
    answers, health = _four_shares_at_once(server, body)
    for answer in answers:
        assert answer.status == 422
        assert "Field cannot be longer than 500 characters." in answer.body
        assert len(answer.body) < 50_000  # the page does not echo the megabyte back
        assert answer.seconds < 1.0
    assert {status for status, _seconds in health} == {200}
