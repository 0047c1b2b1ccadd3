"""Log in by emailed link: asking for one, following it once, its limits; and the log-in
and sign-up pages that name the event the person is on their way to."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from eventsite.accounts import login_links, tokens
from eventsite.extensions import db
from eventsite.models import EventStatus, OutboxMessage, User
from eventsite.timeutil import utcnow

from ..servers import at_once, request

pytestmark = pytest.mark.usefixtures("smtp_sink")

ASK = "/login/link"


def ask_for_link(client, email: str, next_path: str | None = None):
    query = {"next": next_path} if next_path else {}
    return client.post(ASK, query_string=query, data={"link-email": email})


def location(response) -> str:
    assert response.status_code == 302, response.status_code
    parts = urlsplit(response.headers["Location"])
    return parts.path + (f"?{parts.query}" if parts.query else "")


def flashes(client) -> list[str]:
    with client.session_transaction() as session:
        return [message for _category, message in session.get("_flashes", [])]


def outbox_count() -> int:
    return db.session.scalar(select(func.count()).select_from(OutboxMessage))


def heading(page: str) -> str:
    match = re.search(r"<h1>(.*?)</h1>", page, re.S)
    assert match, "no heading"
    return match.group(1).strip()


def logged_in_as(client) -> str | None:
    """The address the account page shows, or None when nobody is logged in."""
    response = client.get("/account/")
    if response.status_code != 200:
        return None
    return re.search(r'<p class="muted">\s*([^\s<]+)', response.get_data(as_text=True)).group(1)


# --- asking for a link and following it ----------------------------------------------------------


def test_the_log_in_page_offers_a_link_by_email(client) -> None:
    page = client.get("/login").get_data(as_text=True)
    assert "Email me a log-in link" in page
    assert f'action="{ASK}"' in page
    assert 'name="link-email"' in page
    assert "It works once, for 15 minutes." in page


def test_a_log_in_link_arrives_and_logs_in_once(app, client, make_user, mailbox) -> None:
    user = make_user(email="grace@example.org", name="Grace Hopper")

    response = ask_for_link(client, "Grace@Example.org ")
    assert location(response) == "/login"
    page = client.get("/login").get_data(as_text=True)
    assert "If an account uses grace@example.org, we have sent it a link to log in." in page
    assert 'value="grace@example.org"' in page  # the address stays filled in

    [message] = mailbox()
    assert message.rcpt_tos == ["grace@example.org"]
    assert "Your log-in link" in message.subject
    assert "Hello Grace Hopper," in message.text
    assert "The link works once, for 15 minutes." in message.text
    link = message.link("/login/link/")
    assert link in html.unescape(message.html).replace("http://127.0.0.1:5000", "")

    # Opening the link only shows a button: a mail scanner opening it logs nobody in.
    opened = client.get(link)
    assert opened.status_code == 200
    assert "Log in as <bdi>grace@example.org</bdi>." in opened.get_data(as_text=True)
    assert logged_in_as(client) is None

    followed = client.post(link)
    assert location(followed) == "/"
    assert logged_in_as(client) == "grace@example.org"
    db.session.expire_all()
    assert db.session.get(User, user.id).last_login_at is not None

    # The second use, in this browser or another, is refused and offers a new link.
    for browser in (client, app.test_client()):
        for again in (browser.get(link), browser.post(link)):
            assert again.status_code == 400
            page = again.get_data(as_text=True)
            assert "This link does not work" in page
            assert "This link has already been used or is no longer valid." in page
    page = app.test_client().get(link).get_data(as_text=True)
    assert 'href="/login#login-link">Ask for a new log-in link</a>' in page


def test_a_log_in_link_can_keep_the_person_logged_in(client, make_user, mailbox) -> None:
    make_user(email="grace@example.org")
    ask_for_link(client, "grace@example.org")
    link = mailbox()[0].link("/login/link/")
    response = client.post(link, data={"remember": "y"})
    assert response.status_code == 302
    assert "remember_token=" in response.headers.get("Set-Cookie", "")


def test_using_one_link_spends_every_link_sent_before(client, make_user, mailbox) -> None:
    make_user(email="grace@example.org")
    login_links.request_login_link("grace@example.org", utcnow() - timedelta(minutes=1))
    db.session.commit()
    ask_for_link(client, "grace@example.org")
    first, second = (message.link("/login/link/") for message in mailbox())
    assert first != second

    assert client.post(second).status_code == 302
    assert client.get(first).status_code == 400


def test_a_link_dies_with_a_log_in_by_password_or_a_log_out(
    app, client, make_user, login, mailbox
) -> None:
    user = make_user(email="grace@example.org")
    ask_for_link(client, "grace@example.org")
    link = mailbox()[0].link("/login/link/")
    other_device = app.test_client()
    other_device.post(
        "/login",
        data={"email": "grace@example.org", "password": "correct horse battery staple"},
    )
    assert client.get(link).status_code == 400

    ask_for_link(client, "grace@example.org")
    link = mailbox()[0].link("/login/link/")
    login(user)
    client.post("/logout")  # which ends every session of the account, and its links
    assert client.get(link).status_code == 400


def test_an_expired_or_forged_link_is_refused_with_a_way_to_ask_again(
    client, make_user, mailbox
) -> None:
    user = make_user(email="grace@example.org")
    fingerprint = tokens.login_fingerprint(user.email, user.session_token, user.last_login_at)
    sixteen_minutes_ago = utcnow() - timedelta(minutes=16)
    old = tokens.make_token(
        tokens.LOGIN_LINK, {"uid": user.id, "fp": fingerprint}, sixteen_minutes_ago
    )
    path = f"/login/link/{old}?next=/events/"
    for response in (client.get(path), client.post(path)):
        assert response.status_code == 400
        page = response.get_data(as_text=True)
        assert "This link has expired. Ask for a new one." in page
        assert 'href="/login?next=/events/#login-link">Ask for a new log-in link</a>' in page
    assert logged_in_as(client) is None

    # Fourteen minutes old, it works.
    fresh = tokens.make_token(
        tokens.LOGIN_LINK, {"uid": user.id, "fp": fingerprint}, utcnow() - timedelta(minutes=14)
    )
    assert client.get(f"/login/link/{fresh}").status_code == 200

    # The service refuses a link past LOGIN_LINK_MAX_AGE by the clock it is given.
    ask_for_link(client, "grace@example.org")
    token = mailbox()[0].link("/login/link/").rsplit("/", 1)[1]
    with pytest.raises(tokens.TokenError, match="expired"):
        login_links.user_for_login_link(token, utcnow() + timedelta(minutes=16))

    for forged in (f"{token[:-2]}xx", "nonsense", "a" * 3000):
        assert client.post(f"/login/link/{forged}").status_code in (400, 404)
    # A token made for another purpose is not a log-in link.
    reset = tokens.make_token(tokens.RESET_PASSWORD, {"uid": user.id, "fp": fingerprint}, utcnow())
    assert client.post(f"/login/link/{reset}").status_code == 400
    assert logged_in_as(client) is None


def test_following_a_link_confirms_an_unverified_address(client, make_user, mailbox) -> None:
    user = make_user(email="grace@example.org", email_verified_at=None)
    ask_for_link(client, "grace@example.org")
    client.post(mailbox()[0].link("/login/link/"))
    db.session.expire_all()
    assert db.session.get(User, user.id).is_verified
    assert "Please confirm your email address" not in client.get("/account/").get_data(as_text=True)


def test_an_unknown_address_gets_the_same_page_and_a_note(app, make_user, mailbox) -> None:
    make_user(email="grace@example.org")
    known, unknown = app.test_client(), app.test_client()
    known_answer = ask_for_link(known, "grace@example.org", "/events/")
    unknown_answer = ask_for_link(unknown, "nobody@example.org", "/events/")

    assert location(known_answer) == location(unknown_answer) == "/login?next=/events/"
    assert [f.replace("grace", "nobody") for f in flashes(known)] == flashes(unknown)

    messages = {m.rcpt_tos[0]: m for m in mailbox()}
    assert set(messages) == {"grace@example.org", "nobody@example.org"}
    note = messages["nobody@example.org"]
    assert "no account uses it" in note.text
    assert "/login/link/" not in note.text
    assert parse_qs(urlsplit(note.link("/signup")).query)["next"] == ["/events/"]


def test_the_link_returns_to_next_and_only_on_this_site(client, make_user, make_event, mailbox):
    event = make_event()
    form_path = f"/events/{event.slug}/register"
    make_user(email="grace@example.org")

    ask_for_link(client, "grace@example.org", form_path)
    link = mailbox()[0].link("/login/link/")
    assert parse_qs(urlsplit(link).query)["next"] == [form_path]
    assert location(client.post(link)) == form_path
    assert client.get(form_path).status_code == 200

    client.post("/logout")
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil"):
        ask_for_link(client, "grace@example.org", target)
        link = mailbox()[0].link("/login/link/")
        assert "next=" not in link
        # Even a link edited by hand only ever leads to this site.
        assert location(client.post(f"{link}?next={target}")) == "/"
        client.post("/logout")


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("", "This field is required."),
        ("not-an-address", "Enter a valid email address."),
        ("a" * 300 + "@example.org", "Field cannot be longer than 254 characters."),
        ("grace@example.org\r\nBcc: x@example.org", "Enter a single email address."),
        ("grace\x00@example.org", "Enter a single email address."),
    ],
)
def test_bad_input_gets_a_clear_message_and_sends_nothing(
    client, make_user, email, message
) -> None:
    make_user(email="grace@example.org")
    response = ask_for_link(client, email)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page
    assert "Email me a log-in link" in page
    assert outbox_count() == 0


@pytest.mark.usefixtures("csrf_enabled")
def test_without_its_csrf_token_nothing_is_sent(client, make_user) -> None:
    make_user(email="grace@example.org")
    response = ask_for_link(client, "grace@example.org")
    assert response.status_code == 400
    assert "sent without its security token" in response.get_data(as_text=True)
    assert outbox_count() == 0

    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="link-csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post(ASK, data={"link-email": "grace@example.org", "link-csrf_token": token})
    assert response.status_code == 302
    assert outbox_count() == 1


# --- rate limits ---------------------------------------------------------------------------------


@pytest.fixture
def link_limits(app_config) -> None:
    app_config.update(
        {
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_LOGIN_LINK": "3/minute",
            "RATELIMIT_LOGIN_LINK_ADDRESS": "2/hour",
        }
    )


def _from(app, address: str):
    browser = app.test_client()
    browser.environ_base["REMOTE_ADDR"] = address
    return browser


@pytest.mark.usefixtures("link_limits")
def test_asking_for_links_is_limited_per_ip_address(app) -> None:
    browser = _from(app, "192.0.2.1")
    for n in range(3):
        assert location(ask_for_link(browser, f"person-{n}@example.org")) == "/login"
    response = ask_for_link(browser, "person-9@example.org")
    assert response.status_code == 429
    assert "You have tried this too many times" in response.get_data(as_text=True)
    assert outbox_count() == 3
    assert browser.get("/login").status_code == 200  # reading the page is not limited


@pytest.mark.usefixtures("link_limits")
def test_asking_for_links_is_limited_per_address_whatever_the_ip(app, make_user) -> None:
    make_user(email="grace@example.org")
    for address in ("unknown@example.org", "grace@example.org"):
        for n in range(2):
            assert ask_for_link(_from(app, f"198.51.100.{n}"), address).status_code == 302
        refused = ask_for_link(_from(app, "203.0.113.7"), address.upper())
        assert refused.status_code == 429, address
        assert "You have tried this too many times" in refused.get_data(as_text=True)
    assert outbox_count() == 4
    # Another address from the same IP address is still served.
    assert ask_for_link(_from(app, "203.0.113.7"), "other@example.org").status_code == 302


# --- the log-in page on the way to an event ------------------------------------------------------


def test_the_log_in_page_from_an_events_form_names_the_event_and_returns_there(
    client, make_user, make_event
) -> None:
    event = make_event(title='Open <Science> & "Data" Forum')
    form_path = f"/events/{event.slug}/register"
    make_user(email="grace@example.org")

    # The one-step form offers to log in instead, and comes back.
    form_page = client.get(form_path).get_data(as_text=True)
    login_path = html.unescape(
        re.search(r'<p class="login-offer">[^<]*<a href="([^"]+)"', form_page).group(1)
    )
    assert parse_qs(urlsplit(login_path).query)["next"] == [form_path]
    page = client.get(login_path).get_data(as_text=True)
    assert heading(page) == "Log in to register for Open &lt;Science&gt; &amp; &#34;Data&#34; Forum"
    assert "<title>Log in to register for Open &lt;Science&gt;" in page
    # Both forms and the sign-up link carry the way back.
    assert f'action="/login?next={form_path}"' in page
    assert f'action="/login/link?next={form_path}"' in page
    signup_path = html.unescape(
        re.search(r'href="(/signup[^"]*)">Create an account</a>', page).group(1)
    )
    assert parse_qs(urlsplit(signup_path).query)["next"] == [form_path]
    signup_page = client.get(signup_path).get_data(as_text=True)
    assert heading(signup_page).startswith("Create your account to register for Open &lt;Science")

    response = client.post(
        login_path,
        data={"email": "grace@example.org", "password": "correct horse battery staple"},
    )
    assert location(response) == form_path


def test_the_log_in_page_from_an_event_page_names_it(client, make_event) -> None:
    event = make_event(title="Open Science Forum")
    page = client.get(f"/events/{event.slug}").get_data(as_text=True)
    login_path = html.unescape(re.search(r'href="(/login\?next=[^"]*)"', page).group(1))
    assert heading(client.get(login_path).get_data(as_text=True)) == (
        "Log in to continue to Open Science Forum"
    )


@pytest.mark.parametrize(
    "next_path",
    [
        None,
        "/events/",
        "/events/no-such-event/register",
        "/events/draft-event/register",
        "https://evil.example/events/open-forum/register",
        "/events/%00/register",
        "/events/" + "x" * 1000,
    ],
)
def test_the_log_in_page_names_only_published_events(client, make_event, next_path) -> None:
    make_event(title="Draft Event", slug="draft-event", status=EventStatus.DRAFT)
    make_event(title="Open Forum", slug="open-forum")
    for path in ("/login", "/signup"):
        response = client.get(path, query_string={"next": next_path} if next_path else {})
        assert response.status_code == 200
        assert heading(response.get_data(as_text=True)) in ("Log in", "Create your account")


# --- under real concurrency ----------------------------------------------------------------------


@pytest.mark.slow
def test_one_link_followed_many_times_at_once_logs_in_once(make_user, gunicorn) -> None:
    user = make_user(email="grace@example.org")
    fingerprint = tokens.login_fingerprint(user.email, user.session_token, user.last_login_at)
    token = tokens.make_token(tokens.LOGIN_LINK, {"uid": user.id, "fp": fingerprint}, utcnow())
    server = gunicorn(workers=2, threads=4)

    path = f"/login/link/{token}"
    first = request(server.url, "GET", path)
    assert first.status == 200, (re.findall(r"<p>(.*?)</p>", first.body)[:1], server.log_text())
    answers = at_once([lambda: request(server.url, "POST", path, b"", {}, 120)] * 8)

    assert [a for a in answers if isinstance(a, Exception)] == []
    statuses = sorted(answer.status for answer in answers)
    assert statuses == [302] + [400] * 7, server.log_text()
