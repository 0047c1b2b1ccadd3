"""The public pages in a real browser: placeholder, listing, filters, event page, phones."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from eventsite.demo import data, load
from eventsite.events import services
from eventsite.events.models import EventStatus
from eventsite.extensions import db
from eventsite.timeutil import utcnow

pytestmark = pytest.mark.e2e

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 812}
FLAGSHIP = data.demo().events[0]
NO_HORIZONTAL_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"
PLACEHOLDER = "We are creating some awesome events for you."


def clock(hhmm: str) -> re.Pattern[str]:
    """'14:00' as the page may write it: '14:00' or '2:00 pm'."""
    hours, minutes = (int(part) for part in hhmm.split(":"))
    twelve = (hours - 1) % 12 + 1
    half = "am" if hours < 12 else "pm"
    return re.compile(rf"\b(0?{hours}:{minutes:02d}|{twelve}:{minutes:02d}\s?{half})", re.I)


@pytest.fixture
def desktop(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=DESKTOP, timezone_id="Europe/Zurich", locale="en-GB")
    yield context.new_page()
    context.close()


@pytest.fixture
def phone_context(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        timezone_id="Africa/Nairobi",
        locale="en-GB",
    )
    yield context
    context.close()


def test_empty_site_shows_the_placeholder(desktop: Page, live_server: str, screenshots: Path):
    desktop.goto(live_server + "/")
    expect(desktop.get_by_text("Coming soon", exact=True)).to_be_visible()
    expect(desktop.get_by_text(PLACEHOLDER)).to_be_visible()
    expect(desktop.get_by_role("heading", level=1)).to_have_text("eventsite")
    desktop.screenshot(path=screenshots / "placeholder.png", full_page=True)


def test_publishing_an_event_turns_home_into_the_listing(
    page: Page, live_server: str, make_event
) -> None:
    event = make_event(
        title="Forum on Open Laboratories",
        status=EventStatus.DRAFT,
        published_at=None,
        starts_at=utcnow() + timedelta(days=20),
    )
    page.goto(live_server + "/")
    expect(page.get_by_text(PLACEHOLDER)).to_be_visible()
    expect(page.get_by_text("Forum on Open Laboratories")).to_have_count(0)

    services.publish_event(event, utcnow())
    db.session.commit()

    page.reload()
    expect(page.get_by_role("heading", name="Upcoming events", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Forum on Open Laboratories")).to_be_visible()
    expect(page.get_by_text(PLACEHOLDER)).to_have_count(0)


def test_filtering_by_topic_narrows_the_listing(page: Page, live_server: str, demo_data) -> None:
    listed = [e for e in data.demo().events if e.status != EventStatus.DRAFT and e.day > 0]
    connected = [e for e in listed if "connectivity" in e.topics]
    others = [e for e in listed if "connectivity" not in e.topics]
    assert 0 < len(connected) < len(listed)

    page.goto(live_server + "/events/")
    expect(page.get_by_role("heading", name=f"{len(listed)} upcoming events")).to_be_visible()

    page.get_by_label("Topic", exact=True).select_option(label="Connectivity")
    page.get_by_role("button", name="Show events").click()

    expect(page).to_have_url(re.compile(r"[?&]topic=connectivity(&|$)"))
    expect(page.get_by_role("heading", name=f"{len(connected)} upcoming events")).to_be_visible()
    for spec in connected:
        expect(page.get_by_role("link", name=spec.title, exact=True)).to_be_visible()
    for spec in others:
        expect(page.get_by_role("link", name=spec.title, exact=True)).to_have_count(0)
    expect(page.get_by_label("Topic", exact=True)).to_have_value("connectivity")


def test_event_page_shows_the_agenda(page: Page, live_server: str, demo_data) -> None:
    page.goto(f"{live_server}/events/{FLAGSHIP.slug}")
    expect(page.get_by_role("heading", level=1)).to_have_text(FLAGSHIP.title)

    agenda = page.get_by_role("region", name="Agenda")
    expect(agenda).to_be_visible()
    expect(agenda.get_by_role("heading", level=3)).to_have_count(FLAGSHIP.days)
    for agenda_session in FLAGSHIP.sessions:
        session = agenda.get_by_role("listitem").filter(
            has=page.get_by_role("heading", name=agenda_session.title, exact=True)
        )
        expect(session).to_contain_text(clock(agenda_session.start))
        expect(session).to_contain_text(agenda_session.room)
    expect(agenda.get_by_text("Amara Okonkwo-Reyes").first).to_be_visible()

    speakers = page.get_by_role("region", name="Speakers", exact=True)
    expect(speakers.get_by_text("Nobel laureate in Physics").first).to_be_visible()


@pytest.mark.parametrize("where", ["placeholder", "home", "listing", "event"])
def test_phone_has_no_horizontal_scrolling(
    browser: Browser, live_server: str, app, where: str
) -> None:
    if where != "placeholder":
        load.load_programme(utcnow())
        db.session.commit()
    path = {
        "placeholder": "/",
        "home": "/",
        "listing": "/events/?when=past",
        "event": f"/events/{FLAGSHIP.slug}",
    }[where]
    # A plain narrow window: with mobile emulation Chromium would zoom out to fit wide
    # content, hiding the very overflow this test looks for.
    context = browser.new_context(viewport=PHONE)
    try:
        page = context.new_page()
        page.goto(live_server + path)
        assert page.evaluate(NO_HORIZONTAL_SCROLL), page.evaluate(
            "[document.documentElement.scrollWidth, window.innerWidth]"
        )
    finally:
        context.close()


def test_screenshots_of_the_demo(
    desktop: Page, phone_context: BrowserContext, live_server: str, demo_data, screenshots: Path
) -> None:
    """The listing and the flagship event, desktop and phone (`make screenshots` refreshes the
    README's copies in docs/screenshots/)."""
    desktop.goto(live_server + "/")
    expect(desktop.get_by_role("heading", name="Upcoming events", exact=True)).to_be_visible()
    desktop.screenshot(path=screenshots / "listing.png", full_page=True)

    desktop.goto(f"{live_server}/events/{FLAGSHIP.slug}")
    expect(desktop.get_by_role("region", name="Agenda")).to_be_visible()
    desktop.screenshot(path=screenshots / "event.png", full_page=True)

    phone = phone_context.new_page()
    phone.goto(f"{live_server}/events/{FLAGSHIP.slug}")
    expect(phone.get_by_role("heading", level=1)).to_be_visible()
    phone.screenshot(path=screenshots / "event-phone.png")
