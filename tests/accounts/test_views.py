"""Accounts through HTTP: sign-up, verification, log-in/out, reset, the account page."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from eventsite.accounts import login_brake, services, tokens
from eventsite.accounts.views import safe_next_path
from eventsite.extensions import db
from eventsite.models import LoginFailure, OutboxMessage, User
from eventsite.organisations import services as organisation_services
from eventsite.timeutil import utcnow

pytestmark = pytest.mark.usefixtures("smtp_sink")

NEW_PASSWORD = "a brand new passphrase"


def signup(client, email="ada@example.org", password="lovelace engine 1843", **extra):
    data = {"name": "Ada Lovelace", "email": email, "password": password, **extra}
    return client.post("/signup", data=data)


def log_in(client, email, password, **extra):
    return client.post("/login", data={"email": email, "password": password, **extra})


def outbox_count() -> int:
    return db.session.scalar(select(func.count()).select_from(OutboxMessage))


# --- sign up and verification --------------------------------------------------------------------


@pytest.mark.usefixtures("default_password_hashing")
def test_signup_creates_an_unverified_account_logs_it_in_and_emails_a_link_that_verifies_it(
    client, mailbox
) -> None:
    response = signup(
        client, email="Ada@Example.ORG", affiliation="Analytical Society", country="GB"
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/"
    account_page = client.get("/account/")
    assert account_page.status_code == 200  # logged in at once
    page = account_page.get_data(as_text=True)
    assert "Welcome, you are logged in. We have sent a message to Ada@Example.ORG" in page
    assert "Please confirm your email address" in page  # the banner, until the link is used

    user = db.session.scalar(select(User))
    assert user.email == "ada@example.org"
    assert user.country == "GB"
    assert user.affiliation == "Analytical Society"
    assert not user.is_verified
    assert user.password_hash.startswith("scrypt:")

    (message,) = mailbox()
    assert message.rcpt_tos == ["ada@example.org"]
    assert "Confirm your email address" in message.subject
    link = message.link("/account/verify/")
    assert "verify" in message.html

    page = client.get(link, follow_redirects=True)
    assert page.status_code == 200
    assert "your email address is confirmed" in page.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, user.id).is_verified


def test_signup_form_shows_country_choices(client) -> None:
    html = client.get("/signup").get_data(as_text=True)
    assert '<option value="CH">Switzerland</option>' in html
    assert 'name="affiliation"' in html


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"email": "not-an-address"}, "Enter a valid email address."),
        ({"password": "short"}, "Use at least 10 characters."),
        ({"password": "password123"}, "too common"),
        ({"password": "ada@example.org"}, "too common"),
        ({"name": ""}, "This field is required."),
        ({"country": "XX"}, "Not a valid choice"),
    ],
)
def test_signup_rejects_bad_input_with_a_clear_message(client, fields, message) -> None:
    data = {"name": "Ada", "email": "ada@example.org", "password": "lovelace engine 1843"}
    data.update(fields)
    response = client.post("/signup", data=data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_signup_with_a_taken_address_tells_the_owner_and_asks_to_log_in(
    app, client, make_user, mailbox
) -> None:
    make_user(email="taken@example.org", name="Grace")
    fresh = signup(client, email="new@example.org")
    other_browser = app.test_client()
    taken = signup(other_browser, email="TAKEN@example.org")

    assert fresh.headers["Location"] == "/account/"
    assert taken.status_code == 302 and taken.headers["Location"] == "/login"
    assert other_browser.get("/account/").status_code == 302  # nobody is logged in
    login_page = other_browser.get("/login").get_data(as_text=True)
    assert "We have sent a message to TAKEN@example.org." in login_page
    assert 'value="TAKEN@example.org"' in login_page  # the address is filled in

    assert db.session.scalar(select(func.count()).select_from(User)) == 2
    messages = {m.rcpt_tos[0]: m for m in mailbox()}
    assert "already have an account" in messages["taken@example.org"].text
    assert "/password/forgot" in messages["taken@example.org"].text
    assert "Confirm your email address" in messages["new@example.org"].subject


def test_unverified_user_sees_the_banner_and_can_resend_the_link(client, make_user, login, mailbox):
    user = make_user(email_verified_at=None)
    login(user)
    page = client.get("/account/").get_data(as_text=True)
    assert "Please confirm your email address" in page
    assert 'action="/account/verify/resend"' in page

    response = client.post("/account/verify/resend", follow_redirects=True)
    assert "We have sent a new confirmation link" in response.get_data(as_text=True)
    (message,) = mailbox()
    assert message.rcpt_tos == [user.email]
    client.get(message.link("/account/verify/"))
    page = client.get("/account/").get_data(as_text=True)
    assert "Please confirm your email address" not in page


def test_verified_user_sees_no_banner(client, make_user, login) -> None:
    login(make_user())
    assert "Please confirm your email address" not in client.get("/account/").get_data(as_text=True)


def test_expired_and_forged_verification_links_are_refused(client, make_user) -> None:
    user = make_user(email_verified_at=None)
    old = tokens.make_token(
        tokens.VERIFY_EMAIL,
        {"uid": user.id, "email": user.email},
        utcnow() - timedelta(days=4),
    )
    response = client.get(f"/account/verify/{old}")
    assert response.status_code == 400
    assert "This link has expired" in response.get_data(as_text=True)

    response = client.get(f"/account/verify/{old[:-2]}xx")
    assert response.status_code == 400
    assert "This link is not valid" in response.get_data(as_text=True)

    # A reset token is not a verification token (one salt per purpose).
    reset = tokens.make_token(
        tokens.RESET_PASSWORD, {"uid": user.id, "email": user.email}, utcnow()
    )
    assert client.get(f"/account/verify/{reset}").status_code == 400
    db.session.expire_all()
    assert not db.session.get(User, user.id).is_verified


# --- log in and out ------------------------------------------------------------------------------


def test_login_with_remember_me_sets_a_cookie_and_follows_a_safe_next(client, make_user) -> None:
    user = make_user(email="grace@example.org")
    response = log_in(client, "Grace@Example.org", "correct horse battery staple", remember="y")
    assert response.status_code == 302
    assert client.get_cookie("remember_token") is not None
    page = client.get("/account/").get_data(as_text=True)
    assert user.name in page

    client.post("/logout")
    response = client.post(
        "/login?next=/account/",
        data={"email": user.email, "password": "correct horse battery staple"},
    )
    assert response.headers["Location"] == "/account/"


def _remember_days(client) -> float:
    cookie = client.get_cookie("remember_token")
    return (cookie.expires - datetime.now(UTC)).total_seconds() / 86400


def test_remember_me_lasts_30_days(client, make_user) -> None:
    user = make_user()
    log_in(client, user.email, "correct horse battery staple", remember="y")
    assert 29.9 < _remember_days(client) <= 30


@pytest.fixture(params=[7 * 86400, timedelta(days=7)], ids=["seconds", "timedelta"])
def remember_a_week(request, app_config) -> None:
    app_config["REMEMBER_COOKIE_DURATION"] = request.param  # seconds: as from the environment


def test_remember_me_duration_is_configurable(remember_a_week, client, make_user) -> None:
    user = make_user()
    log_in(client, user.email, "correct horse battery staple", remember="y")
    assert 6.9 < _remember_days(client) <= 7


def test_login_without_remember_me_sets_no_cookie(client, make_user) -> None:
    user = make_user()
    log_in(client, user.email, "correct horse battery staple")
    assert client.get_cookie("remember_token") is None


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/",
        "https://evil.example/",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "/ /evil",
        "/\t/evil.example",
        "http:/evil.example",
        "evil.example",
    ],
)
def test_login_next_never_leaves_the_site(client, make_user, target) -> None:
    user = make_user()
    response = client.post(
        "/login",
        query_string={"next": target},
        data={"email": user.email, "password": "correct horse battery staple"},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_safe_next_path_keeps_local_paths() -> None:
    assert safe_next_path("/events/a?b=1") == "/events/a?b=1"
    assert safe_next_path("/") == "/"
    assert safe_next_path(None) is None
    assert safe_next_path("/%2F%2Fevil") == "/%2F%2Fevil"  # a path here, not another host


def test_wrong_password_and_unknown_address_get_the_same_answer(client, make_user) -> None:
    user = make_user()
    wrong = log_in(client, user.email, "not the password at all")
    unknown = log_in(client, "nobody@example.org", "not the password at all")
    assert wrong.status_code == unknown.status_code == 422
    assert "The email address or password is not right." in wrong.get_data(as_text=True)
    assert "The email address or password is not right." in unknown.get_data(as_text=True)


def test_failed_logins_block_the_address_for_a_while(client, make_user) -> None:
    user = make_user()
    for _ in range(5):
        assert log_in(client, user.email, "wrong password here").status_code == 422
    # Even the right password is refused now, from any address.
    response = log_in(client, user.email, "correct horse battery staple")
    assert response.status_code == 422
    assert "Too many failed log-ins with this email address" in response.get_data(as_text=True)
    failures = db.session.get(LoginFailure, login_brake.address_key(user.email))
    assert failures.blocked_until > utcnow()

    # After the block, the right password works and the counter starts again.
    failures.blocked_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert log_in(client, user.email, "correct horse battery staple").status_code == 302


def test_the_lock_out_answers_alike_with_and_without_an_account(app, make_user) -> None:
    make_user(email="known@example.org")
    answers = {}
    for address in ("known@example.org", "unknown@example.org"):
        browser = app.test_client()
        for _ in range(5):
            assert log_in(browser, address, "wrong password here").status_code == 422
        response = log_in(browser, address, "correct horse battery staple")
        answers[address] = (
            response.status_code,
            response.get_data(as_text=True).replace(address, "ADDRESS"),
        )
    known, unknown = answers["known@example.org"], answers["unknown@example.org"]
    assert known == unknown
    assert known[0] == 422
    assert "Too many failed log-ins with this email address" in known[1]


def test_a_failed_log_in_takes_the_same_steps_with_and_without_an_account(
    client, make_user, count_queries
) -> None:
    make_user(email="known@example.org")
    statements = {}
    for address in ("known@example.org", "unknown@example.org"):
        with count_queries() as counter:
            assert log_in(client, address, "wrong password here").status_code == 422
        statements[address] = counter.statements
    assert statements["known@example.org"] == statements["unknown@example.org"]
    assert any(s.lstrip().upper().startswith("INSERT") for s in statements["known@example.org"])


def test_logout_is_a_post(client, make_user, login) -> None:
    login(make_user())
    assert client.get("/logout").status_code == 405
    response = client.post("/logout")
    assert response.status_code == 302
    assert client.get("/account/").status_code == 302  # to the login page


def _browser_with_cookie(app, name: str, value: str):
    """A fresh browser holding nothing but one cookie copied from another."""
    browser = app.test_client()
    browser.set_cookie(name, value)
    return browser


def test_logging_out_ends_copied_session_and_remember_cookies(app, client, make_user) -> None:
    user = make_user()
    log_in(client, user.email, "correct horse battery staple", remember="y")
    session_cookie = client.get_cookie("session").value
    remember_cookie = client.get_cookie("remember_token").value
    # Copies of either cookie open the account while the user is logged in...
    assert _browser_with_cookie(app, "session", session_cookie).get("/account/").status_code == 200
    assert (
        _browser_with_cookie(app, "remember_token", remember_cookie).get("/account/").status_code
        == 200
    )
    other_device = app.test_client()
    log_in(other_device, user.email, "correct horse battery staple")

    response = client.post("/logout", follow_redirects=True)
    assert "You are logged out. So is every other device" in response.get_data(as_text=True)

    # ... and none of them after the log-out.
    for browser in (
        _browser_with_cookie(app, "session", session_cookie),
        _browser_with_cookie(app, "remember_token", remember_cookie),
        other_device,
        client,
    ):
        response = browser.get("/account/")
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login")
    # Logging in again works as before.
    assert log_in(client, user.email, "correct horse battery staple").status_code == 302
    assert client.get("/account/").status_code == 200


def test_a_forged_or_missing_session_cookie_is_an_anonymous_visit(app, client, make_user) -> None:
    user = make_user()
    log_in(client, user.email, "correct horse battery staple")
    session_cookie = client.get_cookie("session").value
    assert _browser_with_cookie(app, "session", session_cookie).get("/account/").status_code == 200
    for value in (session_cookie[:-3] + "abc", "not-signed-at-all", ""):
        browser = _browser_with_cookie(app, "session", value)
        response = browser.get("/account/")
        assert response.status_code == 302 and response.headers["Location"].startswith("/login")
        assert "Log in" in browser.get("/events/").get_data(as_text=True)
    # No cookie at all: nothing to unsign, and nothing set in return on a plain page.
    response = app.test_client().get("/events/")
    assert response.status_code == 200 and "Set-Cookie" not in response.headers


def test_a_new_secret_key_keeps_sessions_only_through_its_fallbacks(app, client, make_user) -> None:
    user = make_user()
    log_in(client, user.email, "correct horse battery staple")
    assert client.get("/account/").status_code == 200
    old = app.secret_key
    try:
        app.secret_key = "a brand new secret key for this test"
        app.config["SECRET_KEY_FALLBACKS"] = [old]
        assert client.get("/account/").status_code == 200  # signed with the old key
        app.config["SECRET_KEY_FALLBACKS"] = []
        assert client.get("/account/").status_code == 302  # no key signs it any more
    finally:
        app.secret_key = old
        app.config["SECRET_KEY_FALLBACKS"] = []


@pytest.mark.usefixtures("csrf_enabled")
def test_csrf_missing_or_wrong_is_refused(client, make_user, login) -> None:
    user = make_user()
    login(user)
    # Logging out, changing the password, deleting: all refused without the token.
    for path, data in [
        ("/logout", {}),
        ("/logout", {"csrf_token": "wrong"}),
        ("/account/password", {"password-current_password": "x", "password-new_password": "y"}),
        ("/account/delete", {"delete-password": "correct horse battery staple"}),
        ("/account/verify/resend", {}),
    ]:
        response = client.post(path, data=data)
        assert response.status_code == 400, path
        assert "Please reload the page and send it again." in response.get_data(as_text=True)
    assert client.get("/account/").status_code == 200  # still logged in
    assert db.session.get(User, user.id) is not None

    # Log-in without a token: refused too.
    client.post("/logout", data={"csrf_token": _csrf(client, "/account/")})
    response = log_in(client, user.email, "correct horse battery staple")
    assert response.status_code == 400
    assert "sent without its security token" in response.get_data(as_text=True)
    assert client.get("/account/").status_code == 302


def _csrf(client, path: str) -> str:
    html = client.get(path).get_data(as_text=True)
    tag = re.search(r'<input[^>]*name="csrf_token"[^>]*>', html).group(0)
    return re.search(r'value="([^"]+)"', tag).group(1)


@pytest.mark.usefixtures("csrf_enabled")
def test_with_csrf_on_the_real_forms_work(client, make_user) -> None:
    user = make_user()
    token = _csrf(client, "/login")
    response = client.post(
        "/login",
        data={"email": user.email, "password": "correct horse battery staple", "csrf_token": token},
    )
    assert response.status_code == 302
    response = client.post("/logout", data={"csrf_token": _csrf(client, "/account/")})
    assert response.status_code == 302


# --- forgotten password --------------------------------------------------------------------------


def test_forgotten_password_answers_alike_and_does_the_same_work_for_any_address(
    app, make_user, mailbox, count_queries
) -> None:
    make_user(email="known@example.org")
    answers, statements = {}, {}
    for address in ("known@example.org", "unknown@example.org"):
        browser = app.test_client()
        with count_queries() as counter:
            response = browser.post("/password/forgot", data={"email": address})
        statements[address] = counter.statements
        page = browser.get(response.headers["Location"])
        answers[address] = [
            response.status_code,
            response.headers["Location"],
            response.get_data(as_text=True),
            page.status_code,
            page.get_data(as_text=True).replace(address, "ADDRESS"),
        ]
    known, unknown = answers["known@example.org"], answers["unknown@example.org"]
    assert known == unknown
    assert known[0] == 302
    assert "If an account uses ADDRESS, we have sent it a link" in known[4]
    # One lookup and one queued message each: the outbox sends them after the request.
    assert statements["known@example.org"] == statements["unknown@example.org"]

    messages = {m.rcpt_tos[0]: m for m in mailbox()}
    assert set(messages) == {"known@example.org", "unknown@example.org"}
    assert messages["known@example.org"].subject == "Reset your password"
    assert messages["known@example.org"].link("/password/reset/")
    note = messages["unknown@example.org"]
    assert note.subject == "About your password request on eventsite"
    assert "no account uses it" in note.text
    assert "/password/reset/" not in note.text
    assert note.link("/signup")


def test_reset_link_sets_a_new_password_once(app, client, make_user, mailbox) -> None:
    user = make_user()
    old_token = user.session_token
    stolen = app.test_client()
    log_in(stolen, user.email, "correct horse battery staple", remember="y")
    remember_cookie = stolen.get_cookie("remember_token").value
    client.post("/password/forgot", data={"email": user.email})
    (message,) = mailbox()
    link = message.link("/password/reset/")
    assert client.get(link).status_code == 200

    response = client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    db.session.expire_all()
    changed = db.session.get(User, user.id)
    assert changed.session_token != old_token  # other sessions end, copies included
    assert stolen.get("/account/").status_code == 302
    assert (
        _browser_with_cookie(app, "remember_token", remember_cookie).get("/account/").status_code
        == 302
    )
    assert log_in(client, user.email, NEW_PASSWORD).status_code == 302

    # Used once: the same link is dead now.
    reused = client.get(link)
    assert reused.status_code == 400
    assert "already been used" in reused.get_data(as_text=True)
    response = client.post(
        link, data={"password": "another passphrase", "confirm": "another passphrase"}
    )
    assert response.status_code == 400


def test_reset_link_expires_after_an_hour(client, make_user) -> None:
    user = make_user()
    payload = {"uid": user.id, "pw": tokens.password_fingerprint(user.password_hash)}
    fresh = tokens.make_token(tokens.RESET_PASSWORD, payload, utcnow() - timedelta(minutes=59))
    stale = tokens.make_token(tokens.RESET_PASSWORD, payload, utcnow() - timedelta(minutes=61))
    assert client.get(f"/password/reset/{fresh}").status_code == 200
    response = client.get(f"/password/reset/{stale}")
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)


def test_reset_link_dies_when_the_password_changes_otherwise(client, make_user, login) -> None:
    user = make_user()
    services.request_password_reset(user.email, utcnow())
    db.session.commit()
    (row,) = db.session.scalars(select(OutboxMessage)).all()
    link = re.search(r"http://localhost(/password/reset/\S+)", row.body_text).group(1)
    login(user)
    client.post(
        "/account/password",
        data={
            "password-current_password": "correct horse battery staple",
            "password-new_password": NEW_PASSWORD,
            "password-confirm": NEW_PASSWORD,
        },
    )
    assert client.get(link).status_code == 400


def test_reset_rejects_a_weak_password(client, make_user) -> None:
    user = make_user()
    token = tokens.make_token(
        tokens.RESET_PASSWORD,
        {"uid": user.id, "pw": tokens.password_fingerprint(user.password_hash)},
        utcnow(),
    )
    response = client.post(
        f"/password/reset/{token}", data={"password": "qwertyuiop", "confirm": "qwertyuiop"}
    )
    assert response.status_code == 422
    assert "too common" in response.get_data(as_text=True)
    assert response.headers["Referrer-Policy"] == "no-referrer"


# --- the account page ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/account/", "/account/settings"])
def test_account_pages_require_login(client, path) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert "/login?next=" in response.headers["Location"]


def test_the_account_page_shows_events_and_leads_to_the_settings(client, make_user, login) -> None:
    login(make_user(name="Ada Lovelace", email="ada@example.org"))
    account = client.get("/account/")
    page = account.get_data(as_text=True)
    assert account.headers["Cache-Control"] == "private, no-store"
    assert "My events" in page and "Your calendar" in page and "ada@example.org" in page
    assert 'href="/account/settings"' in page and "Account settings" in page
    assert 'name="profile-name"' not in page and 'name="delete-password"' not in page

    settings = client.get("/account/settings")
    text = settings.get_data(as_text=True)
    assert settings.status_code == 200
    assert settings.headers["Cache-Control"] == "private, no-store"
    assert "<h1>Account settings</h1>" in text and 'href="/account/"' in text
    for name in ("profile-name", "email-new_email", "password-new_password", "delete-password"):
        assert f'name="{name}"' in text
    assert 'href="/account/data.json"' in text
    assert "My events" not in text


def test_profile_edit(client, make_user, login) -> None:
    user = make_user()
    login(user)
    saved = client.post(
        "/account/profile",
        data={
            "profile-name": "Ada King",
            "profile-affiliation": "Royal Society",
            "profile-country": "GB",
        },
    )
    assert saved.headers["Location"] == "/account/settings"  # back where the form was
    response = client.get(saved.headers["Location"])
    assert "Your profile is saved." in response.get_data(as_text=True)
    db.session.expire_all()
    user = db.session.get(User, user.id)
    assert (user.name, user.affiliation, user.country) == ("Ada King", "Royal Society", "GB")

    response = client.post("/account/profile", data={"profile-name": "Ada\r\nBcc: x@example.org"})
    assert response.status_code == 422
    assert "keep this on one line" in response.get_data(as_text=True)


def test_change_email_takes_effect_only_when_the_new_address_confirms(
    client, make_user, login, mailbox
) -> None:
    user = make_user(email="old@example.org")
    login(user)
    response = client.post(
        "/account/email",
        data={
            "email-new_email": "New@Example.org",
            "email-password": "correct horse battery staple",
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).email == "old@example.org"

    (message,) = mailbox()
    assert message.rcpt_tos == ["new@example.org"]
    link = message.link("/account/email/confirm/")
    assert client.get(link).status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).email == "new@example.org"
    # Used once.
    assert client.get(link).status_code == 400


def test_change_email_needs_the_password_and_a_valid_free_address(
    client, make_user, login, mailbox
) -> None:
    make_user(email="other@example.org")
    user = make_user(email="me@example.org")
    login(user)
    wrong = client.post(
        "/account/email", data={"email-new_email": "x@example.org", "email-password": "nope nope"}
    )
    assert wrong.status_code == 422
    assert "Your current password is not right." in wrong.get_data(as_text=True)
    injected = client.post(
        "/account/email",
        data={
            "email-new_email": "x@example.org\r\nBcc: victim@example.org",
            "email-password": "correct horse battery staple",
        },
    )
    assert injected.status_code == 422
    # A taken address: the person asking learns nothing; the owner is told.
    taken = client.post(
        "/account/email",
        data={
            "email-new_email": "other@example.org",
            "email-password": "correct horse battery staple",
        },
    )
    assert taken.status_code == 302
    (message,) = mailbox()
    assert message.rcpt_tos == ["other@example.org"]
    assert "nothing has changed" in message.text


def test_change_password_keeps_this_session_and_ends_the_others(
    app, client, make_user, login, mailbox
) -> None:
    user = make_user()
    # Another device, logged in with remember-me.
    other = app.test_client()
    log_in(other, user.email, "correct horse battery staple", remember="y")
    assert other.get("/account/").status_code == 200

    login(user)
    wrong = client.post(
        "/account/password",
        data={
            "password-current_password": "not it at all",
            "password-new_password": NEW_PASSWORD,
            "password-confirm": NEW_PASSWORD,
        },
    )
    assert wrong.status_code == 422
    assert "Your current password is not right." in wrong.get_data(as_text=True)

    response = client.post(
        "/account/password",
        data={
            "password-current_password": "correct horse battery staple",
            "password-new_password": NEW_PASSWORD,
            "password-confirm": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302
    assert client.get("/account/").status_code == 200  # this session lives on
    assert other.get("/account/").status_code == 302  # the other one is over
    # ... even with its remember-me cookie and a fresh session cookie.
    other.delete_cookie("session")
    assert other.get("/account/").status_code == 302
    (message,) = mailbox()
    assert "Your password was changed" in message.subject


def test_remember_cookie_of_this_session_is_renewed_on_password_change(app, make_user) -> None:
    user = make_user()
    browser = app.test_client()
    log_in(browser, user.email, "correct horse battery staple", remember="y")
    old_cookie = browser.get_cookie("remember_token").value
    response = browser.post(
        "/account/password",
        data={
            "password-current_password": "correct horse battery staple",
            "password-new_password": NEW_PASSWORD,
            "password-confirm": NEW_PASSWORD,
        },
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "Your password is changed." in response.get_data(as_text=True)
    new_cookie = browser.get_cookie("remember_token").value
    assert new_cookie != old_cookie
    # The old cookie died with the old password; the renewed one keeps this browser in.
    assert (
        _browser_with_cookie(app, "remember_token", old_cookie).get("/account/").status_code == 302
    )
    browser.delete_cookie("session")  # the browser was closed; only the cookie remains
    assert browser.get("/account/").status_code == 200
    # The new password is the one that works now.
    assert log_in(app.test_client(), user.email, NEW_PASSWORD).status_code == 302
    assert log_in(app.test_client(), user.email, "correct horse battery staple").status_code == 422


def test_download_my_data(client, make_user, make_organisation, login) -> None:
    organisation = make_organisation(slug="unige")
    user = make_user(name="Ada", affiliation="Uni", country="CH")
    organisation_services.grant_membership(user.email, "unige")
    db.session.commit()
    login(user)
    response = client.get("/account/data.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert "attachment" in response.headers["Content-Disposition"]
    data = json.loads(response.get_data(as_text=True))
    assert data["account"]["email"] == user.email
    assert data["account"]["roles"] == ["attendee", "organiser"]
    assert data["organisations"] == [{"name": organisation.name, "slug": "unige"}]
    assert "password_hash" not in json.dumps(data)


def test_delete_account_asks_for_the_password(client, make_user, login) -> None:
    user = make_user()
    user_id = user.id
    login(user)
    wrong = client.post("/account/delete", data={"delete-password": "not my password"})
    assert wrong.status_code == 422
    assert db.session.get(User, user_id) is not None

    response = client.post(
        "/account/delete", data={"delete-password": "correct horse battery staple"}
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user_id) is None
    assert client.get("/account/").status_code == 302


def test_header_shows_account_links(client, make_user, login, make_organisation) -> None:
    html = client.get("/login").get_data(as_text=True)
    assert "Sign up" in html
    user = make_user(name="Grace Hopper")
    login(user)
    html = client.get("/account/").get_data(as_text=True)
    assert "Grace Hopper" in html
    assert "Log out" in html


# --- rate limits ---------------------------------------------------------------------------------


@pytest.mark.usefixtures("rate_limits_on")
@pytest.mark.parametrize(
    ("path", "data", "allowed"),
    [
        ("/login", {"email": "a@example.org", "password": "whatever it is"}, 3),
        ("/signup", {"name": "A", "email": "a@example.org", "password": "short"}, 2),
        ("/password/forgot", {"email": "a@example.org"}, 2),
    ],
)
def test_rate_limit_reached_gives_a_clear_429(client, path, data, allowed) -> None:
    for _ in range(allowed):
        assert client.post(path, data=data).status_code != 429
    response = client.post(path, data=data)
    assert response.status_code == 429
    assert "You have tried this too many times" in response.get_data(as_text=True)
    assert "Retry-After" in response.headers or "X-RateLimit-Reset" in response.headers
    # Reading the page is not limited.
    assert client.get(path).status_code == 200


@pytest.mark.usefixtures("rate_limits_on")
def test_resend_verification_is_rate_limited(client, make_user, login) -> None:
    login(make_user(email_verified_at=None))
    assert client.post("/account/verify/resend").status_code == 302
    assert client.post("/account/verify/resend").status_code == 429
    assert outbox_count() == 1


def test_a_log_in_older_than_the_remember_me_duration_opens_nothing(app, make_user) -> None:
    """The browser drops the cookie after 30 days; a copy kept longer is refused by the
    server too, whichever cookie carries it."""
    from flask_login.utils import encode_cookie

    user = make_user()
    now = int(time.time())
    for days, expected in ((29, 200), (31, 302)):
        user_id = f"{user.session_token}.{now - days * 24 * 3600}"
        remembered = _browser_with_cookie(app, "remember_token", encode_cookie(user_id))
        assert remembered.get("/account/").status_code == expected, days
        in_session = app.test_client()
        with in_session.session_transaction() as session:
            session["_user_id"] = user_id
        assert in_session.get("/account/").status_code == expected, days


def test_a_page_behind_log_in_says_why_in_the_sites_words(client) -> None:
    response = client.get("/account/", follow_redirects=True)
    assert response.status_code == 200
    assert "Please log in to see this page." in response.get_data(as_text=True)
