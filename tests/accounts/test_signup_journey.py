"""A newcomer's way from an event page to the registration form, through sign-up, the
confirmation email and log-in; and the header links each kind of person sees."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from eventsite.extensions import db
from eventsite.models import Registration, RegistrationStatus
from eventsite.organisations import services

pytestmark = pytest.mark.usefixtures("smtp_sink")

PASSWORD = "lovelace engine 1843"


def href(page: str, text: str) -> str:
    """The address of the link whose text is `text`."""
    match = re.search(rf'<a[^>]*href="([^"]+)"[^>]*>\s*{re.escape(text)}\s*</a>', page)
    assert match, f"no link {text!r}"
    return html.unescape(match.group(1))


def location(response) -> str:
    assert response.status_code == 302, response.status_code
    parts = urlsplit(response.headers["Location"])
    return parts.path + (f"?{parts.query}" if parts.query else "")


def test_sign_up_from_the_event_page_leads_back_to_the_registration_form(
    client, make_event, mailbox
) -> None:
    event = make_event(title="Open Science Forum", capacity=20)
    form_path = f"/events/{event.slug}/register"

    # The event page offers the one-step form (tests/registration/test_newcomer.py) and a
    # log-in; the sign-up page still leads back to where it was opened from.
    event_page = client.get(f"/events/{event.slug}").get_data(as_text=True)
    assert parse_qs(urlsplit(href(event_page, "Already have an account? Log in")).query)[
        "next"
    ] == [form_path]
    signup_path = f"/signup?next={form_path}"
    signup_page = client.get(signup_path)
    assert signup_page.status_code == 200
    assert '<form method="post" novalidate>' in signup_page.get_data(as_text=True)  # same URL

    # Logged in at once: back at the form, which would hold a place until it is confirmed.
    response = client.post(
        signup_path, data={"name": "Ada", "email": "ada@example.org", "password": PASSWORD}
    )
    assert location(response) == form_path
    form_page = client.get(form_path).get_data(as_text=True)
    assert "Your email address is not confirmed yet" in form_page

    [message] = mailbox()
    verify_path = message.link("/account/verify/")
    assert location(client.get(verify_path)) == form_path  # the link leads back to the form

    form_page = client.get(form_path).get_data(as_text=True)
    assert "Your email address is not confirmed yet" not in form_page
    assert "Thank you: your email address is confirmed." in form_page
    registered = client.post(form_path, data={})
    assert urlsplit(registered.headers["Location"]).path.startswith("/registrations/")
    [registration] = db.session.scalars(select(Registration)).all()
    assert registration.status == RegistrationStatus.CONFIRMED


def test_the_confirmation_link_opened_elsewhere_asks_to_log_in_then_returns_to_the_form(
    client, app, make_event, mailbox
) -> None:
    event = make_event()
    form_path = f"/events/{event.slug}/register"
    client.post(
        f"/signup?next={form_path}",
        data={"name": "Ada", "email": "ada@example.org", "password": PASSWORD},
    )
    [message] = mailbox()

    other_browser = app.test_client()
    login_path = location(other_browser.get(message.link("/account/verify/")))
    assert urlsplit(login_path).path == "/login"
    assert parse_qs(urlsplit(login_path).query)["next"] == [form_path]
    login_page = other_browser.get(login_path).get_data(as_text=True)
    assert 'value="ada@example.org"' in login_page  # the address is filled in
    response = other_browser.post(
        login_path, data={"email": "ada@example.org", "password": PASSWORD}
    )
    assert location(response) == form_path
    assert other_browser.get(form_path).status_code == 200


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil"])
def test_a_next_address_off_the_site_is_ignored_all_the_way(app, client, mailbox, target) -> None:
    response = client.post(
        "/signup",
        query_string={"next": target},
        data={"name": "Ada", "email": "ada@example.org", "password": PASSWORD},
    )
    assert location(response) == "/account/"
    [message] = mailbox()
    verify_path = message.link("/account/verify/")
    assert "next=" not in verify_path
    # Even a link edited by hand only ever leads to this site.
    assert location(client.get(verify_path + "?next=" + target)) == "/account/"
    assert location(app.test_client().get(verify_path + "?next=" + target)) == "/login"


def test_sign_up_with_a_taken_address_points_the_owner_back_to_the_form(
    client, make_user, make_event, mailbox
) -> None:
    event = make_event()
    make_user(email="ada@example.org")
    client.post(
        f"/signup?next=/events/{event.slug}/register",
        data={"name": "Ada", "email": "ada@example.org", "password": PASSWORD},
    )
    [message] = mailbox()
    login_link = message.link("/login")
    assert parse_qs(urlsplit(login_link).query)["next"] == [f"/events/{event.slug}/register"]


# --- the header --------------------------------------------------------------------------------


def test_the_header_shows_the_workspace_to_organisers_only(
    client, login, make_user, make_organisation, make_event
) -> None:
    make_organisation(slug="science-club")
    organiser = make_user(name="Olga Organiser")
    services.grant_membership(organiser.email, "science-club")
    db.session.commit()
    attendee = make_user(name="Anna Attendee")
    event = make_event()

    pages = ["/", "/events/", f"/events/{event.slug}", "/account/"]
    for path in pages[:3]:
        page = client.get(path).get_data(as_text=True)
        assert 'href="/manage/"' not in page
        assert "Log in" in page and "Sign up" in page

    login(attendee)
    for path in pages:
        page = client.get(path).get_data(as_text=True)
        assert "Anna Attendee" in page
        assert 'href="/manage/"' not in page and ">Workspace<" not in page

    login(organiser)
    for path in pages:
        page = client.get(path).get_data(as_text=True)
        assert href(page, "Workspace") == "/manage/"
        assert "Olga Organiser" in page
    assert client.get("/manage/").status_code == 200
