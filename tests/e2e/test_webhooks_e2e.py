"""The webhooks page in a real browser: an organiser adds an endpoint with the keyboard on a
320 px screen, reads its secret, and sees the delivery of the next registration in the log."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from playwright.sync_api import Browser, expect

from eventsite import database
from eventsite.extensions import db
from eventsite.models import JoinedVia, Membership
from eventsite.registration import services as registration_services
from eventsite.timeutil import utcnow
from eventsite.webhooks import sender

from ..http_sink import start_receiver

pytestmark = [pytest.mark.e2e]

PASSWORD = "correct horse battery staple"
NARROW = {"width": 320, "height": 640}
NO_HORIZONTAL_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"


def test_organiser_adds_a_webhook_by_keyboard_at_320px(
    browser: Browser, live_server: str, make_organisation, make_user, make_event
) -> None:
    receiver, sink = start_receiver()
    organisation = make_organisation(name="Planet Society", slug="planet-society")
    event = make_event(organisation=organisation, title="Planet Day")
    organiser = make_user(email="organiser@example.org", name="Olga Organiser")
    attendee = make_user(email="ada@example.org", name="Ada Attendee")
    db.session.add(
        Membership(
            user_id=organiser.id, organisation_id=organisation.id, joined_via=JoinedVia.INVITATION
        )
    )
    db.session.commit()
    context = browser.new_context(viewport=NARROW)
    try:
        page = context.new_page()
        page.goto(live_server + "/login")
        page.get_by_label("Email address").fill(organiser.email)
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.goto(f"{live_server}/manage/organisations/{organisation.id}")
        page.get_by_role("link", name="Webhooks").click()

        page.get_by_label("Address (URL)").fill(receiver.url)
        page.get_by_label("An event was published").uncheck()
        page.get_by_label("Address (URL)").focus()
        page.keyboard.press("Enter")

        expect(page.get_by_text("The endpoint is added.")).to_be_visible()
        summary = page.get_by_text("Show the secret")
        summary.focus()
        page.keyboard.press("Enter")
        secret = page.get_by_role("textbox", name="Secret").input_value()
        assert secret.startswith("whsec_")
        assert page.evaluate(NO_HORIZONTAL_SCROLL)

        db.session.rollback()  # a fresh transaction: the browser's requests wrote meanwhile
        database.lock_for_write()
        registration_services.register_attendee(attendee, event, {}, utcnow())
        db.session.commit()
        assert sender.deliver_due().sent == 1
        [hit] = receiver.received
        stamp = hit.headers["Eventsite-Webhook-Timestamp"].encode()
        digest = hmac.new(secret.encode(), stamp + b"." + hit.body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest("v1=" + digest, hit.headers["Eventsite-Webhook-Signature"])

        page.reload()
        log = page.get_by_role("table")
        expect(log.get_by_role("cell", name="registration.created")).to_be_visible()
        expect(log.get_by_role("cell", name="Sent")).to_be_visible()
        assert page.evaluate(NO_HORIZONTAL_SCROLL), page.evaluate(
            "[document.documentElement.scrollWidth, window.innerWidth]"
        )
    finally:
        context.close()
        sink.shutdown()
        sink.server_close()
