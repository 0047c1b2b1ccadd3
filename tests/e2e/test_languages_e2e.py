"""Choosing a language in a real browser: the switcher, remembered across pages and
across log-in, and Arabic laid out right to left."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from eventsite.accounts.models import User
from eventsite.extensions import db

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery staple"


def switcher(page: Page):
    return page.locator("nav.language-switcher")


def stored_language(user_id: int) -> str:
    db.session.rollback()
    language = db.session.get(User, user_id).language
    db.session.rollback()
    return language


def test_a_chosen_language_stays_across_pages_and_log_in(
    page: Page, live_server: str, make_event, make_user
) -> None:
    user = make_user(email="ada@example.org", name="Ada", language="en")
    event = make_event(title="Ocean Forum")
    db.session.commit()
    user_id, slug = user.id, event.slug
    db.session.rollback()  # the server writes: this thread holds no transaction meanwhile

    page.goto(live_server + "/events/")
    html = page.locator("html")
    expect(html).to_have_attribute("lang", "en")
    # The switcher works without JavaScript: links, each named in its own language.
    switcher(page).get_by_role("link", name="Français").click()
    expect(html).to_have_attribute("lang", "fr")
    expect(html).to_have_attribute("dir", "ltr")
    current = switcher(page).locator('a[aria-current="true"]')
    expect(current).to_have_text("Français")
    expect(current).to_have_attribute("lang", "fr")

    # Another page, without `lang` in its address: still French (the cookie).
    page.get_by_role("link", name="Ocean Forum").first.click()
    expect(page).to_have_url(f"{live_server}/events/{slug}")
    expect(html).to_have_attribute("lang", "fr")

    # Log in (by keyboard): the page stays French, and the account remembers it.
    page.goto(live_server + "/login")
    expect(html).to_have_attribute("lang", "fr")
    page.locator('input[name="email"]').fill("ada@example.org")
    page.locator('input[name="password"]').fill(PASSWORD)
    page.locator('input[name="password"]').press("Enter")
    expect(page.get_by_role("link", name="Ada")).to_be_visible()
    expect(html).to_have_attribute("lang", "fr")
    page.goto(f"{live_server}/events/{slug}")
    expect(html).to_have_attribute("lang", "fr")
    assert stored_language(user_id) == "fr"

    # Switching to Arabic while logged in: right to left, and the account follows.
    arabic = switcher(page).get_by_role("link", name="العربية")
    arabic.focus()
    page.keyboard.press("Enter")
    expect(html).to_have_attribute("lang", "ar")
    expect(html).to_have_attribute("dir", "rtl")
    assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"
    page.goto(live_server + "/events/")
    expect(html).to_have_attribute("dir", "rtl")
    assert stored_language(user_id) == "ar"


def test_a_first_visit_follows_the_browsers_language(browser, live_server: str, make_event) -> None:
    make_event(title="Ocean Forum")
    db.session.commit()
    context = browser.new_context(locale="zh-CN")
    try:
        page = context.new_page()
        page.goto(live_server + "/events/")
        expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
        current = switcher(page).locator('a[aria-current="true"]')
        expect(current).to_have_text("简体中文")
    finally:
        context.close()
