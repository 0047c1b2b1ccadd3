"""Someone logged in is served the page kept for anonymous visitors with their own parts
drawn in its holes (the account links, the banner, the registration box): the same page a
whole render gives them, private, and nothing of theirs ever reaches anyone else."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event as sa_event

from eventsite import create_app
from eventsite.extensions import db
from eventsite.models import User
from eventsite.page_cache import keys

MARK = "<page-cache:hole"
CSRF_VALUE = re.compile(r'name="csrf_token" value="[^"]+"')


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {**app_config, "PAGE_CACHE_ENABLED": True}


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """One time bucket for the whole test: a page kept stays kept."""
    monkeypatch.setattr(keys, "clock", lambda: 600_000.0)


@pytest.fixture
def uncached(app_config: dict[str, Any], app: Flask) -> Flask:
    """The same site on the same database with the page cache off: every page rendered."""
    return create_app({**app_config, "PAGE_CACHE_ENABLED": False})


def logged_in(app: Flask, user: User) -> FlaskClient:
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True
    return client


def kept(client: FlaskClient, path: str) -> None:
    """An anonymous visitor's miss keeps the page, and the next is a hit."""
    client.get(path)
    assert client.get(path).headers["X-Page-Cache"] == "hit"


def same_page(personal: str, rendered: str) -> bool:
    # Each answer carries a CSRF token of its own (same session, a new signature).
    return CSRF_VALUE.sub("", personal) == CSRF_VALUE.sub("", rendered)


@pytest.mark.parametrize("path", ["/", "/events/", "/topics/climate", "/events/ocean-forum"])
def test_a_logged_in_visitor_gets_what_a_whole_render_gives_them(
    app, uncached, make_event, make_topic, make_user, path
) -> None:
    make_event(slug="ocean-forum", title="Ocean Forum", topics=[make_topic("Climate")])
    kept(app.test_client(), path)
    person = make_user(name="Grace Hopper")

    personal = logged_in(app, person).get(path)
    rendered = logged_in(uncached, person).get(path)

    assert personal.headers["X-Page-Cache"] == "personal"
    assert personal.headers["Cache-Control"] == "private, no-store"
    assert "ETag" not in personal.headers
    assert "Cookie" in personal.headers["Vary"]
    page = personal.get_data(as_text=True)
    assert "Grace Hopper" in page and "Log out" in page and "Log in" not in page
    assert same_page(page, rendered.get_data(as_text=True))


def test_the_registration_box_and_banner_are_the_visitors_own(
    app, uncached, make_event, make_user, make_registration
) -> None:
    event = make_event(slug="ocean-forum", capacity=10)
    registered = make_user(name="Ada Lovelace")
    make_registration(registered, event)
    unconfirmed = make_user(name="Alan Turing", email_verified_at=None)
    kept(app.test_client(), "/events/ocean-forum")  # after the registration: its count shows

    answers = [
        logged_in(app, person).get("/events/ocean-forum") for person in (registered, unconfirmed)
    ]
    assert [answer.headers["X-Page-Cache"] for answer in answers] == ["personal", "personal"]
    mine, theirs = (answer.get_data(as_text=True) for answer in answers)
    anonymous = app.test_client().get("/events/ocean-forum")

    assert "Your registration" in mine and "Please confirm your email address" not in mine
    assert "Your registration" not in theirs and "Please confirm your email address" in theirs
    for person, page in ((registered, mine), (unconfirmed, theirs)):
        rendered = logged_in(uncached, person).get("/events/ocean-forum").get_data(as_text=True)
        assert same_page(page, rendered)
    assert anonymous.headers["X-Page-Cache"] == "hit"
    shown = anonymous.get_data(as_text=True)
    assert "Ada Lovelace" not in shown and "Alan Turing" not in shown
    assert "Your registration" not in shown and "No account needed." in shown


def test_an_organiser_sees_their_workspace_link_and_can_log_out_with_the_form(
    app, make_event, make_member
) -> None:
    event = make_event()
    kept(app.test_client(), "/events/")
    client = logged_in(app, make_member(event.organisation, name="Organiser Olu"))

    page = client.get("/events/")
    text = page.get_data(as_text=True)

    assert page.headers["X-Page-Cache"] == "personal"
    assert "Workspace" in text and "Organiser Olu" in text
    token = re.search(r'name="csrf_token" value="([^"]+)"', text)
    assert token is not None
    assert client.post("/logout", data={"csrf_token": token.group(1)}).status_code == 302
    assert "You are logged out" in client.get("/events/").get_data(as_text=True)  # a flash
    assert client.get("/events/").headers["X-Page-Cache"] == "hit"  # anonymous again


def test_a_logged_in_visitors_miss_keeps_the_page_for_everyone_and_fills_it_for_them(
    app, uncached, make_event, make_user, make_registration
) -> None:
    event = make_event(slug="ocean-forum", capacity=10)
    person = make_user(name="Ada Lovelace")
    make_registration(person, event)
    client = logged_in(app, person)

    first = client.get("/events/ocean-forum")  # nobody anonymous has asked for it yet
    again = client.get("/events/ocean-forum")
    anonymous = app.test_client().get("/events/ocean-forum")

    assert [first.headers["X-Page-Cache"], again.headers["X-Page-Cache"]] == ["personal"] * 2
    assert first.headers["Cache-Control"] == "private, no-store"
    page = first.get_data(as_text=True)
    assert "Your registration" in page and "Ada Lovelace" in page
    rendered = logged_in(uncached, person).get("/events/ocean-forum").get_data(as_text=True)
    assert same_page(page, rendered)
    assert anonymous.headers["X-Page-Cache"] == "hit"  # kept by the person's miss...
    shown = anonymous.get_data(as_text=True)
    assert "Ada Lovelace" not in shown and "Your registration" not in shown  # ...as anyone's
    assert "No account needed." in shown
    assert MARK not in page and MARK not in shown


def test_a_miss_in_the_accounts_language_keeps_the_page_in_that_language(
    app, make_event, make_user
) -> None:
    make_event(slug="ocean-forum")
    person = make_user(language="fr")

    page = logged_in(app, person).get("/events/", headers={"Accept-Language": "es"})
    french = app.test_client().get("/events/", headers={"Accept-Language": "fr"})

    assert page.headers["X-Page-Cache"] == "personal"
    assert page.headers["Content-Language"] == "fr" and 'lang="fr"' in page.get_data(as_text=True)
    assert french.headers["X-Page-Cache"] == "hit"
    assert app.test_client().get("/events/").headers["X-Page-Cache"] == "miss"  # English


def test_a_drafts_preview_is_rendered_whole_and_kept_for_nobody(
    app, make_event, make_member
) -> None:
    draft = make_event(slug="draft-forum", status="draft", published_at=None)
    member = logged_in(app, make_member(draft.organisation, name="Organiser Olu"))

    preview = member.get("/events/draft-forum")

    assert preview.status_code == 200 and "X-Page-Cache" not in preview.headers
    assert preview.headers["Cache-Control"] == "private, no-store"
    assert "Organiser Olu" in preview.get_data(as_text=True)
    assert app.test_client().get("/events/draft-forum").status_code == 404


def test_nobody_ever_receives_a_marker(app, make_event, make_user) -> None:
    make_event(slug="ocean-forum")
    anonymous = app.test_client()
    person = logged_in(app, make_user())
    answers = [
        anonymous.get("/events/"),  # miss: rendered to keep, marks taken out
        anonymous.get("/events/"),  # hit
        anonymous.get("/events/", headers={"Accept-Encoding": "gzip"}),
        person.get("/events/"),  # personal
        anonymous.get("/events/not-there"),  # a miss that is an error page
        person.get("/events/not-there"),
        person.get("/account/"),  # not cacheable: rendered
    ]
    for answer in answers:
        body = answer.get_data()
        if answer.headers.get("Content-Encoding") == "gzip":
            import gzip

            body = gzip.decompress(body)
        assert MARK.encode() not in body, answer.request.path


def test_a_personal_hit_reads_the_person_with_their_memberships_and_the_stamp_on_the_listing(
    app, make_event, make_user, count_queries
) -> None:
    for n in range(5):
        make_event(title=f"Forum {n}")
    kept(app.test_client(), "/events/")
    client = logged_in(app, make_user())
    client.get("/events/")
    with count_queries() as queries:
        assert client.get("/events/").headers["X-Page-Cache"] == "personal"
    # Who they are with their memberships (the header's Workspace link), and the page's
    # stamp.
    assert queries.count == 2, queries.statements


def test_a_personal_event_page_reads_the_box_straight_from_the_driver(
    app, make_event, make_user, make_registration, count_queries
) -> None:
    """The page's stamp and the registration box of a kept event page, for someone
    registered and for someone who is not: read straight from the driver (no transaction
    begins), and nothing else."""
    event = make_event(slug="ocean-forum", capacity=10)
    registered = make_user(name="Ada Lovelace")
    make_registration(registered, event)
    visitors = [
        # the person (with the catalogue's stamp), the page's stamp, their registration
        (logged_in(app, registered), "Your registration", 3),
        # the person, the page's stamp, no registration, the event's places (its row is
        # kept by the catalogue's stamp, read with the person: events.queries)
        (logged_in(app, make_user(name="Alan Turing")), 'href="/events/ocean-forum/register"', 4),
    ]
    kept(app.test_client(), "/events/ocean-forum")
    begun: list[object] = []

    def record(connection: object) -> None:
        begun.append(connection)

    sa_event.listen(db.engine, "begin", record)
    try:
        for client, shown, statements in visitors:
            client.get("/events/ocean-forum")
            db.session.remove()
            begun.clear()
            with count_queries() as queries:
                answer = client.get("/events/ocean-forum")
            assert answer.headers["X-Page-Cache"] == "personal"
            assert shown in answer.get_data(as_text=True)
            assert queries.count == statements, queries.statements
            assert begun == [], queries.statements
    finally:
        sa_event.remove(db.engine, "begin", record)


def test_a_flash_waiting_for_them_is_shown_by_a_whole_render(app, make_event, make_user) -> None:
    make_event()
    kept(app.test_client(), "/events/")
    client = logged_in(app, make_user())
    with client.session_transaction() as session:
        session["_flashes"] = [("success", "Saved, thank you.")]
    page = client.get("/events/")
    assert "X-Page-Cache" not in page.headers
    assert "Saved, thank you." in page.get_data(as_text=True)
    assert client.get("/events/").headers["X-Page-Cache"] == "personal"


def test_a_language_chosen_while_logged_in_is_kept_with_the_account(
    app, make_event, make_user
) -> None:
    make_event()
    kept(app.test_client(), "/events/?lang=fr")
    person = make_user()
    page = logged_in(app, person).get("/events/?lang=fr")
    assert "X-Page-Cache" not in page.headers  # rendered: the choice is saved on the way
    db.session.refresh(person)
    assert person.language == "fr"
