"""Every sentence a visitor reads goes through gettext: the site rendered in a pseudo-locale,
where every message reads ⟦msgid⟧, shows no run of three English words outside ⟦…⟧ but the
fixtures' own data. This finds unwrapped strings without waiting for real catalogues."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from flask.testing import FlaskClient

from eventsite.extensions import db
from eventsite.models import (
    AgendaSession,
    Event,
    Question,
    QuestionKind,
    Registration,
    RegistrationStatus,
    SessionSpeaker,
    Speaker,
    Topic,
)
from eventsite.timeutil import utcnow

from .translations_support import CLOSE, OPEN

pytestmark = pytest.mark.usefixtures("pseudo_locale", "smtp_sink")

# What the fixtures below type in: names and places, never three English words in a row.
USER_DATA = (
    "Forum Ωmega",
    "Résumé Ωmega",
    "Détails Ωmega",
    "Palais Ωmega",
    "Rue Ωmega",
    "Genève",
    "Institut Ωmega",
    "Ada Ωmega",
    "Grace Ωmega",
    "Linus Ωmega",
    "Plénière Ωmega",
    "Affiliation Ωmega",
    "Aide Ωmega",
    "Climat Ωmega",
)
# Three words of Latin letters in a row (names of a single word or two pass).
ENGLISH_RUN = re.compile(r"[A-Za-z][a-z’']+(?:[ \t\u00a0]+[A-Za-z][a-z’']+){2,}")
INNERMOST = re.compile(f"{OPEN}[^{OPEN}{CLOSE}]*{CLOSE}")
# Attributes a person reads or hears.
READ_ATTRIBUTES = {"title", "aria-label", "placeholder", "alt", "aria-description"}


class VisibleText(HTMLParser):
    """Text nodes (not scripts or styles), <title>, the attributes a person reads or hears
    and the labels of buttons and the meta description."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in ("script", "style", "template"):
            self.skipping += 1
        for name, value in attrs:
            if value and name in READ_ATTRIBUTES:
                self.parts.append(value)
        if tag == "input" and values.get("type") in ("submit", "button") and values.get("value"):
            self.parts.append(values["value"] or "")
        # What a search engine or a shared link shows.
        if tag == "meta" and (
            values.get("name") in ("description", "twitter:image:alt")
            or (values.get("property") or "").startswith("og:")
        ):
            self.parts.append(values.get("content") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "template"):
            self.skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = VisibleText()
    parser.feed(html)
    return "\n".join(parser.parts)


def english_left(text: str, user_data: Iterable[str] = USER_DATA) -> list[str]:
    """Runs of English words left once every ⟦message⟧ and the fixtures' data are gone."""
    assert OPEN in text, f"not in the pseudo-locale: {text[:200]!r}"
    for value in user_data:
        text = text.replace(value, " ")
    previous = None
    while previous != text:
        previous, text = text, INNERMOST.sub(" ", text)
    return ENGLISH_RUN.findall(text)


def assert_all_translated(client: FlaskClient, path: str, method: str = "GET", **kw: Any) -> str:
    response = client.open(path, method=method, **kw)
    assert response.status_code < 500, path
    assert response.mimetype == "text/html", path
    html = response.get_data(as_text=True)
    assert '<html lang="ru"' in html, path
    assert english_left(visible_text(html)) == [], path
    return html


@pytest.fixture
def client(app) -> FlaskClient:
    """A browser asking for the pseudo-locale's language, whichever way the site chooses."""
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ru"
    return client


@pytest.fixture
def site(app, make_organisation, make_member, make_user) -> dict[str, Any]:
    now = utcnow()
    organisation = make_organisation(name="Institut Ωmega", slug="institut")
    member = make_member(organisation, name="Ada Ωmega", email="ada@example.org", language="ru")
    attendee = make_user(name="Grace Ωmega", email="grace@example.org", language="ru")
    topic = Topic(name="Climat Ωmega", slug="climat")
    starts = now + timedelta(days=40)
    event = Event(
        organisation=organisation,
        title="Forum Ωmega",
        slug="forum",
        kind="forum",
        summary="Résumé Ωmega",
        description="Détails Ωmega",
        search_text="forum",
        starts_at=starts,
        ends_at=starts + timedelta(hours=8),
        timezone="Europe/Zurich",
        venue_name="Palais Ωmega",
        venue_address="Rue Ωmega",
        city="Genève",
        country="CH",
        format="hybrid",
        online_url="https://meet.example.org/forum",
        capacity=50,
        has_waiting_list=True,
        status="published",
        published_at=now - timedelta(days=1),
        topics=[topic],
    )
    draft = Event(
        organisation=organisation,
        title="Plénière Ωmega",
        slug="pleniere",
        kind="conference",
        summary="Résumé Ωmega",
        description="",
        search_text="pleniere",
        starts_at=starts,
        ends_at=starts + timedelta(hours=2),
        timezone="Europe/Zurich",
        city="Genève",
        country="CH",
        format="in_person",
        status="draft",
    )
    cancelled = Event(
        organisation=organisation,
        title="Forum Ωmega",
        slug="annule",
        kind="workshop",
        summary="Résumé Ωmega",
        description="",
        search_text="annule",
        starts_at=starts,
        ends_at=starts + timedelta(hours=2),
        timezone="Asia/Tokyo",
        format="online",
        online_url="https://meet.example.org/annule",
        status="cancelled",
        published_at=now - timedelta(days=2),
        cancellation_reason="Détails Ωmega",
    )
    speaker = Speaker(name="Linus Ωmega")
    session = AgendaSession(
        event=event,
        title="Plénière Ωmega",
        starts_at=starts + timedelta(hours=1),
        ends_at=starts + timedelta(hours=2),
    )
    session.speaker_links.append(SessionSpeaker(speaker=speaker, position=0))
    question = Question(
        event=event,
        label="Affiliation Ωmega",
        help_text="Aide Ωmega",
        kind=QuestionKind.SHORT_TEXT,
        is_required=True,
        position=0,
    )
    registration = Registration(
        event=event,
        user=attendee,
        status=RegistrationStatus.CONFIRMED,
        answers={},
    )
    db.session.add_all([topic, event, draft, cancelled, session, question, registration])
    db.session.commit()
    return {
        "organisation": organisation,
        "member": member,
        "attendee": attendee,
        "event": event,
        "draft": draft,
        "session": session,
        "question": question,
        "registration": registration,
    }


def test_the_coming_soon_page_is_all_translated(client) -> None:
    assert_all_translated(client, "/")


def test_public_pages_are_all_translated(client, site) -> None:
    event = site["event"]
    for path in [
        "/",
        "/events/",
        "/events/calendar",
        f"/events/{event.slug}",
        f"/events/{event.slug}/share",
        f"/events/{event.slug}/register",
        "/organisations/institut",
        "/topics/climat",
        "/login",
        "/signup",
        "/password/forgot",
        "/notify",
        "/password/reset/no-such-token",
        "/account/verify/no-such-token",
        "/login/link/no-such-token",
        "/notify/confirm/no-such-token",
        "/alerts/confirm/no-such-token",
        "/events/annule",
        "/no-such-page",
    ]:
        assert_all_translated(client, path)


def test_forms_with_errors_are_all_translated(client, site) -> None:
    assert_all_translated(client, "/login", "POST", data={"email": "", "password": ""})
    assert_all_translated(client, "/events/forum/register", "POST", data={"email": "x"})
    assert_all_translated(client, "/events/", "DELETE")  # 405
    assert_all_translated(client, "/signup", "POST", data={"email": "not an address"})
    assert_all_translated(client, "/password/forgot", "POST", data={"email": "x"})


@pytest.mark.usefixtures("csrf_enabled")
def test_a_refused_csrf_token_is_explained_in_the_pages_language(client, site) -> None:
    html = assert_all_translated(client, "/login", "POST", data={"email": "a@example.org"})
    assert "⟦This form was sent without its security token." in html


def test_attendee_pages_are_all_translated(client, login, site) -> None:
    login(site["attendee"])
    public_id = site["registration"].public_id
    for path in [
        "/account/",
        "/account/settings",
        "/account/calendar/",
        f"/events/{site['event'].slug}",
        f"/registrations/{public_id}",
        f"/registrations/{public_id}/edit",
        f"/registrations/{public_id}/cancel",
        f"/registrations/{public_id}/ticket",
    ]:
        assert_all_translated(client, path)
    assert_all_translated(
        client, f"/registrations/{public_id}/edit", "POST", data={site["question"].field_name: ""}
    )


def test_workspace_pages_are_all_translated(client, login, site) -> None:
    login(site["member"])
    event, draft = site["event"].id, site["draft"].id
    organisation = site["organisation"].id
    for path in [
        "/manage/",
        f"/manage/organisations/{organisation}",
        f"/manage/organisations/{organisation}/events/new",
        f"/manage/organisations/{organisation}/api-tokens",
        f"/manage/organisations/{organisation}/webhooks",
        "/manage/organisations/new",
        f"/manage/events/{event}",
        f"/manage/events/{event}/edit",
        f"/manage/events/{event}/agenda",
        f"/manage/events/{event}/sessions/{site['session'].id}",
        f"/manage/events/{event}/questions",
        f"/manage/events/{event}/questions/{site['question'].id}",
        f"/manage/events/{event}/registrants",
        f"/manage/events/{event}/email",
        f"/manage/events/{event}/statistics",
        f"/manage/events/{event}/badges",
        f"/manage/events/{event}/door",
        f"/manage/events/{event}/cancel",
        f"/manage/events/{event}/duplicate",
        f"/manage/events/{draft}/delete",
        f"/manage/events/{draft}",
        "/account/organisations/institut/calendar",
    ]:
        assert_all_translated(client, path)
    assert_all_translated(
        client, f"/manage/organisations/{organisation}/events/new", "POST", data={"title": ""}
    )


def test_emails_are_all_translated(client, site, mailbox) -> None:
    client.post("/password/forgot", data={"email": "grace@example.org"})
    client.post(
        "/events/forum/register",
        data={
            "name": "Linus Ωmega",
            "email": "linus@example.org",
            "country": "CH",
            site["question"].field_name: "Ωmega",
        },
    )
    messages = mailbox()
    assert len(messages) == 2
    for message in messages:
        assert english_left(message.subject) == [], message.subject
        assert english_left(message.text) == [], message.subject
        assert english_left(visible_text(message.html)) == [], message.subject


def test_calendar_text_and_exports_are_all_translated(client, login, site) -> None:
    login(site["member"])
    event = site["event"]
    for path in [
        f"/events/{event.slug}.ics",
        "/events/annule.ics",
        f"/manage/events/{event.id}/registrants.csv",
    ]:
        response = client.get(path)
        assert response.status_code == 200, path
        text = response.get_data(as_text=True).replace("\r\n ", "")
        assert english_left(text.replace("\\n", " ")) == [], path
