"""Keyboard only: registering for an event and checking someone in at the door with Tab,
Shift+Tab, Enter, Space and typing — no click. Then no page scrolls sideways at 320 px or at
200 % zoom, and a form that comes back with errors puts the focus on their summary."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from eventsite.extensions import db
from eventsite.models import JoinedVia, Membership, Question, QuestionKind, Registration
from eventsite.registration import services
from eventsite.timeutil import utcnow

from .axe import axe_problems

pytestmark = [pytest.mark.e2e]

PASSWORD = "correct horse battery staple"


def tab_to(page: Page, selector: str, *, backwards: bool = False, limit: int = 80) -> None:
    """Press Tab (Shift+Tab) until the focused element matches `selector`."""
    key = "Shift+Tab" if backwards else "Tab"
    for _ in range(limit):
        if page.evaluate("s => document.activeElement?.matches(s) ?? false", selector):
            return
        page.keyboard.press(key)
    raise AssertionError(f"{key} never reached {selector}")


def log_in_by_keyboard(page: Page, base: str, email: str) -> None:
    page.goto(base + "/login")
    tab_to(page, "#email")
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    tab_to(page, "main form button[type=submit]")
    page.keyboard.press("Enter")
    expect(page.locator("form[action$='/logout']")).to_be_attached()


@pytest.fixture
def forum(make_organisation, make_event, make_user):
    organisation = make_organisation(name="Planet Society", slug="planet-society")
    starts = utcnow() + timedelta(days=10)
    event = make_event(
        organisation=organisation,
        title="Oceans Summit",
        slug="oceans-summit",
        capacity=10,
        starts_at=starts,
        ends_at=starts + timedelta(days=1),
        registration_opens_at=utcnow() - timedelta(days=1),
        registration_closes_at=starts,
    )
    question = Question(
        event_id=event.id, label="Your institution", kind=QuestionKind.SHORT_TEXT,
        is_required=True,
    )  # fmt: skip
    consent = Question(
        event_id=event.id, label="I accept the code of conduct", kind=QuestionKind.CHECKBOX,
        is_required=True, position=1,
    )  # fmt: skip
    db.session.add_all([question, consent])
    db.session.commit()
    return event


def test_register_for_an_event_with_the_keyboard_only(
    page: Page, live_server: str, forum, make_user
) -> None:
    attendee = make_user(email="ada@example.org", name="Ada Attendee")
    log_in_by_keyboard(page, live_server, attendee.email)
    page.goto(live_server + "/events/oceans-summit")

    tab_to(page, ".registration-box a.button")
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("Register for Oceans Summit")

    # Sent without the answers: the focus lands on the summary of errors, whose link leads
    # to the first field.
    tab_to(page, "form.registration-form button[type=submit]")
    page.keyboard.press("Enter")
    summary = page.locator(".error-summary")
    expect(summary).to_be_focused()
    expect(page.locator("[aria-invalid=true]")).to_have_count(2)
    institution = page.get_by_label("Your institution")
    consent = page.get_by_label("I accept the code of conduct")
    tab_to(page, ".error-summary a")
    page.keyboard.press("Enter")
    expect(institution).to_be_focused()
    page.keyboard.type("Ocean Lab")
    tab_to(page, f"#{consent.get_attribute('id')}")
    page.keyboard.press("Space")
    expect(consent).to_be_checked()
    # Back and forth: Shift+Tab reaches the first answer again, Tab the button.
    tab_to(page, f"#{institution.get_attribute('id')}", backwards=True)
    expect(institution).to_have_value("Ocean Lab")
    tab_to(page, "form.registration-form button[type=submit]")
    page.keyboard.press("Enter")

    expect(page.get_by_text("Confirmed").first).to_be_visible()
    db.session.rollback()  # the test's own snapshot ends; read what the server wrote
    registration = db.session.scalar(
        select(Registration).where(Registration.user_id == attendee.id)
    )
    assert registration is not None and registration.status == "confirmed"
    assert [a["value"] for a in registration.answers.values()] == ["Ocean Lab", True]


def test_check_someone_in_at_the_door_with_the_keyboard_only(
    page: Page, live_server: str, forum, make_user
) -> None:
    organiser = make_user(email="olga@example.org", name="Olga Organiser")
    db.session.add(
        Membership(
            user_id=organiser.id,
            organisation_id=forum.organisation_id,
            joined_via=JoinedVia.INVITATION,
        )
    )
    ada = make_user(name="Ada Lovelace")
    questions = db.session.scalars(select(Question).where(Question.event_id == forum.id))
    answers = {q.id: True if q.kind == QuestionKind.CHECKBOX else "Lab" for q in questions}
    registration = services.register_attendee(ada, forum, answers, utcnow())
    db.session.commit()
    log_in_by_keyboard(page, live_server, organiser.email)
    page.goto(f"{live_server}/manage/events/{forum.id}/door")

    tab_to(page, "#door-q")
    page.keyboard.type("Ada")
    page.keyboard.press("Enter")
    expect(page.locator(".door-card")).to_have_count(1)
    page.wait_for_load_state()
    tab_to(page, "button.door-check-in")
    page.keyboard.press("Enter")
    expect(page.locator("#door-message")).to_have_text("Ada Lovelace is checked in.")
    db.session.rollback()
    db.session.refresh(registration)
    assert registration.checked_in_at is not None


MAIN_PAGES = [
    "/events/",
    "/events/calendar",
    "/events/world-forum-science-technology-openness-trust-cooperation",
    "/events/world-forum-science-technology-openness-trust-cooperation/register",
    "/organisations/world-science-cooperation-council",
    "/login",
    "/signup",
]


# Browser zoom at 200 % on a 1280 px wide window lays the page out in 640 CSS pixels.
@pytest.mark.parametrize("width", [320, 640], ids=["320px", "200%-zoom"])
def test_no_page_scrolls_sideways_at_320_px_or_200_percent_zoom(
    browser: Browser, live_server: str, demo_data, width: int
) -> None:
    context = browser.new_context(viewport={"width": width, "height": 800})
    page = context.new_page()
    wide = []
    for path in MAIN_PAGES:
        for lang in ("en", "ar"):
            page.goto(f"{live_server}{path}?lang={lang}")
            sizes = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
            if sizes[0] > sizes[1]:
                wide.append((path, lang, sizes))
    context.close()
    assert wide == []


def test_the_account_pages_do_not_scroll_sideways_at_320_px(
    browser: Browser, live_server: str, make_user
) -> None:
    user = make_user(name="Grace Hopper", email="grace@example.org")
    context = browser.new_context(viewport={"width": 320, "height": 800})
    page = context.new_page()
    log_in_by_keyboard(page, live_server, user.email)
    wide = []
    for path in ("/account/", "/account/settings", "/account/calendar/"):
        for lang in ("en", "ar"):
            page.goto(f"{live_server}{path}?lang={lang}")
            assert "/login" not in page.url
            sizes = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
            if sizes[0] > sizes[1]:
                wide.append((path, lang, sizes))
    context.close()
    assert wide == []


def test_the_dark_scheme_keeps_contrast_and_reduced_motion_stops_transitions(
    browser: Browser, live_server: str, demo_data
) -> None:
    context = browser.new_context(color_scheme="dark", reduced_motion="reduce", bypass_csp=True)
    page = context.new_page()
    problems = {}
    for path in MAIN_PAGES:
        page.goto(live_server + path)
        assert page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches")
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(17, 21, 28)", background
        found = [p for p in axe_problems(page) if p.startswith("color-contrast")]
        if found:
            problems[path] = found
        moving = page.evaluate(
            """() => [...document.querySelectorAll('*')].filter(el => {
                 const s = getComputedStyle(el);
                 return s.transitionDuration.split(',').some(d => parseFloat(d) > 0)
                     || s.animationDuration.split(',').some(d => parseFloat(d) > 0);
               }).map(el => el.tagName + '.' + el.className)"""
        )
        assert moving == [], (path, moving)
    context.close()
    assert problems == {}
