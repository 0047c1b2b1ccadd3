"""The API's pages in a real browser: an organiser makes a token with the keyboard on a
320 px screen and it works at once; the reference page fits the same screen."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from eventsite.extensions import db
from eventsite.models import JoinedVia, Membership

pytestmark = [pytest.mark.e2e]

PASSWORD = "correct horse battery staple"
NARROW = {"width": 320, "height": 640}
NO_HORIZONTAL_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"


def test_organiser_makes_a_token_by_keyboard_at_320px(
    browser: Browser, live_server: str, make_organisation, make_user
) -> None:
    organisation = make_organisation(name="Planet Society", slug="planet-society")
    organiser = make_user(email="organiser@example.org", name="Olga Organiser")
    db.session.add(
        Membership(
            user_id=organiser.id, organisation_id=organisation.id, joined_via=JoinedVia.INVITATION
        )
    )
    db.session.commit()
    context = browser.new_context(viewport=NARROW)
    try:
        page = context.new_page()
        page.goto(live_server + "/login")
        page.get_by_label("Email address").fill(organiser.email)
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.goto(f"{live_server}/manage/organisations/{organisation.id}")
        page.get_by_role("link", name="API tokens").click()

        page.get_by_label("Name").fill("Door app")
        page.get_by_label("Read and write", exact=False).check()
        page.get_by_label("Name").focus()
        page.keyboard.press("Enter")

        token = page.get_by_role("textbox", name="Token", exact=True)
        expect(token).to_be_visible()
        secret = token.input_value()
        assert secret.startswith("evt_")
        assert page.evaluate(NO_HORIZONTAL_SCROLL)
        expect(page.get_by_role("cell", name="Read and write")).to_be_visible()

        page.goto(live_server + "/api/docs")
        expect(page.get_by_role("heading", name="API reference")).to_be_visible()
        assert page.evaluate(NO_HORIZONTAL_SCROLL), page.evaluate(
            "[document.documentElement.scrollWidth, window.innerWidth]"
        )
        response = context.request.get(
            live_server + "/api/v1/organiser/events",
            headers={"Authorization": f"Bearer {secret}"},
        )
        assert response.status == 200
    finally:
        context.close()
