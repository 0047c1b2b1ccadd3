"""Logging in by emailed link on the way to an event's registration form, in a real
browser, with the mail read from a real SMTP server."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from .test_accounts_e2e import link_in, wait_for_mail

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("deliver_after_request", "smtp_sink")]


@pytest.fixture
def deliver_after_request(app_config: dict[str, Any]) -> None:
    app_config["MAIL_DELIVER_AFTER_REQUEST"] = True


def test_from_an_event_by_emailed_link_back_to_its_registration_form(
    page: Page, live_server: str, smtp_sink, make_event, make_user
) -> None:
    make_user(email="grace@example.org", name="Grace Hopper")
    make_event(title="Open Science Forum", slug="open-science-forum", capacity=20)
    form_url = f"{live_server}/events/open-science-forum/register"

    page.goto(live_server + "/events/open-science-forum")
    page.get_by_role("link", name="Register", exact=True).click()
    if "/login" not in page.url:  # a registration form that visitors may see first
        page.get_by_role("link", name="Log in", exact=True).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Log in to register for Open Science Forum"
    )

    # The second way, with the keyboard only: type the address, Enter sends it.
    page.get_by_label("Send the link to").fill("grace@example.org")
    page.get_by_label("Send the link to").press("Enter")
    expect(page.get_by_text("If an account uses grace@example.org")).to_be_visible()

    (message,) = wait_for_mail(smtp_sink, 1)
    assert message["To"] == "grace@example.org"
    page.goto(link_in(message, "/login/link/"))
    expect(page.get_by_text("Log in as grace@example.org.")).to_be_visible()
    page.keyboard.press("Enter")  # the button has the focus

    expect(page).to_have_url(form_url)
    expect(page.get_by_role("heading", name="Register for Open Science Forum")).to_be_visible()
    expect(page.get_by_role("link", name="Grace Hopper")).to_be_visible()
    expect(page.get_by_role("button", name="Register")).to_be_visible()

    # The link worked once.
    page.goto(link_in(message, "/login/link/"))
    expect(page.get_by_text("This link has already been used")).to_be_visible()
