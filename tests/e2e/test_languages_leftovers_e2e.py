"""No English left in the other five languages: each page's visible sentences, read in a
real browser, compared with the same page in English. A sentence found in both is English
left over, unless it is the people's data (an event's title, an organisation's or a
person's name, an address) or a language's own name in the language menu."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from babel import Locale
from babel.messages.pofile import read_po
from flask import current_app
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from eventsite import i18n, markup
from eventsite.demo import data
from eventsite.extensions import db
from eventsite.models import AgendaSession, Event, Organisation, Speaker, Topic, User

from ..conftest import PASSWORD

pytestmark = pytest.mark.e2e

LANGUAGES = ("zh_Hans", "fr", "es", "ru", "ar")
FLAGSHIP = data.demo().events[0]
PUBLIC_PAGES = {  # the event page first: its screenshots
    "event": f"/events/{FLAGSHIP.slug}",
    "listing": "/events/",
    "register": f"/events/{FLAGSHIP.slug}/register",
    "sign-in": "/login",
    "sign-up": "/signup",
}
SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")
LETTERS = re.compile(r"[^\W\d_]{2,}")
EMAIL_OR_URL = re.compile(r"\S+@\S+|https?://\S+")


@pytest.fixture
def desktop(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    yield context.new_page()
    context.close()


def sentences(page: Page) -> list[str]:
    """The page's visible text, a line or a sentence at a time, spaces tidied."""
    found = []
    for line in page.locator("body").inner_text().splitlines():
        for sentence in SENTENCE_END.split(line):
            sentence = " ".join(sentence.split())
            if sentence:
                found.append(sentence)
    return found


def user_data() -> set[str]:
    """Everything people typed in (the site's name, the demo's programme, the accounts),
    each value with its spaces tidied."""
    values: list[str | None] = [current_app.config["SITE_NAME"]]
    for event in db.session.scalars(select(Event)):
        values += [event.title, event.summary, event.description, event.venue_name]
        values += [event.venue_address, event.city]
    for organisation in db.session.scalars(select(Organisation)):
        values += [organisation.name, organisation.description]
    for topic in db.session.scalars(select(Topic)):
        values += [topic.name, topic.description]
    for speaker in db.session.scalars(select(Speaker)):
        values += [speaker.name, speaker.affiliation, speaker.bio, *speaker.honours.splitlines()]
    for session in db.session.scalars(select(AgendaSession)):
        values += [session.title, session.description]
    for user in db.session.scalars(select(User)):
        values += [user.name, user.email]
    # Descriptions are Markdown: the page shows their text.
    texts = [markup.markdown_to_text(value) for value in values if value]
    lines = [line for text in texts for line in text.splitlines()]  # headings, list items
    return {" ".join(text.split()) for text in [*values, *texts, *lines] if text and text.strip()}


# Names no translation changes: products, and time-zone abbreviations after a time.
NAMES = ("Outlook.com", "Google Calendar", "Apple Calendar", "Thunderbird")
ZONE_ABBREVIATION = re.compile(r"\b[A-Z]{2,5}\b")
# Country names, which many languages spell as English does (Kenya, Canada), longest first.
PLACE_NAMES = sorted(
    {name for code in ("en", *LANGUAGES) for name in Locale.parse(code).territories.values()},
    key=len,
    reverse=True,
)


def same_in_both(code: str) -> set[str]:
    """Messages the language's translator kept as they are in English (Forum, Format)."""
    path = Path(__file__).parents[2] / "eventsite/translations" / code / "LC_MESSAGES/messages.po"
    with path.open("rb") as po:
        return {m.id for m in read_po(po) if isinstance(m.id, str) and m.id and m.string == m.id}


def is_typed(sentence: str, typed: set[str]) -> bool:
    """A whole value people typed, or a piece of one long enough (three words) not to be a
    label of ours that happens to occur in a description, or a line made only of such
    values (a speaker's name and affiliation), names and times."""
    if sentence in typed:
        return True
    if len(sentence.split()) >= 3 and any(sentence in value for value in typed):
        return True
    rest = sentence
    for value in sorted((v for v in typed if len(v) >= 3), key=len, reverse=True):
        if value in rest:
            rest = rest.replace(value, " ")
    for name in (*NAMES, *PLACE_NAMES):
        rest = rest.replace(name, " ")
    return not LETTERS.search(ZONE_ABBREVIATION.sub(" ", rest))


def language_names() -> set[str]:
    """Each language's name in itself, as the switcher and a language menu show it."""
    names = set(i18n.LANGUAGES.values())
    for code in ("en", *LANGUAGES):
        locale = Locale.parse(code)
        names |= {locale.display_name, locale.get_display_name(locale), locale.language_name}
    return {name.casefold() for name in names if name}


def leftovers(english: Iterable[str], translated: Iterable[str], typed: set[str]) -> list[str]:
    """The translated page's sentences that are the English page's, but for the people's
    data, language names, addresses and text without words."""
    english_set = set(english)
    names = language_names()
    return [
        sentence
        for sentence in translated
        if sentence in english_set
        and LETTERS.search(EMAIL_OR_URL.sub("", sentence))
        and not is_typed(sentence, typed)
        and sentence.casefold() not in names
    ]


def in_language(path: str, code: str) -> str:
    return f"{path}{'&' if '?' in path else '?'}lang={code}"


def compare(page: Page, base: str, pages: dict[str, str], shot: Path) -> None:
    """Every page in every language against its English; a screenshot of the first page
    per language (`shot` with the language's code)."""
    typed = user_data()
    english = {key: _read(page, base + in_language(path, "en")) for key, path in pages.items()}
    problems = []
    for code in LANGUAGES:
        for key, path in pages.items():
            found = leftovers(
                english[key],
                _read(page, base + in_language(path, code)),
                typed | same_in_both(code),
            )
            problems += [f"{code} {path}: {sentence!r}" for sentence in found]
        page.goto(base + in_language(next(iter(pages.values())), code))
        page.screenshot(path=shot.with_name(f"{shot.stem}-{code}.png"), full_page=True)
    assert problems == [], "\n".join(problems)


def _read(page: Page, url: str) -> list[str]:
    page.goto(url)
    return sentences(page)


def test_the_coming_soon_page_has_no_english_left(
    desktop: Page, live_server: str, screenshots: Path
) -> None:
    compare(desktop, live_server, {"coming-soon": "/"}, screenshots / "languages-coming-soon")


def test_public_pages_have_no_english_left(
    desktop: Page, live_server: str, demo_data, screenshots: Path
) -> None:
    compare(desktop, live_server, PUBLIC_PAGES, screenshots / "languages-event")


def test_account_pages_have_no_english_left(
    desktop: Page, live_server: str, demo_data, make_user, screenshots: Path
) -> None:
    user = make_user(name="Grace Hopper", email="grace@example.org")
    desktop.goto(live_server + "/login?lang=en")
    desktop.fill("input[name=email]", user.email)
    desktop.fill("input[name=password]", PASSWORD)
    desktop.get_by_role("button", name="Log in", exact=True).click()
    expect(desktop.get_by_role("link", name="Grace Hopper")).to_be_visible()
    pages = {
        "account": "/account/",
        "settings": "/account/settings",
        "calendar": "/account/calendar/",
    }
    compare(desktop, live_server, pages, screenshots / "languages-account")
