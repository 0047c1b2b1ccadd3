"""Oversized "send this to a friend" requests against the real server: gunicorn on an
SQLite file, four 1 MB POSTs at once. Each is refused, and the health check keeps
answering meanwhile (one such request used to hold a worker for minutes).

No timing is asserted (speed lives in `make bench`): every request here has a client
timeout (`TIMEOUT`), far above a normal answer and far below the minutes a scanned
megabyte took; a request that outlives it fails the test as a lost answer, or as a health
check that did not answer."""

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
TIMEOUT = 10  # seconds: see the module's docstring


@pytest.fixture
def server(make_event, backend: str, gunicorn: Callable[..., Gunicorn]) -> Gunicorn:
    """The site under gunicorn (2 workers x 4 threads) on the test's SQLite file."""
    if backend != "sqlite":
        pytest.skip("one backend is enough: the request never reaches the database")
    make_event(slug=EVENT_SLUG)
    return gunicorn(workers=2, threads=4)


class HealthWatch:
    """Asks /healthz every 50 ms in the background, keeping the status of each answer."""

    def __init__(self, server: Gunicorn) -> None:
        self.server = server
        self.answers: list[int | str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                status: int | str = self.server.request("GET", "/healthz", timeout=TIMEOUT).status
            except OSError as err:  # no answer within TIMEOUT
                status = repr(err)
            self.answers.append(status)
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


def _four_shares_at_once(server: Gunicorn, body: bytes) -> tuple[list[Answer], list[int | str]]:
    """Four "send this to a friend" POSTs at once: their answers, and the health check's
    statuses meanwhile."""
    path = f"/events/{EVENT_SLUG}/share"
    with HealthWatch(server) as health:
        results = at_once([lambda: server.request("POST", path, body, timeout=TIMEOUT)] * 4)
    answers = [result for result in results if isinstance(result, Answer)]
    assert answers == results  # no request lost
    assert health.answers
    return answers, health.answers


def test_four_one_megabyte_shares_at_once_are_refused_while_the_site_answers(server) -> None:
    # 1 MiB of note: over MAX_CONTENT_LENGTH with the other fields.
    answers, health = _four_shares_at_once(server, _share_body(MIB))
    for answer in answers:
        assert answer.status == 413
        assert "Too large" in answer.body
    assert set(health) == {200}


def test_four_bodies_just_under_the_ceiling_are_refused_by_length(server) -> None:
    """Under MAX_CONTENT_LENGTH the form answers; its length checks come before the link
    pattern, so the ~1 MB of name and note is never scanned."""
    body = _share_body(600_000, name="a-" * 200_000)
    assert len(body) < MIB
    answers, health = _four_shares_at_once(server, body)
    for answer in answers:
        assert answer.status == 422
        assert "Field cannot be longer than 500 characters." in answer.body
        assert len(answer.body) < 50_000  # the page does not echo the megabyte back
    assert set(health) == {200}
