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
PLACEHOLDER = "Our forums and conferences will be announced here soon."


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


# --- phone first (issue #14) -----------------------------------------------------------------

SMALL_PHONE = {"width": 375, "height": 667}


@pytest.fixture
def small_phone(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(
        viewport=SMALL_PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="en-GB"
    )
    yield context.new_page()
    context.close()


def in_first_screen(page: Page, selector: str) -> bool:
    """Whether the element's top edge is inside the first screen, without scrolling."""
    box = page.locator(selector).first.bounding_box()
    assert box is not None, selector
    return box["y"] >= 0 and box["y"] + min(box["height"], 44) <= SMALL_PHONE["height"]


def test_phone_sees_an_event_card_first_and_folded_filters(
    small_phone: Page, live_server: str, demo_data, screenshots: Path
) -> None:
    page = small_phone
    page.goto(live_server + "/events/")
    filters = page.locator("details.filters-panel")
    expect(filters.locator("summary")).to_have_text(re.compile("Filter"))
    expect(page.get_by_label("Topic", exact=True)).to_be_hidden()
    assert in_first_screen(page, ".event-card-title a")
    expect(page.locator(".event-card .badge-places").first).to_be_visible()
    page.screenshot(path=screenshots / "listing-phone.png")

    # One tap opens the filters; the chosen ones are named on the closed control.
    filters.locator("summary").click()
    page.get_by_label("Format", exact=True).select_option(label="Online")
    page.get_by_role("button", name="Show events").click()
    expect(page).to_have_url(re.compile(r"[?&]format=online(&|$)"))
    expect(page.locator(".filters-in-use")).to_have_text("Online")


def test_phone_sees_the_register_button_first_on_an_event_page(
    small_phone: Page, live_server: str, demo_data, screenshots: Path
) -> None:
    page = small_phone
    page.goto(f"{live_server}/events/{FLAGSHIP.slug}")
    register = page.locator(".registration-box .button")
    expect(register).to_be_visible()
    page.screenshot(path=screenshots / "event-phone-first-screen.png")
    assert in_first_screen(page, ".registration-box .button")
    # Calendar and sharing come before the description and the agenda.
    order = page.evaluate(
        """() => ['.add-to-calendar', '.share-box', '#about-heading', '#agenda-heading']
            .map((s) => document.querySelector(s).getBoundingClientRect().top)"""
    )
    assert order == sorted(order), order
    # The agenda is folded by day: the days are there, their sessions one tap away.
    days = page.locator("details.agenda-day-group")
    expect(days).to_have_count(FLAGSHIP.days)
    first_session = FLAGSHIP.sessions[0].title
    expect(page.get_by_role("heading", name=first_session, exact=True)).to_be_hidden()
    days.first.locator("summary").click()
    expect(page.get_by_role("heading", name=first_session, exact=True)).to_be_visible()


def test_tap_targets_are_at_least_44_px(small_phone: Page, live_server: str, demo_data) -> None:
    page = small_phone
    page.goto(f"{live_server}/events/{FLAGSHIP.slug}")
    small = page.evaluate(
        """() => [...document.querySelectorAll(
                '.registration-box .button, .calendar-links a, .share-box a, .share-box button,'
                + ' .agenda-day-group > summary')]
            .filter((e) => e.offsetParent !== null)
            .map((e) => [e.textContent.trim().slice(0, 30), e.getBoundingClientRect().height])
            .filter(([, h]) => h < 44)"""
    )
    assert small == []
    page.goto(live_server + "/events/")
    height = page.locator("details.filters-panel > summary").bounding_box()["height"]
    assert height >= 44


def test_desktop_shows_filters_and_agenda_open(desktop: Page, live_server: str, demo_data) -> None:
    desktop.goto(live_server + "/events/")
    expect(desktop.get_by_label("Topic", exact=True)).to_be_visible()
    expect(desktop.locator("details.filters-panel > summary")).to_be_hidden()
    desktop.goto(f"{live_server}/events/{FLAGSHIP.slug}")
    title = FLAGSHIP.sessions[-1].title
    expect(desktop.get_by_role("heading", name=title, exact=True)).to_be_visible()


def test_month_view_is_a_grid_on_desktop_and_an_agenda_on_a_phone(
    desktop: Page, small_phone: Page, live_server: str, demo_data, screenshots: Path
) -> None:
    when = utcnow() + timedelta(days=FLAGSHIP.day)
    path = f"/events/calendar?month={when:%Y-%m}"
    desktop.goto(live_server + path)
    grid = desktop.locator(".month-grid")
    columns = desktop.evaluate(
        "getComputedStyle(document.querySelector('.month-grid'))"
        ".gridTemplateColumns.split(' ').length"
    )
    assert columns == 7
    link = grid.get_by_role("link", name=FLAGSHIP.title, exact=True).first
    expect(link).to_be_visible()
    # Keyboard: the month links and every event are reachable with Tab.
    desktop.locator(".month-nav a[rel=next]").focus()
    for _ in range(60):
        desktop.keyboard.press("Tab")
        if desktop.evaluate("document.activeElement.textContent.trim()") == FLAGSHIP.title:
            break
    else:
        pytest.fail("the event's link is not reachable with Tab")
    desktop.screenshot(path=screenshots / "month.png", full_page=True)

    small_phone.goto(live_server + path)
    expect(small_phone.locator(".month-day.is-empty").first).to_be_hidden()
    expect(small_phone.get_by_role("link", name=FLAGSHIP.title, exact=True).first).to_be_visible()
    assert small_phone.evaluate(NO_HORIZONTAL_SCROLL)
    small_phone.screenshot(path=screenshots / "month-phone.png")


def test_browser_finds_the_icons(page: Page, live_server: str, demo_data) -> None:
    failed: list[str] = []
    page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
    page.goto(live_server + "/")
    icon = page.evaluate("fetch('/favicon.ico').then((r) => r.status)")
    assert icon == 200
    manifest = page.evaluate("fetch('/manifest.webmanifest').then((r) => r.json())")
    for entry in manifest["icons"]:
        assert page.evaluate(f"fetch('{entry['src']}').then((r) => r.status)") == 200
    assert failed == []


def test_share_button_uses_the_phones_share_sheet_where_there_is_one(
    small_phone: Page, live_server: str, demo_data
) -> None:
    page = small_phone
    url = f"{live_server}/events/{FLAGSHIP.slug}"
    page.goto(url)
    if not page.evaluate("'share' in navigator"):
        # Without the Web Share API the button stays hidden; the other ways remain.
        expect(page.get_by_role("button", name="Share…")).to_be_hidden()
        expect(page.get_by_role("link", name="Email it from your own mail program")).to_be_visible()
    # A browser that has one (stood in for here): the button hands over title and address.
    page.add_init_script(
        "navigator.share = (data) => { window.shared = data; return Promise.resolve(); };"
    )
    page.goto(url)
    page.get_by_role("button", name="Share…").click()
    shared = page.evaluate("window.shared")
    assert shared["url"] == url
    assert shared["title"] == FLAGSHIP.title
