"""Every response tells the browser to be strict: CSP, nosniff, no framing, a referrer policy,
and HSTS over HTTPS in production. What the policy makes a browser refuse is tested in a real
browser: tests/e2e/test_security_headers_e2e.py."""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from eventsite.security_headers import CONTENT_SECURITY_POLICY

STRICT = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


def assert_strict(response: Any) -> None:
    for name, value in STRICT.items():
        assert response.headers.get(name) == value, name
    assert "Referrer-Policy" in response.headers


@pytest.mark.parametrize(
    "path", ["/", "/events/", "/events/ocean-forum", "/login", "/signup", "/events/missing"]
)
def test_pages_carry_the_headers(client, make_event, path) -> None:
    make_event(slug="ocean-forum")
    response = client.get(path)
    assert response.status_code in (200, 404)
    assert_strict(response)
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


@pytest.mark.parametrize(
    "path",
    [
        "/password/reset/not-a-real-token",
        "/account/verify/not-a-real-token",
        "/notify/confirm/not-a-real-token",
        "/manage/invitations/not-a-real-token",
        "/account/calendar/not-a-real-token.ics",
    ],
)
def test_an_address_with_a_secret_sends_no_referrer(client, path) -> None:
    response = client.get(path)
    assert response.status_code in (302, 400, 404)  # refused, or off to log in first
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.fixture
def page_cache_on(app_config: dict[str, Any]) -> None:
    app_config["PAGE_CACHE_ENABLED"] = True


def test_cached_pages_carry_them_on_both_paths(page_cache_on, app, client, make_event) -> None:
    make_event()
    assert client.get("/events/").headers["X-Page-Cache"] == "miss"
    fast = client.get("/events/")  # no cookie: the WSGI fast path
    assert fast.headers["X-Page-Cache"] == "hit"
    assert_strict(fast)
    client.set_cookie("theme", "dark")  # a cookie: through Flask
    slow = client.get("/events/")
    assert slow.headers["X-Page-Cache"] == "hit"
    assert_strict(slow)
    assert slow.headers.getlist("Content-Security-Policy") == [CONTENT_SECURITY_POLICY]


def test_no_hsts_unless_enabled(client) -> None:
    assert "Strict-Transport-Security" not in client.get("/", base_url="https://localhost").headers


@pytest.fixture
def hsts(app_config: dict[str, Any]) -> None:
    app_config["HSTS_ENABLED"] = True


def test_hsts_over_https_only(hsts, client) -> None:
    secure = client.get("/", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert "Strict-Transport-Security" not in client.get("/").headers


def test_production_enables_hsts(monkeypatch, tmp_path) -> None:
    from eventsite import create_app

    monkeypatch.setenv("EVENTSITE_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", secrets.token_hex(32))
    monkeypatch.setenv("EVENTSITE_TRUSTED_HOSTS", '["events.example.org"]')
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'p.sqlite3'}")
    assert create_app().config["HSTS_ENABLED"] is True
