"""Request bodies have a ceiling on every page (MAX_CONTENT_LENGTH, 1 MiB) and multipart
forms a ceiling per text part: anything larger gets the site's own "Too large" page (413)
before the body is read, and nothing is written. Only the workspace's picture uploads are
allowed more."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from eventsite.extensions import db
from eventsite.models import EventShare, OutboxMessage, User

MIB = 1024 * 1024
TOO_LARGE = "What you sent is too large: this page accepts at most 1024 kB."


def rows(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def assert_too_large_page(response, text: str = TOO_LARGE) -> None:
    assert response.status_code == 413
    html = response.get_data(as_text=True)
    assert '<h1 id="error-heading">Too large</h1>' in html
    assert text in html
    assert 'href="/events/"' in html  # the site's layout, with its way back


def test_a_share_over_one_mebibyte_is_refused_before_it_is_read(app, client, make_event) -> None:
    event = make_event()
    started = time.perf_counter()
    response = client.post(
        f"/events/{event.slug}/share",
        # Words, not one long run: what the old link pattern scanned in linear time, so
        # without the ceiling the form would answer (a 422) rather than hang.
        data={"email": "friend@example.org", "name": "Ada", "note": "a " * (MIB // 2)},
    )
    assert time.perf_counter() - started < 1.0
    assert_too_large_page(response)
    assert rows(EventShare) == 0
    assert rows(OutboxMessage) == 0


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/signup", "name"),
        ("/login", "email"),
        ("/password/forgot", "email"),
        ("/notify", "email"),
    ],
)
def test_every_public_form_has_the_ceiling(app, client, path, field) -> None:
    response = client.post(path, data={field: "x" * (MIB + 1)})
    assert_too_large_page(response)
    assert rows(User) == 0
    assert rows(OutboxMessage) == 0


def test_a_text_part_over_the_form_memory_limit_is_refused(app, client, make_event) -> None:
    """Under the request ceiling, but one multipart text part too big to hold in memory."""
    event = make_event()
    assert app.config["MAX_FORM_MEMORY_SIZE"] < 300_000 < app.config["MAX_CONTENT_LENGTH"]
    response = client.post(
        f"/events/{event.slug}/share",
        data={"email": "friend@example.org", "name": "Ada", "note": "a " * 150_000},
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
    assert "Too large" in response.get_data(as_text=True)
    assert rows(EventShare) == 0


def test_long_text_is_refused_by_its_length_before_the_link_check(app, client, make_event):
    """Under the ceiling the form answers, its length checks first: the link pattern never
    scans the long name (the old pattern took seconds on it, quadratically more beyond)."""
    event = make_event()
    started = time.perf_counter()
    response = client.post(
        f"/events/{event.slug}/share",
        data={"email": "friend@example.org", "name": "a-" * 25_000, "note": "a " * 250_000},
    )
    assert time.perf_counter() - started < 1.0
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Field cannot be longer than 80 characters." in html
    assert "Field cannot be longer than 500 characters." in html
    assert len(html) < 50_000  # the fields show their first 80 and 500 characters only
    assert rows(EventShare) == 0
