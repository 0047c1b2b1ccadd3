"""An organiser gives an organisation a logo and an event a cover through the real forms;
a visitor sees them on the card, the event page and in the link preview."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from eventsite.extensions import db
from eventsite.models import EventStatus, JoinedVia, Membership

from .. import pictures

pytestmark = [pytest.mark.e2e]

PASSWORD = "correct horse battery staple"


def _loaded(page: Page, selector: str) -> None:
    """The picture arrived and was decoded (not blocked by the CSP, not a broken link)."""
    image = page.locator(selector).first
    expect(image).to_be_visible()
    image.scroll_into_view_if_needed()
    page.wait_for_function(
        "el => el.complete && el.naturalWidth > 0", arg=image.element_handle(), timeout=10_000
    )


def test_an_organiser_uploads_a_cover_and_a_logo_that_visitors_see(
    page: Page,
    live_server: str,
    make_organisation,
    make_user,
    make_event,
    tmp_path: Path,
    screenshots: Path,
) -> None:
    organisation = make_organisation(name="Planet Society", slug="planet-society")
    organiser = make_user(email="organiser@example.org", name="Olga Organiser")
    db.session.add(
        Membership(
            user_id=organiser.id, organisation_id=organisation.id, joined_via=JoinedVia.INVITATION
        )
    )
    event = make_event(
        title="Oceans Summit",
        slug="oceans-summit",
        organisation=organisation,
        status=EventStatus.PUBLISHED,
    )
    db.session.commit()
    cover = tmp_path / "cover.jpg"
    cover.write_bytes(pictures.jpeg_with_gps(1800, 1000))
    logo = tmp_path / "logo.png"
    logo.write_bytes(pictures.png(400, 400, colour="navy"))

    page.goto(live_server + "/login")
    page.get_by_label("Email address").fill(organiser.email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    # The logo, on the organisation's profile form (the description defaults to the name).
    page.goto(f"{live_server}/manage/organisations/{organisation.id}")
    page.get_by_label("Logo", exact=True).set_input_files(str(logo))
    page.get_by_role("button", name="Save").first.click()
    expect(page.get_by_text("Saved.")).to_be_visible()
    _loaded(page, "img.org-logo")

    # The cover, on the event's Picture page.
    page.goto(f"{live_server}/manage/events/{event.id}")
    page.get_by_role("link", name="Picture").click()
    page.get_by_label("Cover picture").set_input_files(str(cover))
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Describe the picture for people who cannot see it.")).to_be_visible()
    page.get_by_label("Cover picture").set_input_files(str(cover))
    page.get_by_label("Describe the picture").fill("Waves breaking on a teal shore")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved.")).to_be_visible()
    _loaded(page, ".cover-preview img")

    # What a visitor sees.
    page.context.clear_cookies()
    page.goto(live_server + "/events/")
    card = page.locator(".event-card", has_text="Oceans Summit")
    expect(card.get_by_role("img", name="Waves breaking on a teal shore")).to_be_visible()
    _loaded(page, ".event-card-cover img")
    page.screenshot(path=screenshots / "listing-with-covers.png", full_page=False)

    page.goto(live_server + "/events/oceans-summit")
    _loaded(page, ".event-cover img")
    og_image = page.locator('meta[property="og:image"]').get_attribute("content")
    assert og_image and "/images/" in og_image and og_image.endswith(".jpg")
    alt = page.locator('meta[property="og:image:alt"]').get_attribute("content")
    assert alt == "Waves breaking on a teal shore"
    twitter = page.locator('meta[name="twitter:card"]').get_attribute("content")
    assert twitter == "summary_large_image"
    response = page.request.get(og_image.replace("http://localhost", live_server))
    assert response.ok
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    served = pictures.opened(response.body())
    assert not served.getexif()  # the camera's GPS position is gone
    page.screenshot(path=screenshots / "event-with-cover.png", full_page=False)

    page.goto(live_server + "/organisations/planet-society")
    expect(page.get_by_role("img", name="Planet Society")).to_be_visible()
    _loaded(page, ".org-logo-head img")
