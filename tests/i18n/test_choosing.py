"""Choosing a language: `?lang=`, the account's, the `lang` cookie, Accept-Language, English;
remembering a choice; the switcher, hreflang and canonical addresses; bad input."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from eventsite import i18n
from eventsite.accounts.models import User
from eventsite.extensions import db

from ..conftest import PASSWORD

ONE_YEAR = 365 * 24 * 3600


def html_tag(body: str) -> str:
    match = re.search(r"<html [^>]*>", body)
    assert match is not None
    return match.group(0)


def page_language(response) -> str:
    return re.search(r'<html lang="([^"]+)"', response.get_data(as_text=True)).group(1)


@pytest.mark.parametrize(
    "header, tag",
    [
        ("fr-CH, fr;q=0.9, en;q=0.8", "fr"),
        ("ar", "ar"),
        ("zh-CN,zh;q=0.9", "zh-Hans"),
        ("de-DE, es;q=0.5", "es"),
        ("ru-RU", "ru"),
        ("de, nl", "en"),  # none of ours: English
    ],
)
def test_a_first_visit_gets_the_browsers_language(client, header, tag) -> None:
    response = client.get("/events/", headers={"Accept-Language": header})
    assert response.status_code == 200
    assert page_language(response) == tag
    assert response.headers["Content-Language"] == tag
    assert set(response.vary) >= {"Accept-Language", "Cookie"}
    assert "Set-Cookie" not in response.headers  # only a choice is remembered


@pytest.mark.parametrize(
    "code, words",
    [
        ("fr", "Événements à venir"),
        ("ar", "الفعاليات القادمة"),
        ("ru", "Предстоящие мероприятия"),
        ("en", "Upcoming events"),
    ],
)
def test_pages_speak_the_chosen_language(client, code, words) -> None:
    body = client.get(f"/events/?lang={code}").get_data(as_text=True)
    assert words in body


def test_arabic_pages_are_right_to_left_and_the_others_left_to_right(client) -> None:
    rtl = client.get("/events/?lang=ar").get_data(as_text=True)
    assert html_tag(rtl) == '<html lang="ar" dir="rtl">'
    for code, tag in (("en", "en"), ("zh_Hans", "zh-Hans"), ("fr", "fr"), ("ru", "ru")):
        body = client.get(f"/events/?lang={code}").get_data(as_text=True)
        assert html_tag(body) == f'<html lang="{tag}" dir="ltr">'


@pytest.mark.parametrize(
    "value, tag",
    [
        ("zh-Hans", "zh-Hans"),
        ("zh_Hans", "zh-Hans"),
        ("zh-CN", "zh-Hans"),
        ("zh", "zh-Hans"),
        ("ZH-hans", "zh-Hans"),
        ("FR", "fr"),
        ("fr-CA", "fr"),
        ("es", "es"),
        ("Ru", "ru"),
        ("ar", "ar"),
    ],
)
def test_lang_accepts_the_usual_spellings(client, value, tag) -> None:
    response = client.get(f"/events/?lang={value}")
    assert response.status_code == 200
    assert page_language(response) == tag


@pytest.mark.parametrize(
    "query",
    [
        "lang=xx",
        "lang=%3Cscript%3Ealert(1)%3C/script%3E",
        "lang=",
        "lang=" + "f" * 5000,
        "lang=fr&lang=ar",  # the first one counts
        "lang=%00",
        "lang=zh-Hant-TW-x-" + "a" * 40,
    ],
)
def test_an_unknown_or_malformed_lang_is_english_never_an_error(client, query) -> None:
    response = client.get(f"/events/?{query}")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "<script>alert" not in body
    expected = "fr" if query.startswith("lang=fr&") else "en"
    assert page_language(response) == expected


@pytest.mark.parametrize(
    "header",
    [";;;q=abc", "fr;q=abc", "*;q=0", "," * 300, "x" * 5000, "fr;q=0.1, " * 600, "\u00e9t\u00e9"],
)
def test_a_malformed_accept_language_is_never_an_error(client, header) -> None:
    response = client.get(
        "/events/", headers={"Accept-Language": header.encode().decode("latin-1")}
    )
    assert response.status_code == 200
    assert page_language(response) in ("en", "fr")


def test_choosing_with_lang_sets_a_cookie_for_a_year_and_later_pages_follow_it(
    client, make_event
) -> None:
    event = make_event(title="Ocean Forum")
    response = client.get("/events/?lang=fr", headers={"Accept-Language": "ar"})
    assert page_language(response) == "fr"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("lang=fr;")
    assert f"Max-Age={ONE_YEAR}" in cookie
    assert "SameSite=Lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # testing runs on http://
    assert response.headers["Cache-Control"] == "private, no-store"
    # The next pages, without `lang`, are French whatever the browser says.
    nxt = client.get(f"/events/{event.slug}", headers={"Accept-Language": "ar"})
    assert page_language(nxt) == "fr"
    assert "Set-Cookie" not in nxt.headers
    # A bad `lang` leaves the remembered one.
    assert page_language(client.get("/events/?lang=klingon")) == "fr"
    # Choosing again replaces it.
    again = client.get("/?lang=es")
    assert again.headers["Set-Cookie"].startswith("lang=es;")
    assert page_language(client.get("/events/")) == "es"


def test_the_language_cookie_is_secure_in_production(app_config, make_event) -> None:
    from eventsite import create_app

    app_config["SESSION_COOKIE_SECURE"] = True
    secure_app = create_app(app_config)
    with secure_app.test_client() as visitor:
        response = visitor.get("/events/?lang=ru")
    assert "Secure" in response.headers["Set-Cookie"]


def test_a_switch_while_logged_in_updates_the_account(client, make_user, login) -> None:
    user = make_user()
    login(user)
    response = client.get("/events/?lang=ar")
    assert page_language(response) == "ar"
    db.session.expire_all()
    assert db.session.get(User, user.id).language == "ar"
    # Another browser (no cookie), same account: Arabic, whatever Accept-Language says.
    other = client.application.test_client()
    with other.session_transaction() as session:
        session["_user_id"] = user.get_id()
    assert page_language(other.get("/events/", headers={"Accept-Language": "fr"})) == "ar"


def test_logging_in_keeps_the_language_chosen_on_this_browser(client, make_user) -> None:
    user = make_user(email="ada@example.org")
    assert user.language == "en"
    assert page_language(client.get("/events/?lang=fr")) == "fr"
    response = client.post("/login", data={"email": "ada@example.org", "password": PASSWORD})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).language == "fr"
    assert page_language(client.get("/events/")) == "fr"


def test_logging_in_without_a_choice_uses_the_accounts_language(client, make_user) -> None:
    make_user(email="ada@example.org", language="ru")
    client.post("/login", data={"email": "ada@example.org", "password": PASSWORD})
    assert page_language(client.get("/events/", headers={"Accept-Language": "fr"})) == "ru"


def test_signing_up_stores_the_pages_language(client) -> None:
    response = client.post(
        "/signup?lang=zh-CN",
        data={"name": "Li Na", "email": "li@example.org", "password": "quiet harbour lanterns"},
    )
    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.email == "li@example.org"))
    assert user.language == "zh_Hans"


def test_the_account_page_changes_the_language(client, make_user, login) -> None:
    user = make_user(name="Ada")
    login(user)
    page = client.get("/account/settings").get_data(as_text=True)
    assert '<option lang="ar" value="ar">العربية</option>' in page
    assert '<option lang="en" selected value="en">English</option>' in page
    response = client.post(
        "/account/profile",
        data={"profile-name": "Ada", "profile-country": "", "profile-language": "ru"},
    )
    assert response.status_code == 302
    assert response.headers["Set-Cookie"].startswith("lang=ru;")
    db.session.expire_all()
    assert db.session.get(User, user.id).language == "ru"
    assert page_language(client.get("/account/")) == "ru"
    refused = client.post(
        "/account/profile",
        data={"profile-name": "Ada", "profile-country": "", "profile-language": "klingon"},
    )
    assert refused.status_code == 422


def _switcher(body: str) -> str:
    match = re.search(r'<nav class="language-switcher".*?</nav>', body, re.S)
    assert match is not None
    return match.group(0)


def test_every_page_has_a_switcher_naming_each_language_in_itself(client, make_event) -> None:
    event = make_event(title="Ocean Forum")
    for path in ("/", "/events/", f"/events/{event.slug}", "/login", "/signup"):
        switcher = _switcher(client.get(path + "?lang=fr").get_data(as_text=True))
        links = re.findall(r"<a ([^>]*)>([^<]*)</a>", switcher)
        assert [name for _, name in links] == list(i18n.LANGUAGES.values())
        current = [attrs for attrs, _ in links if 'aria-current="true"' in attrs]
        assert len(current) == 1 and 'lang="fr"' in current[0]
        for attrs, _ in links:
            code = re.search(r'lang=([\w-]+)"', attrs).group(1)
            tag = i18n.html_lang(code)
            assert f'lang="{tag}"' in attrs and f'hreflang="{tag}"' in attrs
        assert 'href="' + path + '?lang=ar" lang="ar" hreflang="ar" dir="rtl"' in switcher


def test_the_switcher_keeps_the_other_query_values(client) -> None:
    switcher = _switcher(client.get("/events/?when=past&lang=fr").get_data(as_text=True))
    assert 'href="/events/?when=past&amp;lang=ru"' in switcher


def test_public_pages_name_their_alternates_and_canonical(client, make_event) -> None:
    event = make_event(title="Ocean Forum")
    english = client.get(f"/events/{event.slug}").get_data(as_text=True)
    alternates = dict(
        re.findall(r'<link rel="alternate" hreflang="([^"]+)" href="([^"]+)">', english)
    )
    base = f"http://localhost/events/{event.slug}"
    assert alternates == {
        "en": base,
        "zh-Hans": base + "?lang=zh_Hans",
        "fr": base + "?lang=fr",
        "es": base + "?lang=es",
        "ru": base + "?lang=ru",
        "ar": base + "?lang=ar",
        "x-default": base,
    }
    assert f'<link rel="canonical" href="{base}">' in english
    french = client.get(f"/events/{event.slug}?lang=fr").get_data(as_text=True)
    assert f'<link rel="canonical" href="{base}?lang=fr">' in french
    listing = client.get("/events/?lang=ar").get_data(as_text=True)
    assert '<link rel="alternate" hreflang="x-default" href="http://localhost/events/">' in listing


def test_normalise_and_resolve() -> None:
    assert i18n.normalise("zh-hans-cn") == "zh_Hans"
    assert i18n.normalise("zh-TW") == "zh_Hans"  # Chinese readers: the Chinese we have
    assert i18n.normalise("x" * 100) is None
    assert i18n.normalise(None) is None
    assert i18n.resolve("fr", "ar", "es", "ru") == ("fr", "query")
    assert i18n.resolve(None, "ar", "es", "ru") == ("ar", "account")
    assert i18n.resolve("bad", None, "es", "ru") == ("es", "cookie")
    assert i18n.resolve(None, None, "bad", "ru-RU,ru;q=0.9") == ("ru", "header")
    assert i18n.resolve(None, None, None, None) == ("en", "default")


def test_a_page_answering_a_form_switches_to_an_address_that_takes_a_get(
    client, make_user, login
) -> None:
    login(make_user(name="Ada"))
    response = client.post("/account/profile?lang=fr", data={"profile-name": ""})
    assert response.status_code == 422
    switcher = _switcher(response.get_data(as_text=True))
    assert 'href="/?lang=ar"' in switcher
    assert client.get("/?lang=ar").status_code == 200
