"""Door mode on a phone: find people by typing a name and a ticket code, check them in, undo;
two door devices on one person; two devices checking people in with the network cut, then
syncing (the first check-in wins, the duplicate is reported on both); the camera reading a
ticket's QR code."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import func, select

from eventsite.extensions import db
from eventsite.models import CheckInDuplicate, JoinedVia, Membership, Registration
from eventsite.registration import services, tickets
from eventsite.timeutil import utcnow

from ..conftest import CHROMIUM, CHROMIUM_ARGS

pytestmark = [pytest.mark.e2e]

PASSWORD = "correct horse battery staple"
PHONE = {"width": 375, "height": 812}
SMALL_PHONE = {"width": 320, "height": 640}


@pytest.fixture
def door_event(make_organisation, make_event, make_user):
    """An event with two registered people and two organisers who work its door."""
    organisation = make_organisation(name="Forum Org", slug="forum-org")
    starts = utcnow() + timedelta(hours=1)
    event = make_event(
        organisation=organisation,
        title="Door Forum",
        capacity=50,
        timezone="Asia/Shanghai",
        starts_at=starts,
        ends_at=starts + timedelta(days=2),
        registration_opens_at=utcnow() - timedelta(days=10),
        registration_closes_at=starts,
    )
    staff = [
        make_user(email="olga@example.org", name="Olga Organiser"),
        make_user(email="bea@example.org", name="Bea Door"),
    ]
    for user in staff:
        db.session.add(
            Membership(
                user_id=user.id, organisation_id=organisation.id, joined_via=JoinedVia.INVITATION
            )
        )
    people = []
    for name, affiliation in [("Ada Lovelace", "Analytical Lab"), ("Bo Chen", "Tsinghua")]:
        user = make_user(name=name, affiliation=affiliation)
        people.append(services.register_attendee(user, event, {}, utcnow()))
    db.session.commit()
    return event, staff, people


@pytest.fixture
def device(browser: Browser, live_server: str) -> Iterator[Callable[..., Page]]:
    """A door device: its own browser (context) at phone size, logged in as `email`; fails
    the test if the browser refused anything under the Content-Security-Policy."""
    contexts: list[BrowserContext] = []
    refused: list[str] = []

    def open_device(email: str, viewport: dict[str, int] = PHONE) -> Page:
        context = browser.new_context(viewport=viewport, locale="en-GB")
        contexts.append(context)
        page = context.new_page()
        page.on(
            "console",
            lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None,
        )
        page.goto(live_server + "/login")
        page.get_by_label("Email address").fill(email)
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("button", name="Log out")).to_be_visible()
        return page

    yield open_device
    for context in contexts:
        context.close()
    assert refused == [], refused


def _open_door(page: Page, base: str, event_id: int) -> None:
    page.goto(f"{base}/manage/events/{event_id}/door")
    expect(page.get_by_role("heading", name="Door")).to_be_visible()
    # door.js keeps the list on the device once it has it.
    page.wait_for_function(f"() => localStorage.getItem('eventsite-door-list-{event_id}')")
    # ... and the service worker keeps the page and its assets (the page itself, not just
    # any three entries: its copy can be the last to arrive), and is active, so it answers
    # the next navigation. Polled inside one evaluation: Playwright's wait_for_function does
    # not wait for a promise (any promise counts as true).
    kept = [f"/manage/events/{event_id}/door", "/static/door.js", "/static/site.css"]
    page.evaluate(
        """async (paths) => {
            const deadline = Date.now() + 20000;
            for (;;) {
                const cache = await caches.open('eventsite-door');
                const found = await Promise.all(paths.map((path) => cache.match(path)));
                const registration = await navigator.serviceWorker.getRegistration();
                const worker = registration && registration.active;
                if (found.every(Boolean) && worker && worker.state === 'activated') { return; }
                if (Date.now() > deadline) { throw new Error('not kept for offline use'); }
                await new Promise((resolve) => setTimeout(resolve, 50));
            }
        }""",
        kept,
    )


def _find(page: Page, text: str) -> None:
    page.get_by_label("Name, email or ticket code").fill(text)
    page.get_by_role("button", name="Find").click()


def _reload_registrations(event_id: int) -> list[Registration]:
    db.session.rollback()  # the test's own snapshot ends; read what the server wrote
    return list(
        db.session.scalars(
            select(Registration).where(Registration.event_id == event_id).order_by(Registration.id)
        )
    )


def test_door_on_a_phone_find_by_name_and_code_check_in_undo_and_count(
    device, live_server: str, door_event, screenshots
) -> None:
    event, staff, (_ada, bo) = door_event
    event_id, bo_code = event.id, tickets.display_code(bo)
    page = device(staff[0].email)
    _open_door(page, live_server, event_id)
    count = page.locator("#door-count")
    expect(count).to_have_text("0 of 2 checked in")

    # One by typing her name.
    _find(page, "lovelace")
    card = page.locator(".door-card", has_text="Ada Lovelace")
    expect(card.get_by_text("Analytical Lab")).to_be_visible()
    button = card.get_by_role("button", name="Check in")
    box = button.bounding_box()
    assert box and box["height"] >= 44 and box["x"] >= 0 and box["x"] + box["width"] <= 375
    button.click()
    expect(page.locator("#door-message")).to_have_text("Ada Lovelace is checked in.")
    expect(card.get_by_text("Checked in at")).to_contain_text("by Olga Organiser")
    expect(count).to_have_text("1 of 2 checked in")
    page.screenshot(path=screenshots / "door-phone.png", full_page=True)

    # One by the code on their ticket, typed as read out.
    _find(page, bo_code.lower().replace("-", " "))
    bo_card = page.locator(".door-card", has_text="Bo Chen")
    bo_card.get_by_role("button", name="Check in").click()
    expect(count).to_have_text("2 of 2 checked in")

    # Bo's was a mistake: undo, by keyboard.
    undo = bo_card.get_by_role("button", name="Undo check-in")
    undo.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#door-message")).to_have_text("Check-in of Bo Chen undone.")
    expect(bo_card.get_by_role("button", name="Check in")).to_be_visible()
    expect(count).to_have_text("1 of 2 checked in")

    ada_row, bo_row = _reload_registrations(event_id)
    assert ada_row.checked_in_at is not None and ada_row.checked_in_by_id == staff[0].id
    assert bo_row.checked_in_at is None

    # At 320 px nothing runs off the side.
    page.set_viewport_size(SMALL_PHONE)
    _find(page, "Bo")
    assert page.evaluate("document.documentElement.scrollWidth") <= 320


def test_two_door_devices_on_one_person_make_one_check_in(
    device, live_server: str, door_event
) -> None:
    event, staff, (_ada, _bo) = door_event
    event_id = event.id
    olga, bea = device(staff[0].email), device(staff[1].email)
    for page in (olga, bea):
        _open_door(page, live_server, event_id)
        _find(page, "Ada")
    olga.locator(".door-card").get_by_role("button", name="Check in").click()
    expect(olga.locator("#door-message")).to_have_text("Ada Lovelace is checked in.")
    # Bea's screen still offers the button; pressing it tells her who was first.
    bea.locator(".door-card").get_by_role("button", name="Check in").click()
    expect(bea.locator("#door-message")).to_contain_text("Already checked in at ")
    expect(bea.locator("#door-message")).to_contain_text("by Olga Organiser.")
    expect(bea.locator(".door-card").get_by_role("button", name="Check in")).to_have_count(0)
    rows = _reload_registrations(event_id)
    assert [r.checked_in_by_id for r in rows] == [staff[0].id, None]


def test_two_devices_offline_then_synced_one_check_in_each_duplicate_reported(
    device, live_server: str, door_event, screenshots
) -> None:
    event, staff, (ada, _bo) = door_event
    event_id = event.id
    olga, bea = device(staff[0].email), device(staff[1].email)
    for page in (olga, bea):
        _open_door(page, live_server, event_id)
        page.context.set_offline(True)
        expect(page.locator("#door-offline")).to_have_text(
            "Offline — check-ins are kept on this device"
        )

    # The page itself opens without the network (the service worker kept it).
    olga.reload()
    expect(olga.get_by_role("heading", name="Door")).to_be_visible()

    # Olga checks in Ada and Bo; Bea, a moment later, Ada too.
    for name in ("Ada", "Bo"):
        _find(olga, name)
        olga.locator(".door-card").get_by_role("button", name="Check in").click()
    expect(olga.locator("#door-offline")).to_have_text("Offline — check-ins waiting: 2")
    _find(bea, tickets.display_code(ada))
    bea.locator(".door-card", has_text="Ada Lovelace").get_by_role(
        "button", name="Check in"
    ).click()
    expect(bea.locator("#door-offline")).to_have_text("Offline — check-ins waiting: 1")
    expect(bea.locator("#door-count")).to_have_text("1 of 2 checked in")  # as far as it knows
    bea.screenshot(path=screenshots / "door-offline.png", full_page=True)
    assert all(r.checked_in_at is None for r in _reload_registrations(event_id))

    # Back online: both sync.
    olga.context.set_offline(False)
    expect(olga.locator("#door-offline")).to_be_hidden()
    expect(olga.locator("#door-count")).to_have_text("2 of 2 checked in")
    bea.context.set_offline(False)
    expect(bea.locator("#door-offline")).to_be_hidden()
    for page in (bea, olga):
        twice = page.locator("#door-duplicates")
        expect(twice).to_contain_text("Ada Lovelace: Checked in twice: at ")
        expect(twice).to_contain_text("by Olga Organiser, again at ")
        expect(twice).to_contain_text("by Bea Door (Door ")

    rows = _reload_registrations(event_id)
    assert [r.checked_in_by_id for r in rows] == [staff[0].id, staff[0].id]
    assert db.session.scalar(select(func.count()).select_from(CheckInDuplicate)) == 1


def _camera_film(png: bytes, path) -> None:
    """A few seconds of "camera" showing the ticket: a Y4M file Chromium plays as its fake
    webcam (white frame, the QR code in the middle)."""
    qr = Image.open(io.BytesIO(png)).convert("L")
    frame = Image.new("L", (640, 480), 255)
    frame.paste(qr, ((640 - qr.width) // 2, (480 - qr.height) // 2))
    luma = frame.tobytes()
    chroma = bytes([128]) * (320 * 240)  # grey: no colour
    with open(path, "wb") as film:
        film.write(b"YUV4MPEG2 W640 H480 F10:1 Ip A1:1 C420jpeg\n")
        for _ in range(20):
            film.write(b"FRAME\n" + luma + chroma + chroma)


def test_the_camera_reads_a_ticket_with_the_vendored_decoder(
    browser_type, live_server: str, door_event, tmp_path
) -> None:
    event, staff, (ada, _bo) = door_event
    film = tmp_path / "ticket.y4m"
    _camera_film(tickets.qr_png(ada), film)
    event_id = event.id
    browser = browser_type.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[
            *CHROMIUM_ARGS,
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={film}",
        ],
    )
    try:
        context = browser.new_context(viewport=PHONE, locale="en-GB")
        page = context.new_page()
        page.goto(live_server + "/login")
        page.get_by_label("Email address").fill(staff[0].email)
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        _open_door(page, live_server, event_id)
        # Headless Chromium on Linux has no BarcodeDetector: this is jsQR's work.
        assert page.evaluate("'BarcodeDetector' in window") is False
        page.get_by_role("button", name="Scan a ticket").click()
        card = page.locator(".door-card", has_text="Ada Lovelace")
        expect(card).to_be_visible(timeout=15000)
        card.get_by_role("button", name="Check in").click()
        expect(page.locator("#door-count")).to_have_text("1 of 2 checked in")
        assert page.evaluate("typeof window.jsQR") == "function"
    finally:
        browser.close()
    assert _reload_registrations(event_id)[0].checked_in_by_id == staff[0].id


def test_a_removed_member_cannot_sync_and_the_device_forgets_the_list(
    device, live_server: str, door_event
) -> None:
    event, staff, _people = door_event
    event_id, key = event.id, f"eventsite-door-list-{event.id}"
    page = device(staff[1].email)
    _open_door(page, live_server, event_id)
    page.context.set_offline(True)
    _find(page, "Ada")
    page.locator(".door-card").get_by_role("button", name="Check in").click()
    expect(page.locator("#door-offline")).to_have_text("Offline — check-ins waiting: 1")

    # Meanwhile Bea is removed from the organisation.
    db.session.rollback()
    db.session.execute(Membership.__table__.delete().where(Membership.user_id == staff[1].id))
    db.session.commit()

    page.context.set_offline(False)
    expect(page.locator("#door-message")).to_have_text(
        "You no longer have access; stored list deleted."
    )
    assert page.evaluate(f"localStorage.getItem('{key}')") is None
    assert all(r.checked_in_at is None for r in _reload_registrations(event_id))


def test_the_stored_list_goes_when_the_event_has_ended_and_on_log_out(
    device, live_server: str, door_event
) -> None:
    event, staff, _people = door_event
    event_id, key = event.id, f"eventsite-door-list-{event.id}"
    page = device(staff[0].email)
    _open_door(page, live_server, event_id)
    # The event's end, as stored with the list, has passed (as if days went by offline).
    page.context.set_offline(True)
    page.evaluate(
        f"""() => {{
            const list = JSON.parse(localStorage.getItem('{key}'));
            list.event.ends_at = '2000-01-01T00:00:00+00:00';
            localStorage.setItem('{key}', JSON.stringify(list));
        }}"""
    )
    page.reload()
    expect(page.get_by_role("heading", name="Door")).to_be_visible()
    # door.js is deferred: the heading can show before it has read (and dropped) the list.
    page.wait_for_function(f"() => localStorage.getItem('{key}') === null")

    page.context.set_offline(False)
    _open_door(page, live_server, event_id)
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_text("You are logged out.")).to_be_visible()
    assert page.evaluate(f"localStorage.getItem('{key}')") is None
    assert page.evaluate("async () => (await caches.keys()).length") == 0
