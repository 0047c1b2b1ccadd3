"""axe-core (the copy bundled in axe-playwright-python: no CDN) on every public, account,
registration and workspace page, in English and Arabic, on a desktop and a phone: no
serious or critical violation anywhere. Then the dark colour scheme's contrast and the
reduced-motion preference on the main pages."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlencode, urlsplit, urlunsplit

import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, expect

from eventsite.demo import load
from eventsite.extensions import db
from eventsite.models import (
    AgendaSession,
    JoinedVia,
    Membership,
    Question,
    QuestionKind,
)
from eventsite.registration import services
from eventsite.timeutil import utcnow

from .axe import axe_problems

pytestmark = [pytest.mark.e2e]

PASSWORD = "correct horse battery staple"
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 375, "height": 812}}
LANGUAGES = ["en", "ar"]
# Every page axe checked in this run, as (language, viewport, path): the summary test at the
# end of the module prints how many (the README shows the figure).
CHECKED: list[tuple[str, str, str]] = []


def with_lang(url: str, lang: str) -> str:
    """`url` with `?lang=` set (the site's language switch, kept in links when shared)."""
    parts = urlsplit(url)
    query = "&".join(p for p in parts.query.split("&") if p and not p.startswith("lang="))
    query = "&".join(p for p in (query, urlencode({"lang": lang})) if p)
    return urlunsplit(parts._replace(query=query))


@dataclass
class Checker:
    """Visits pages in one browser context and collects axe's findings per page."""

    page: Page
    base: str
    lang: str
    viewport: str
    problems: dict[str, list[str]] = field(default_factory=dict)

    def goto(self, path: str) -> None:
        response = self.page.goto(with_lang(self.base + path, self.lang))
        assert response is not None and response.status < 500, (path, response)
        self.page.wait_for_load_state("networkidle")

    def check(self, label: str | None = None) -> None:
        """Run axe on the page the browser shows now (after goto or an action)."""
        path = label or urlsplit(self.page.url).path
        if self.lang == "ar":
            expect(self.page.locator("html")).to_have_attribute("dir", "rtl")
        found = axe_problems(self.page)
        CHECKED.append((self.lang, self.viewport, path))
        if found:
            self.problems[path] = found

    def visit(self, path: str) -> None:
        self.goto(path)
        self.check(path)


@dataclass
class Site:
    """What the pages are about: the demo programme, plus an organisation whose member is
    also registered (with a ticket) for an event that has questions."""

    organiser_email: str
    organisation_id: int
    event_id: int
    event_slug: str
    registration_public_id: str
    registration_id: int
    session_id: int
    question_id: int
    demo_event: str
    cancelled_event: str
    topic: str
    organisation: str


@pytest.fixture
def site(app: Flask, make_organisation, make_event, make_user) -> Callable[[], Site]:
    """Call it after the coming-soon page is checked (it needs a site with no events)."""

    def build() -> Site:
        load.load_programme(utcnow())
        organisation = make_organisation(name="Planet Society", slug="planet-society")
        organiser = make_user(email="olga@example.org", name="Olga Organiser")
        db.session.add(
            Membership(
                user_id=organiser.id,
                organisation_id=organisation.id,
                joined_via=JoinedVia.INVITATION,
            )
        )
        starts = utcnow() + timedelta(days=20)
        event = make_event(
            organisation=organisation,
            title="Oceans Summit",
            slug="oceans-summit",
            capacity=40,
            starts_at=starts,
            ends_at=starts + timedelta(days=1),
            registration_opens_at=utcnow() - timedelta(days=1),
            registration_closes_at=starts,
        )
        session = AgendaSession(
            event_id=event.id,
            title="Opening plenary",
            starts_at=starts + timedelta(hours=1),
            ends_at=starts + timedelta(hours=2),
            room="Main hall",
        )
        question = Question(
            event_id=event.id, label="Your institution", kind=QuestionKind.SHORT_TEXT,
            is_required=True,
        )  # fmt: skip
        db.session.add_all([session, question])
        db.session.flush()
        registration = services.register_attendee(
            organiser, event, {question.id: "Ocean Lab"}, utcnow()
        )
        other = make_user(name="Ada Attendee", affiliation="Analytical Lab")
        services.register_attendee(other, event, {question.id: "Lab"}, utcnow())
        db.session.commit()
        return Site(
            organiser_email=organiser.email,
            organisation_id=organisation.id,
            event_id=event.id,
            event_slug=event.slug,
            registration_public_id=registration.public_id,
            registration_id=registration.id,
            session_id=session.id,
            question_id=question.id,
            demo_event="world-forum-science-technology-openness-trust-cooperation",
            cancelled_event="ocean-observation-summit",
            topic="public-health",
            organisation="world-science-cooperation-council",
        )

    return build


@pytest.fixture
def context_for(browser: Browser) -> Iterator[Callable[..., BrowserContext]]:
    """Browser contexts that let axe's script in (`bypass_csp`: for the check only; the other
    browser tests keep the site's CSP and fail on anything it refuses)."""
    contexts: list[BrowserContext] = []

    def open_context(viewport: str, **options) -> BrowserContext:
        context = browser.new_context(
            viewport=VIEWPORTS[viewport], bypass_csp=True, locale="en-GB", **options
        )
        contexts.append(context)
        return context

    yield open_context
    for context in contexts:
        context.close()


def log_in(checker: Checker, email: str) -> None:
    checker.goto("/login")
    checker.page.locator("#email").fill(email)
    checker.page.locator("#password").fill(PASSWORD)
    checker.page.locator("main form[action*='/login'] button[type=submit]").first.click()
    checker.page.wait_for_load_state("networkidle")
    assert "/login" not in checker.page.url


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_page_has_no_serious_or_critical_axe_violation(
    live_server: str,
    context_for: Callable[..., BrowserContext],
    site: Callable[[], Site],
    lang: str,
    viewport: str,
) -> None:
    page = context_for(viewport).new_page()
    checker = Checker(page, live_server, lang, viewport)

    # Before any event is public.
    checker.goto("/")
    checker.check("/ (coming soon)")
    checker.visit("/notify")

    s = site()
    # Public pages, logged out.
    for path in [
        "/",
        "/events/",
        "/events/?q=health&format=in_person",
        "/events/?when=past",
        "/events/calendar",
        f"/topics/{s.topic}",
        f"/organisations/{s.organisation}",
        f"/events/{s.demo_event}",
        f"/events/{s.cancelled_event}",
        f"/events/{s.event_slug}",
        f"/events/{s.event_slug}/share",
        "/login",
        "/signup",
        "/password/forgot",
        "/docs",
        "/no-such-page",
    ]:
        checker.visit(path)

    # The registration form, empty and then sent empty (its errors shown).
    checker.visit(f"/events/{s.event_slug}/register")
    page.locator("form.registration-form button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    expect(page.locator(".has-errors").first).to_be_visible()
    checker.check(f"/events/{s.event_slug}/register (with errors)")
    # The sign-up form with errors.
    checker.goto("/signup")
    page.locator("form button[type=submit]").last.click()
    page.wait_for_load_state("networkidle")
    checker.check("/signup (with errors)")

    # An attendee's pages (the organiser is registered too).
    log_in(checker, s.organiser_email)
    registration = f"/registrations/{s.registration_public_id}"
    for path in [
        "/account/",
        "/account/settings",
        "/account/calendar/",
        registration,
        f"{registration}/ticket",
        f"{registration}/edit",
        f"{registration}/cancel",
        f"/events/{s.demo_event}/alert",
    ]:
        checker.visit(path)
    checker.goto(f"/events/{s.event_slug}")
    checker.check(f"/events/{s.event_slug} (registered)")

    # The workspace.
    event = f"/manage/events/{s.event_id}"
    organisation = f"/manage/organisations/{s.organisation_id}"
    for path in [
        "/manage/",
        event,
        f"{event}/edit",
        f"{event}/agenda",
        f"{event}/sessions/{s.session_id}",
        f"{event}/questions",
        f"{event}/questions/{s.question_id}",
        f"{event}/registrants",
        f"{event}/registrants/{s.registration_id}/reject",
        f"{event}/statistics",
        f"{event}/door",
        f"{event}/badges",
        f"{event}/cover",
        f"{event}/email",
        f"{event}/duplicate",
        f"{event}/cancel",
        organisation,
        f"{organisation}/events/new",
        f"{organisation}/api-tokens",
        f"{organisation}/webhooks",
        "/manage/organisations/new",
    ]:
        checker.visit(path)
    # The event form with errors.
    checker.goto(f"{event}/edit")
    page.locator("#title").fill("")
    page.locator("form.event-form [type=submit]").last.click()
    page.wait_for_load_state("networkidle")
    checker.check(f"{event}/edit (with errors)")
    # The door, with a person found.
    checker.goto(f"{event}/door")
    page.locator("#door-q").fill("Ada")
    page.locator("#door-q").press("Enter")
    expect(page.locator(".door-card").first).to_be_visible()
    checker.check(f"{event}/door (a person found)")

    report = "\n".join(
        f"{path}:\n  " + "\n  ".join(found) for path, found in checker.problems.items()
    )
    assert not checker.problems, f"axe [{lang}, {viewport}]:\n{report}"


def test_pages_checked_by_axe() -> None:
    """Prints how many pages axe checked in this run (shown with `-rA`; README figure)."""
    runs = Counter((lang, viewport) for lang, viewport, _path in CHECKED)
    print(
        f"axe-core checked {len(CHECKED)} page views: "
        f"{max(runs.values(), default=0)} pages in each of {len(runs)} runs "
        f"({', '.join(f'{lang}/{viewport}' for lang, viewport in sorted(runs))})"
    )


def test_the_check_catches_a_serious_violation(context_for: Callable[..., BrowserContext]) -> None:
    """The harness itself: an image without a text alternative and an unlabelled field fail."""
    page = context_for("desktop").new_page()
    page.set_content('<html lang="en"><main><img src="x.png"><input type="text"></main></html>')
    problems = axe_problems(page)
    assert any(p.startswith("image-alt (critical)") for p in problems), problems
    assert any(p.startswith("label (critical)") for p in problems), problems
