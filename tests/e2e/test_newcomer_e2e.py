"""A visitor without an account registers in one step in a real browser: one form, one
email link (read from a real SMTP server), a confirmed place."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from eventsite.extensions import db
from eventsite.models import Question, Registration, User

from .test_accounts_e2e import link_in, wait_for_mail

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("deliver_after_request", "smtp_sink")]


@pytest.fixture
def deliver_after_request(app_config: dict[str, Any]) -> None:
    app_config["MAIL_DELIVER_AFTER_REQUEST"] = True


def test_a_visitor_gets_a_confirmed_place_with_one_form_and_one_link(
    page: Page, live_server: str, smtp_sink, make_event, screenshots: Path
) -> None:
    event = make_event(title="Oceans Summit", capacity=50)
    db.session.add(Question(event_id=event.id, label="Dietary needs"))
    db.session.commit()
    slug = event.slug

    page.goto(f"{live_server}/events/{slug}")
    expect(page.get_by_text("No account needed.")).to_be_visible()
    page.locator(".registration-box").get_by_role("link", name="Register").click()
    expect(page.get_by_role("link", name="Log in").last).to_be_visible()
    page.get_by_label("Name").fill("Ada Lovelace")
    page.get_by_label("Email address").fill("ada@example.org")
    page.get_by_label("Affiliation (optional)").fill("Analytical Engines Ltd")
    page.get_by_label("Country (optional)").select_option("GB")
    page.get_by_label("Dietary needs").fill("Vegetarian")
    page.screenshot(path=screenshots / "register-newcomer.png", full_page=True)
    page.locator("form.registration-form button[type=submit]").click()

    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    expect(page.get_by_text("We are holding your place until")).to_be_visible()
    (message,) = wait_for_mail(smtp_sink, 1)
    assert message["To"] == "ada@example.org"

    page.goto(link_in(message, "/registrations/confirm/"))

    expect(page.get_by_text("your email address is confirmed")).to_be_visible()
    expect(page.get_by_text("Confirmed", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Choose a password")).to_be_visible()
    wait_for_mail(smtp_sink, 2)  # the confirmation, with its calendar invitation
    page.goto(f"{live_server}/account/")
    expect(
        page.locator(".my-events-list").get_by_role("link", name="Oceans Summit")
    ).to_be_visible()

    db.session.rollback()  # see what the server wrote
    user = db.session.scalar(select(User))
    assert user.is_verified and user.affiliation == "Analytical Engines Ltd"
    registration = db.session.scalar(select(Registration))
    assert registration.status == "confirmed" and registration.hold_expires_at is None
