"""Accounts, sharing and notify-me in a real browser, with mail read from a real SMTP server."""

from __future__ import annotations

import email
import email.policy
import re
import time
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from eventsite.extensions import db
from eventsite.models import AnnouncementSubscriber, User

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("deliver_after_request", "smtp_sink")]

PASSWORD = "correct horse battery staple"


@pytest.fixture
def deliver_after_request(app_config: dict[str, Any]) -> None:
    app_config["MAIL_DELIVER_AFTER_REQUEST"] = True


def wait_for_mail(smtp_sink: Any, count: int, timeout: float = 10.0) -> list[Any]:
    """The first `count` messages the SMTP server received, parsed (waits for them)."""
    _controller, handler = smtp_sink
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with handler.lock:
            if len(handler.messages) >= count:
                return [
                    email.message_from_bytes(e.content, policy=email.policy.default)
                    for e in handler.messages[:count]
                ]
        time.sleep(0.05)
    raise AssertionError(f"expected {count} messages, got {len(handler.messages)}")


def link_in(message: Any, contains: str) -> str:
    text = message.get_body(("plain",)).get_content()
    for url in re.findall(r"https?://[^\s<>\"]+", text):
        if contains in url:
            return url
    raise AssertionError(f"no {contains!r} link in {text}")


def test_sign_up_verify_log_in_log_out(page: Page, live_server: str, smtp_sink) -> None:
    page.goto(live_server + "/")
    page.get_by_role("link", name="Sign up").click()
    page.get_by_label("Name").fill("Ada Lovelace")
    page.get_by_label("Email address").fill("ada@example.org")
    page.get_by_label("Password").fill("lovelace engine 1843")
    page.get_by_label("Country").select_option("GB")
    page.get_by_role("button", name="Sign up").click()
    # Logged in at once, asked to confirm the address.
    expect(page.get_by_text("We have sent a message to ada@example.org")).to_be_visible()
    expect(page.get_by_role("link", name="Ada Lovelace")).to_be_visible()
    expect(page.get_by_text("Please confirm your email address:")).to_be_visible()

    (message,) = wait_for_mail(smtp_sink, 1)
    assert message["To"] == "ada@example.org"
    page.goto(link_in(message, "/account/verify/"))
    expect(page.get_by_text("your email address is confirmed")).to_be_visible()
    expect(page.get_by_text("Please confirm your email address")).to_have_count(0)

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_text("You are logged out.")).to_be_visible()
    page.get_by_role("link", name="Log in").click()
    page.get_by_label("Email address").fill("ada@example.org")
    page.get_by_label("Password").fill("lovelace engine 1843")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("You are logged in.")).to_be_visible()
    expect(page.get_by_role("link", name="Ada Lovelace")).to_be_visible()
    db.session.expire_all()
    assert db.session.scalar(select(User)).is_verified


def test_forgotten_password_end_to_end(page: Page, live_server: str, smtp_sink, make_user) -> None:
    make_user(email="grace@example.org", name="Grace Hopper")
    page.goto(live_server + "/login")
    page.get_by_role("link", name="Forgotten your password?").click()
    page.get_by_label("Email address").fill("grace@example.org")
    page.get_by_role("button", name="Send me a link").click()
    expect(page.get_by_text("If an account uses grace@example.org")).to_be_visible()

    (message,) = wait_for_mail(smtp_sink, 1)
    reset_link = link_in(message, "/password/reset/")
    page.goto(reset_link)
    page.get_by_label("New password", exact=True).fill("a brand new passphrase")
    page.get_by_label("New password again").fill("a brand new passphrase")
    page.get_by_role("button", name="Save the new password").click()
    expect(page.get_by_text("Your password is changed.")).to_be_visible()

    page.get_by_label("Email address").fill("grace@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("The email address or password is not right.")).to_be_visible()
    page.get_by_label("Password").fill("a brand new passphrase")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("link", name="Grace Hopper")).to_be_visible()

    # The link worked once.
    page.goto(reset_link)
    expect(page.get_by_text("already been used")).to_be_visible()


def test_send_to_a_friend_arrives_with_the_event_link(
    page: Page, live_server: str, smtp_sink, make_event
) -> None:
    make_event(title="Digital Economy Summit", slug="digital-economy-summit")
    page.goto(live_server + "/events/digital-economy-summit")
    expect(page.get_by_role("button", name="Copy link")).to_be_visible()
    expect(page.get_by_role("link", name="Email it from your own mail program")).to_have_attribute(
        "href", re.compile(r"^mailto:\?subject=Digital%20Economy%20Summit")
    )
    page.get_by_role("link", name="Or let us send it for you").click()
    expect(page.get_by_role("heading", name="Send this to a friend")).to_be_visible()
    page.get_by_label("Your friend's email address").fill("friend@example.org")
    page.get_by_label("Your name").fill("Ada")
    page.get_by_label("A short note (optional)").fill("Thought of you <3")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_text("Your suggestion is on its way to friend@example.org")).to_be_visible()

    (message,) = wait_for_mail(smtp_sink, 1)
    assert message["To"] == "friend@example.org"
    assert "Digital Economy Summit" in message["Subject"]
    assert link_in(message, "/events/") == live_server + "/events/digital-economy-summit"
    assert "Thought of you <3" in message.get_body(("plain",)).get_content()


def test_notify_me_double_opt_in(page: Page, live_server: str, smtp_sink) -> None:
    page.goto(live_server + "/")
    page.get_by_label("Your email address").fill("fan@example.org")
    page.get_by_role("button", name="Notify me").click()
    expect(page.get_by_text("follow its link to confirm")).to_be_visible()

    (message,) = wait_for_mail(smtp_sink, 1)
    assert message["To"] == "fan@example.org"
    assert "/notify/unsubscribe/" in message.get_body(("plain",)).get_content()
    page.goto(link_in(message, "/notify/confirm/"))
    page.get_by_role("button", name="Yes, tell me").click()
    expect(page.get_by_text("you are on the list")).to_be_visible()
    db.session.expire_all()
    assert db.session.scalar(select(AnnouncementSubscriber)).is_confirmed

    page.goto(link_in(message, "/notify/unsubscribe/"))
    expect(
        page.get_by_text("Stop announcement emails from eventsite to fan@example.org?")
    ).to_be_visible()
    page.get_by_role("button", name="Unsubscribe").click()
    expect(page.get_by_text("fan@example.org is unsubscribed")).to_be_visible()
    db.session.rollback()  # end the read above: a new transaction sees the server's commit
    assert db.session.scalar(select(AnnouncementSubscriber)) is None
