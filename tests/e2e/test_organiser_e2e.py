"""The organiser's day in a real browser: create, shape, publish, approve, export, check in."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from eventsite.extensions import db
from eventsite.models import Event, JoinedVia, Membership, Registration

pytestmark = [pytest.mark.e2e]

PASSWORD = "correct horse battery staple"


def log_in(page: Page, base: str, email: str) -> None:
    page.goto(base + "/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_organiser_runs_an_event_from_draft_to_the_door(
    page: Page,
    browser: Browser,
    live_server: str,
    make_organisation,
    make_user,
    tmp_path: Path,
    screenshots: Path,
) -> None:
    organisation = make_organisation(name="Planet Society", slug="planet-society")
    organiser = make_user(email="organiser@example.org", name="Olga Organiser")
    attendee = make_user(email="attendee@example.org", name="Ada Attendee", affiliation="Lab")
    db.session.add(
        Membership(
            user_id=organiser.id, organisation_id=organisation.id, joined_via=JoinedVia.INVITATION
        )
    )
    db.session.commit()

    # The organiser creates the event.
    log_in(page, live_server, organiser.email)
    page.get_by_role("link", name="Workspace").click()
    page.get_by_role("link", name="New event").click()
    page.get_by_label("Title", exact=True).fill("Oceans Summit")
    page.get_by_label("Time zone").select_option("Europe/Lisbon")
    page.get_by_label("Starts").fill("2027-06-01T09:00")
    page.get_by_label("Ends", exact=True).fill("2027-06-02T17:00")
    page.get_by_label("Venue", exact=True).fill("Ocean Pavilion")
    page.get_by_label("City").fill("Lisbon")
    page.get_by_label("Country").select_option("PT")
    page.get_by_label("Places").fill("50")
    page.get_by_label("Registrations need approval").check()
    page.get_by_label("Description").fill("## Why\n\nThe **ocean** matters.")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator(".markdown-preview strong")).to_have_text("ocean")
    page.screenshot(path=screenshots / "manage-event-form.png", full_page=True)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("The draft “Oceans Summit” is saved.")).to_be_visible()

    # An agenda session.
    page.get_by_role("link", name="Agenda").click()
    page.get_by_label("Title").fill("Opening plenary")
    page.get_by_label("Starts").fill("2027-06-01T09:30")
    page.get_by_label("Ends").fill("2027-06-01T10:30")
    page.get_by_label("Room").fill("Main hall")
    page.get_by_role("button", name="Save session").click()
    expect(page.get_by_role("link", name="Opening plenary")).to_be_visible()

    # Two questions.
    page.get_by_role("link", name="Form", exact=True).click()
    page.get_by_label("Question").fill("Your institution")
    page.get_by_role("button", name="Save question").click()
    page.get_by_label("Question").fill("I accept the code of conduct")
    page.get_by_label("Kind of answer").select_option("checkbox")
    page.get_by_label("Required").check()
    page.get_by_role("button", name="Save question").click()
    expect(page.locator(".questions-admin li")).to_have_count(2)

    # Publish.
    page.get_by_role("link", name="Overview").click()
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_text("“Oceans Summit” is published.")).to_be_visible()
    event_id = int(page.url.rstrip("/").rsplit("/", 1)[1])

    # The attendee registers in another browser context.
    context = browser.new_context()
    visitor = context.new_page()
    log_in(visitor, live_server, attendee.email)
    visitor.goto(live_server + "/events/oceans-summit/register")
    visitor.get_by_label("Your institution").fill("=cmd|' /C calc'!A0")
    visitor.get_by_label("I accept the code of conduct").check()
    visitor.screenshot(path=screenshots / "register.png", full_page=True)
    visitor.locator("form.registration-form button[type=submit]").click()
    expect(visitor.get_by_text("Awaiting approval").first).to_be_visible()
    context.close()

    # The organiser approves.
    page.get_by_role("link", name="Registrants").click()
    row = page.locator("tr", has_text="Ada Attendee")
    row.get_by_role("button", name="Approve").click()
    expect(page.get_by_text("Approved; they are told.")).to_be_visible()
    page.screenshot(path=screenshots / "manage-registrants.png", full_page=True)

    # Exports the registrants as XLSX and reads the file.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export Excel (XLSX)").click()
    path = tmp_path / "registrants.xlsx"
    download_info.value.save_as(path)
    workbook = load_workbook(path, read_only=True)
    rows = [list(r) for r in workbook.worksheets[0].iter_rows(values_only=True)]
    workbook.close()
    header, data = rows[0], rows[1:]
    assert header[-2:] == ["Your institution", "I accept the code of conduct"]
    [ada] = data
    assert ada[1] == "Ada Attendee" and ada[2] == "attendee@example.org"
    assert ada[-2] == "'=cmd|' /C calc'!A0"  # inert in a spreadsheet
    assert ada[-1] is True  # a typed boolean cell

    # Checks her in at the door.
    row = page.locator("tr", has_text="Ada Attendee")
    row.get_by_role("button", name="Check in").click()
    expect(page.locator("tr", has_text="Ada Attendee").get_by_text("Checked in")).to_be_visible()

    db.session.rollback()  # end the test's own read snapshot; see what the server wrote
    event = db.session.get(Event, event_id)
    assert event.status == "published" and len(event.sessions) == 1
    registration = db.session.scalar(select(Registration).where(Registration.event_id == event_id))
    assert registration.status == "confirmed"
    assert registration.checked_in_at is not None

    # The workspace's front page, with the event and its numbers.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Workspace").click()
    expect(page.get_by_role("link", name="Oceans Summit")).to_be_visible()
    page.screenshot(path=screenshots / "manage.png", full_page=True)


def test_organiser_bulk_cancels_two_registrants_with_a_reason(
    page: Page, live_server: str, make_organisation, make_user, make_event, screenshots: Path
) -> None:
    organisation = make_organisation(name="Reef Society", slug="reef-society")
    organiser = make_user(email="reef-organiser@example.org", name="Rita Reef")
    db.session.add(
        Membership(
            user_id=organiser.id, organisation_id=organisation.id, joined_via=JoinedVia.INVITATION
        )
    )
    event = make_event(organisation=organisation, title="Coral Day", slug="coral-day", capacity=30)
    people = {
        name: make_user(email=f"{name.split()[0].lower()}@example.org", name=name)
        for name in ("Ada Lovelace", "Grace Hopper", "Katherine Johnson")
    }
    registrations = {
        name: Registration(event=event, user=user, status="confirmed", answers={})
        for name, user in people.items()
    }
    db.session.add_all(registrations.values())
    db.session.commit()
    event_id = event.id

    log_in(page, live_server, organiser.email)
    page.goto(f"{live_server}/manage/events/{event_id}/registrants")
    page.get_by_label("Tick Ada Lovelace").check()
    page.get_by_label("Tick Grace Hopper").check()
    page.get_by_label("With the people ticked below").select_option("cancel")
    page.get_by_role("button", name="Continue…").click()

    # One confirmation naming the number of people and listing them.
    expect(
        page.get_by_role("heading", name="Cancel the registrations of 2 people?")
    ).to_be_visible()
    people_list = page.locator(".bulk-people li")
    expect(people_list).to_have_count(2)
    expect(people_list.filter(has_text="Katherine Johnson")).to_have_count(0)
    page.get_by_label("Reason (optional)").fill("The reef boat takes 20 people.")
    page.screenshot(path=screenshots / "manage-bulk-cancel-confirm.png", full_page=True)
    page.get_by_role("button", name="Yes, go ahead").click()

    expect(page.get_by_text("2 cancelled.")).to_be_visible()
    for name in ("Ada Lovelace", "Grace Hopper"):
        row = page.locator("tr", has_text=name)
        expect(row.get_by_role("cell", name="Cancelled")).to_be_visible()
        expect(row.get_by_role("button", name="Undo cancellation")).to_be_visible()
    expect(
        page.locator("tr", has_text="Katherine Johnson").get_by_role("cell", name="Confirmed")
    ).to_be_visible()

    db.session.rollback()  # see what the server wrote
    statuses = {
        name: db.session.get(Registration, registration.id).status
        for name, registration in registrations.items()
    }
    assert statuses == {
        "Ada Lovelace": "cancelled",
        "Grace Hopper": "cancelled",
        "Katherine Johnson": "confirmed",
    }


def test_cancelling_one_registrant_asks_in_a_dialog(
    page: Page, live_server: str, make_organisation, make_user, make_event, screenshots: Path
) -> None:
    organisation = make_organisation(name="Tide Society", slug="tide-society")
    organiser = make_user(email="tide-organiser@example.org", name="Tom Tide")
    db.session.add(
        Membership(
            user_id=organiser.id, organisation_id=organisation.id, joined_via=JoinedVia.INVITATION
        )
    )
    event = make_event(organisation=organisation, title="Tide Talk", slug="tide-talk")
    ada = make_user(email="ada-tide@example.org", name="Ada Lovelace")
    registration = Registration(event=event, user=ada, status="confirmed", answers={})
    db.session.add(registration)
    db.session.commit()

    log_in(page, live_server, organiser.email)
    page.goto(f"{live_server}/manage/events/{event.id}/registrants")
    page.locator("tr", has_text="Ada Lovelace").get_by_role("link", name="Cancel…").click()
    dialog = page.get_by_role("dialog", name="Cancel the registration of Ada Lovelace?")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Reason (optional)")).to_be_focused()
    page.screenshot(path=screenshots / "manage-cancel-dialog.png")
    # Back closes it and nothing happened.
    dialog.get_by_role("link", name="Back").click()
    expect(dialog).to_have_count(0)
    # Keyboard only: open it again, type the reason, confirm.
    page.locator("tr", has_text="Ada Lovelace").get_by_role("link", name="Cancel…").focus()
    page.keyboard.press("Enter")
    page.keyboard.type("You asked us by phone.")
    page.get_by_role("button", name="Yes, cancel the registration").press("Enter")
    expect(page.get_by_text("Registration cancelled; they are told.")).to_be_visible()
    db.session.rollback()
    assert db.session.get(Registration, registration.id).status == "cancelled"


def test_organiser_prints_badges_of_the_people_ticked_on_a_phone(
    page: Page, live_server: str, make_organisation, make_user, make_event, screenshots: Path
) -> None:
    organisation = make_organisation(name="Badge Society", slug="badge-society")
    organiser = make_user(email="badge-organiser@example.org", name="Bea Badge")
    db.session.add(
        Membership(
            user_id=organiser.id, organisation_id=organisation.id, joined_via=JoinedVia.INVITATION
        )
    )
    event = make_event(organisation=organisation, title="Badge Day", slug="badge-day")
    for name in ("王小明", "ليلى حسن", "Ada Lovelace"):
        user = make_user(email=f"{len(name)}-{abs(hash(name))}@example.org", name=name)
        db.session.add(Registration(event=event, user=user, status="confirmed", answers={}))
    db.session.commit()
    event_id = event.id

    page.set_viewport_size({"width": 320, "height": 640})
    log_in(page, live_server, organiser.email)
    page.goto(f"{live_server}/manage/events/{event_id}/registrants")
    page.get_by_label("Tick 王小明").check()
    page.get_by_label("Tick ليلى حسن").check()
    page.get_by_label("With the people ticked below").select_option("badges")
    page.get_by_role("button", name="Continue…").click()

    expect(page.get_by_role("heading", name="Name badges")).to_be_visible()
    expect(page.get_by_text("2 badges for the people ticked")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    page.get_by_label("Sheet").select_option("a4-3x3")
    page.screenshot(path=screenshots / "manage-badges.png", full_page=True)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the badges (PDF)").press("Enter")
    assert download.value.suggested_filename == "badge-day-badges-a4-3x3.pdf"
    assert download.value.path().read_bytes().startswith(b"%PDF")
