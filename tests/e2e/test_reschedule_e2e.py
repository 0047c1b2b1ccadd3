"""An organiser moves a published event by a day in a real browser: the agenda moves with
it, and before saving the form says how many registrants will be emailed."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from eventsite import timeutil
from eventsite.extensions import db
from eventsite.models import Event, JoinedVia, Membership, RegistrationStatus

from .test_organiser_e2e import log_in

pytestmark = [pytest.mark.e2e]

ZURICH = "Europe/Zurich"


def test_organiser_moves_an_event_and_its_agenda_a_day_later(
    page: Page,
    live_server: str,
    make_organisation,
    make_user,
    make_event,
    make_session,
    make_registration,
    screenshots: Path,
) -> None:
    organisation = make_organisation(name="Alpine Society", slug="alpine-society")
    organiser = make_user(email="olga@example.org", name="Olga Organiser")
    db.session.add(
        Membership(user=organiser, organisation=organisation, joined_via=JoinedVia.INVITATION)
    )
    # Saturday 27 March 2027, the day before the clocks go forward in Zurich.
    starts = timeutil.local_to_utc(datetime(2027, 3, 27, 9, 0), ZURICH)
    event = make_event(
        organisation=organisation,
        title="Glacier Forum",
        slug="glacier-forum",
        starts_at=starts,
        ends_at=starts + timedelta(hours=8),
        timezone=ZURICH,
    )
    make_session(event, title="Opening", starts_at=starts)
    make_session(event, title="Closing panel", starts_at=starts + timedelta(hours=7))
    for name in ("Ann", "Bob"):
        make_registration(make_user(name=name), event, RegistrationStatus.CONFIRMED)

    log_in(page, live_server, organiser.email)
    page.goto(f"{live_server}/manage/events/{event.id}/edit")
    expect(page.get_by_label("Move the agenda with the event")).to_be_checked()
    page.get_by_label("Starts").fill("2027-03-28T09:00")
    page.get_by_label("Ends", exact=True).fill("2027-03-28T17:00")
    page.get_by_role("button", name="Save").click()

    notice = page.locator(".email-notice")
    expect(notice).to_contain_text("Saving will email 2 registered people about the new time.")
    expect(notice.get_by_label("Don't notify registrants")).to_have_count(0)
    page.screenshot(path=screenshots / "manage-event-reschedule-confirm.png", full_page=True)
    notice.get_by_role("button", name="Confirm and save").click()
    expect(page.get_by_text("Saved.")).to_be_visible()

    page.get_by_role("link", name="Agenda").click()
    agenda = page.locator("main")
    expect(agenda).to_contain_text("Sun, 28 Mar 2027, 09:00 – 10:00 CEST")
    expect(agenda).to_contain_text("Sun, 28 Mar 2027, 16:00 – 17:00 CEST")
    db.session.rollback()  # end the test's transaction: read what the server committed
    moved = db.session.get(Event, event.id)
    # A day on the wall clock, 23 hours in UTC (summer time began).
    assert moved.starts_at - starts == timedelta(hours=23)
    assert [timeutil.to_local(s.starts_at, ZURICH).hour for s in moved.sessions] == [9, 16]


def test_the_zone_picker_takes_the_browsers_zone_and_filters_by_place(
    browser: Browser, live_server: str, make_organisation, make_user
) -> None:
    organisation = make_organisation(name="Rio Society", slug="rio-society")
    organiser = make_user(email="rita@example.org", name="Rita Organiser")
    db.session.add(
        Membership(user=organiser, organisation=organisation, joined_via=JoinedVia.INVITATION)
    )
    db.session.commit()
    context = browser.new_context(timezone_id="America/Sao_Paulo", locale="en-GB")
    page = context.new_page()
    try:
        log_in(page, live_server, organiser.email)
        page.goto(f"{live_server}/manage/organisations/{organisation.id}/events/new")
        zone = page.locator("select#timezone")
        expect(zone).to_have_value("America/Sao_Paulo")
        page.get_by_label("Filter the zone list").fill("nairobi kenya")
        expect(zone).to_have_value("Africa/Nairobi")
        expect(zone.locator("option:not([hidden])")).to_have_count(1)
        # The web address follows the title as it is typed.
        page.get_by_label("Title", exact=True).fill("Über Rio Forum")
        expect(page.locator("#slug-preview")).to_have_text(f"{live_server}/events/uber-rio-forum")
        page.get_by_label("Web address").fill("rio 2027")
        expect(page.locator("#slug-preview")).to_have_text(f"{live_server}/events/rio-2027")
    finally:
        context.close()
