"""Fuzz every GET page: the query parameters it reads (filters, pages, `next`, sorting), the
slug or token in its path, and parameters nobody reads. No 5xx, and reading writes
nothing (but where following an emailed link is the point)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from eventsite.accounts import tokens
from eventsite.accounts.models import unusable_password_hash
from eventsite.extensions import db
from eventsite.feeds import tokens as feed_tokens
from eventsite.models import AnnouncementSubscriber, Registration, RegistrationStatus
from eventsite.registration import alerts, holds
from eventsite.timeutil import utcnow

from . import strategies as fz
from .harness import Prepared, QueryTarget, Site, run_all, run_query_target
from .test_public_forms import alert_token, opens_later
from .test_workspace_event_forms import FORMATS, KINDS

pytestmark = pytest.mark.fuzz

FEED_PARAMS = {
    "q": fz.text(),
    "topic": fz.slugs(),
    "organisation": fz.slugs(),
    "kind": fz.choices(KINDS),
    "format": fz.choices((*FORMATS, "in-person")),
    "country": fz.choices(("CH", "ke", "XX")),
    "from": fz.dates(),
    "to": fz.dates(),
}
LISTING_PARAMS = FEED_PARAMS | {"when": fz.choices(("past", "upcoming")), "page": fz.numbers()}
NEXT = {"next": fz.next_paths()}
PAGING = {"page": fz.numbers(), "per_page": fz.numbers()}
ORGANISER_INDEX = PAGING | {
    "status": fz.choices(("all", "draft", "published", "past", "cancelled")),
    "organisation": fz.numbers(),
}
REGISTRANTS = PAGING | {
    "status": fz.choices(("all", "active", "pending", "confirmed", "cancelled")),
    "q": fz.text(),
    "sort": fz.choices(("registered", "name", "-name", "status")),
    "select": fz.choices(("all",)),
}
# A confirmation page carries the table's filters back to it.
TABLE_STATE = {
    "status": fz.choices(("all", "pending", "confirmed")),
    "q": fz.text(),
    "sort": fz.choices(("registered", "name")),
    "page": fz.numbers(),
}
EXPORT = {"status": fz.choices(("all", "active", "confirmed"))}
SLUG = fz.path_segments()


def page(url: str, role: str = "anonymous", path: str | None = None):
    """A page at `url` (formatted with the world's objects), seen by `role` ("newcomer":
    a new account each time); `path` is the valid slug or token when the path is fuzzed
    ("{path}" in `url`)."""

    def prepare(site: Site) -> Prepared:
        world = site.world
        users = {
            "anonymous": None,
            "attendee": world.attendee,
            "member": world.member,
            "admin": world.admin,
        }
        user = site.fresh_user() if role == "newcomer" else users[role]
        values = {"w": world, "topic": site.topic}
        base = {"path": path.format(**values)} if path else {}
        return Prepared(url.format(**values, path="{path}"), base, user=user)

    return prepare


def _verify(site: Site) -> Prepared:
    user = site.fresh_user(email_verified_at=None)
    token = tokens.make_token(tokens.VERIFY_EMAIL, {"uid": user.id, "email": user.email}, utcnow())
    return Prepared("/account/verify/{path}", {"path": token})


def _email_change(site: Site) -> Prepared:
    user = site.fresh_user()
    payload = {"uid": user.id, "old": user.email, "new": f"changed-{site.next()}@example.org"}
    token = tokens.make_token(tokens.CHANGE_EMAIL, payload, utcnow())
    return Prepared("/account/email/confirm/{path}", {"path": token})


def _reset(site: Site) -> Prepared:
    user = site.fresh_user()
    payload = {"uid": user.id, "pw": tokens.password_fingerprint(user.password_hash)}
    token = tokens.make_token(tokens.RESET_PASSWORD, payload, utcnow())
    return Prepared("/password/reset/{path}", {"path": token})


def _login_link(site: Site) -> Prepared:
    user = site.fresh_user()
    fingerprint = tokens.login_fingerprint(user.email, user.session_token, user.last_login_at)
    token = tokens.make_token(tokens.LOGIN_LINK, {"uid": user.id, "fp": fingerprint}, utcnow())
    return Prepared("/login/link/{path}", {"path": token})


def _held_registration_link(site: Site) -> Prepared:
    user = site.fresh_user(email_verified_at=None, password_hash=unusable_password_hash())
    registration = Registration(
        event=site.world.event,
        user=user,
        status=RegistrationStatus.CONFIRMED,
        answers={},
        hold_expires_at=utcnow() + timedelta(hours=24),
    )
    db.session.add(registration)
    db.session.commit()
    return Prepared(
        "/registrations/confirm/{path}", {"path": holds.hold_token(registration, utcnow())}
    )


def _without_password(site: Site) -> Prepared:
    user = site.fresh_user(password_hash=unusable_password_hash())
    return Prepared("/account/password/first", user=user)


def _announcement(salt: str, url: str) -> Callable[[Site], Prepared]:
    def prepare(site: Site) -> Prepared:
        address = f"reader-{site.next()}@example.org"
        db.session.add(AnnouncementSubscriber(email=address, created_at=utcnow()))
        db.session.commit()
        return Prepared(url, {"path": tokens.make_token(salt, {"email": address}, utcnow())})

    return prepare


def _alert_page(salt: str, url: str) -> Callable[[Site], Prepared]:
    return lambda site: Prepared(url, {"path": alert_token(site, salt)})


def _invitation_page(site: Site) -> Prepared:
    user = site.fresh_user()
    _invitation_row, secret = site.invite(user.email)
    return Prepared("/manage/invitations/{path}", {"path": secret}, user=user)


def _organisation_feed(site: Site) -> Prepared:
    organisation = site.world.organisation
    if not organisation.calendar_token:
        organisation.calendar_token = f"fuzz-calendar-token-{organisation.id}"
        db.session.commit()
    return Prepared("/organisations/feed/{path}.ics", {"path": organisation.calendar_token})


def _personal_feed(site: Site) -> Prepared:
    token = feed_tokens.regenerate_user_calendar_token(site.world.attendee)
    db.session.commit()
    return Prepared("/account/calendar/{path}.ics", {"path": token})


def _own_registration(url: str) -> Callable[[Site], Prepared]:
    def prepare(site: Site) -> Prepared:
        user = site.fresh_user()
        registration = Registration(
            event=site.world.event, user=user, status=RegistrationStatus.CONFIRMED, answers={}
        )
        db.session.add(registration)
        db.session.commit()
        return Prepared(url.format(id=registration.public_id, number=registration.id), user=user)

    return prepare


def _registrants(site: Site) -> Prepared:
    # Registrants enough for a second page, so paging and sorting have something to do.
    for _ in range(3):
        user = site.fresh_user()
        status = RegistrationStatus.CONFIRMED
        db.session.add(Registration(event=site.world.event, user=user, status=status, answers={}))
    db.session.commit()
    return Prepared(f"/manage/events/{site.world.event.id}/registrants", user=site.world.member)


def _registrants_at_the_door(site: Site) -> Prepared:
    """Door mode's search, with people to find (by name, email or ticket code)."""
    _registrants(site)
    return Prepared(f"/manage/events/{site.world.event.id}/door", user=site.world.member)


EVENT = "/manage/events/{w.event.id}"
ORGANISATION = "/manage/organisations/{w.organisation.id}"
BRIEF = 0.2  # pages that read no parameter: a few examples of unread parameters

QUERY_TARGETS = [
    # The public listing, its feeds and the event pages.
    QueryTarget("events.home", page("/"), LISTING_PARAMS),
    QueryTarget("events.listing", page("/events/", "attendee"), LISTING_PARAMS),
    QueryTarget(
        "events.topic", page("/topics/{path}", path="{topic.slug}"), LISTING_PARAMS, path=SLUG
    ),
    QueryTarget(
        "events.organisation",
        page("/organisations/{path}", path="{w.organisation.slug}"),
        LISTING_PARAMS,
        path=SLUG,
    ),
    QueryTarget(
        "events.detail", page("/events/{path}", path="{w.event.slug}"), path=SLUG, budget=BRIEF
    ),
    QueryTarget(
        "events.calendar",
        page("/events/calendar"),
        LISTING_PARAMS | {"month": fz.choices(("2027-01", "1900-01", "2200-12"))},
    ),
    QueryTarget("events.atom_feed", page("/events/feed.atom"), {}, budget=BRIEF),
    QueryTarget("events.sitemap", page("/sitemap.xml"), {}, budget=BRIEF),
    QueryTarget("events.sitemap_part", page("/sitemaps/1.xml"), {}, budget=BRIEF),
    QueryTarget("events.robots", page("/robots.txt"), {}, budget=BRIEF),
    QueryTarget("events.manifest", page("/manifest.webmanifest"), {}, budget=BRIEF),
    QueryTarget("events.favicon", page("/favicon.ico"), {}, budget=BRIEF),
    QueryTarget("feeds.feed", page("/calendar.ics"), FEED_PARAMS),
    QueryTarget(
        "feeds.topic_feed", page("/topics/{path}.ics", path="{topic.slug}"), FEED_PARAMS, path=SLUG
    ),
    QueryTarget(
        "feeds.organisation_feed",
        page("/organisations/{path}.ics", path="{w.organisation.slug}"),
        FEED_PARAMS,
        path=SLUG,
    ),
    QueryTarget(
        "feeds.event_ics",
        page("/events/{path}.ics", path="{w.event.slug}"),
        {"sessions": fz.booleans()},
        path=SLUG,
    ),
    QueryTarget(
        "feeds.event_feed",
        page("/events/{path}/calendar.ics", path="{w.event.slug}"),
        {},
        path=SLUG,
        budget=BRIEF,
    ),
    QueryTarget("feeds.organisation_private_feed", _organisation_feed, {}, path=SLUG, budget=BRIEF),
    QueryTarget("feeds.personal_feed", _personal_feed, {}, path=SLUG, budget=BRIEF),
    QueryTarget(
        "registration.register",
        page("/events/{path}/register", "newcomer", "{w.event.slug}"),
        {},
        path=SLUG,
        budget=BRIEF,
    ),
    QueryTarget(
        "registration.confirm_hold",
        _held_registration_link,
        {},
        path=SLUG,
        writes=frozenset({"users", "registrations", "outbox_messages"}),
        budget=BRIEF,
    ),
    QueryTarget("accounts.first_password", _without_password, NEXT),
    QueryTarget(
        "sharing.share",
        page("/events/{path}/share", path="{w.event.slug}"),
        path=SLUG,
        budget=BRIEF,
    ),
    QueryTarget("health.healthz", page("/healthz"), {}, budget=BRIEF),
    QueryTarget("static", page("/static/{path}", path="site.css"), {}, path=SLUG, budget=BRIEF),
    # Accounts: `next` after logging in, and the links in emails.
    QueryTarget("accounts.login", page("/login"), NEXT),
    QueryTarget("accounts.signup", page("/signup"), NEXT),
    QueryTarget("accounts.verify_email", _verify, NEXT, path=SLUG, writes=frozenset({"users"})),
    QueryTarget(
        "accounts.confirm_email_change",
        _email_change,
        path=SLUG,
        budget=BRIEF,
        writes=frozenset({"users"}),
    ),
    # Opening a log-in link only shows its button: nothing is written.
    QueryTarget("accounts.login_with_link", _login_link, NEXT, path=SLUG, budget=BRIEF),
    QueryTarget("accounts.forgot_password", page("/password/forgot"), {}, budget=BRIEF),
    QueryTarget("accounts.reset_password", _reset, {}, path=SLUG, budget=BRIEF),
    QueryTarget("accounts.account", page("/account/", "attendee"), {}, budget=BRIEF),
    QueryTarget("accounts.settings", page("/account/settings", "attendee"), {}, budget=BRIEF),
    QueryTarget("accounts.download_data", page("/account/data.json", "attendee"), {}, budget=BRIEF),
    QueryTarget("feeds.account_calendar", page("/account/calendar/", "attendee"), {}, budget=BRIEF),
    QueryTarget(
        "feeds.organisation_calendar",
        page("/account/organisations/{path}/calendar", "member", "{w.organisation.slug}"),
        {},
        path=SLUG,
        budget=BRIEF,
        writes=frozenset({"organisations"}),  # the private feed's token, made on first visit
    ),
    QueryTarget(
        "feeds.organisation_export",
        page("/account/organisations/{path}/events.ics", "member", "{w.organisation.slug}"),
        {},
        path=SLUG,
        budget=BRIEF,
    ),
    QueryTarget("announcements.subscribe", page("/notify"), {}, budget=BRIEF),
    QueryTarget(
        "announcements.confirm",
        _announcement(tokens.ANNOUNCE_CONFIRM, "/notify/confirm/{path}"),
        {},
        path=SLUG,
        budget=BRIEF,
    ),
    QueryTarget(
        "announcements.unsubscribe",
        _announcement(tokens.ANNOUNCE_UNSUBSCRIBE, "/notify/unsubscribe/{path}"),
        {},
        path=SLUG,
        budget=BRIEF,
    ),
    QueryTarget(
        "announcements.unsubscribe_one_click",
        _announcement(tokens.ANNOUNCE_UNSUBSCRIBE, "/notify/unsubscribe/{path}/one-click"),
        {},
        path=SLUG,
        budget=BRIEF,
    ),
    # "Tell me when registration opens": the form, and the emailed links' pages.
    QueryTarget(
        "registration.alert",
        lambda site: Prepared(f"/events/{opens_later(site).slug}/alert"),
        {},
        budget=BRIEF,
    ),
    *(
        QueryTarget(endpoint, _alert_page(salt, url), {}, path=SLUG, budget=BRIEF)
        for endpoint, salt, url in (
            ("registration.alert_confirm", alerts.CONFIRM, "/alerts/confirm/{path}"),
            ("registration.alert_unsubscribe", alerts.UNSUBSCRIBE, "/alerts/unsubscribe/{path}"),
            (
                "registration.alert_unsubscribe_one_click",
                alerts.UNSUBSCRIBE,
                "/alerts/unsubscribe/{path}/one-click",
            ),
        )
    ),
    # A registration's own pages.
    QueryTarget("registration.detail", _own_registration("/registrations/{id}"), {}, budget=BRIEF),
    QueryTarget(
        "registration.detail_by_id", _own_registration("/registrations/{number}"), {}, budget=BRIEF
    ),
    QueryTarget(
        "registration.edit", _own_registration("/registrations/{id}/edit"), {}, budget=BRIEF
    ),
    QueryTarget(
        "registration.cancel", _own_registration("/registrations/{id}/cancel"), {}, budget=BRIEF
    ),
    QueryTarget(
        "registration.ticket", _own_registration("/registrations/{id}/ticket"), {}, budget=BRIEF
    ),
    # The workspace.
    QueryTarget("organiser.index", page("/manage/", "member"), ORGANISER_INDEX),
    QueryTarget("organiser.registrants", _registrants, REGISTRANTS),
    QueryTarget(
        "organiser.cancel_registration",
        page(EVENT + "/registrants/{w.registration.id}/cancel", "member"),
        TABLE_STATE,
        budget=0.3,
    ),
    QueryTarget(
        "organiser.reject_registration",
        page(EVENT + "/registrants/{w.registration.id}/reject", "member"),
        TABLE_STATE,
        budget=0.3,
    ),
    QueryTarget(
        "organiser.email_registrants",
        page(EVENT + "/email", "member"),
        {"ids": fz.numbers()},
        budget=0.3,
    ),
    QueryTarget(
        "organiser.badges", page(EVENT + "/badges", "member"), {"ids": fz.numbers()}, budget=0.3
    ),
    QueryTarget(
        "organiser.export_csv",
        page(EVENT + "/registrants.csv", "member"),
        EXPORT,
        writes=frozenset({"audit_entries"}),  # who exported what, and when
    ),
    QueryTarget(
        "organiser.export_xlsx",
        page(EVENT + "/registrants.xlsx", "member"),
        EXPORT,
        writes=frozenset({"audit_entries"}),
        budget=0.5,
    ),
    QueryTarget("organiser.door_page", _registrants_at_the_door, {"q": fz.text()}),
    *(
        QueryTarget(endpoint, page(url, "member"), {}, budget=BRIEF)
        for endpoint, url in (
            ("organiser.door_count", EVENT + "/door/count"),
            ("organiser.door_list", EVENT + "/door/list"),
            ("organiser.door_service_worker", EVENT + "/door-sw.js"),
        )
    ),
    QueryTarget("organiser.accept_invitation", _invitation_page, {}, path=SLUG, budget=BRIEF),
    QueryTarget("images.serve", page("/images/" + "0" * 64 + ".jpg"), {}, budget=BRIEF),
    QueryTarget("organiser.new_organisation", page("/manage/organisations/new", "admin"), {}),
    *(
        QueryTarget(endpoint, page(url, "member"), {}, budget=BRIEF)
        for endpoint, url in (
            ("organiser.event", EVENT),
            ("organiser.edit_event", EVENT + "/edit"),
            ("organiser.agenda", EVENT + "/agenda"),
            ("organiser.cancel_event", EVENT + "/cancel"),
            ("organiser.delete_event", "/manage/events/{w.draft.id}/delete"),
            ("organiser.duplicate_event", EVENT + "/duplicate"),
            ("organiser.questions", EVENT + "/questions"),
            ("organiser.edit_question", EVENT + "/questions/{w.question.id}"),
            ("organiser.edit_session", EVENT + "/sessions/{w.session.id}"),
            ("organiser.event_cover", EVENT + "/cover"),
            (
                "organiser.speaker_photo",
                EVENT + "/sessions/{w.session.id}/speakers/{w.speaker.id}/photo",
            ),
            ("organiser.statistics", EVENT + "/statistics"),
            ("organiser.organisation", ORGANISATION),
            ("organiser.new_event", ORGANISATION + "/events/new"),
            ("organiser.api_tokens", ORGANISATION + "/api-tokens"),
            ("organiser.webhooks", ORGANISATION + "/webhooks"),
        )
    ),
]


READING = [target for target in QUERY_TARGETS if target.params]


@pytest.mark.parametrize("target", READING)
def test_page_survives_hostile_query(site: Site, target: QueryTarget) -> None:
    run_query_target(site, target)


def test_pages_reading_no_parameter_survive_hostile_queries(site: Site) -> None:
    """The other pages (and their slugs and tokens), on one app."""
    run_all(site, [target for target in QUERY_TARGETS if not target.params], run_query_target)


CACHED = {
    "events.home",
    "events.listing",
    "events.topic",
    "events.organisation",
    "events.detail",
    "events.calendar",
}


@pytest.fixture
def page_cache_on(app_config: dict[str, Any]) -> None:
    """The per-process page cache (off in tests) answers anonymous visitors before Flask
    does: it reads the address itself."""
    app_config["PAGE_CACHE_ENABLED"] = True


@pytest.mark.usefixtures("page_cache_on")
def test_cached_pages_survive_hostile_queries(site: Site) -> None:
    run_all(site, [t for t in QUERY_TARGETS if t.endpoint in CACHED], run_query_target)
