"""A ticket in a real browser: the QR code on the registration page, photographed off the
screen, decodes to the registration (as a phone at the door would read it); on a 320 px
phone nothing scrolls sideways; printed, the ticket fills one A4 or Letter sheet without
the site's header and footer."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import Page, expect
from sqlalchemy import select

from eventsite.extensions import db
from eventsite.models import Registration
from eventsite.registration import tickets

from .test_accounts_e2e import link_in, wait_for_mail

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("deliver_after_request", "smtp_sink")]


@pytest.fixture
def deliver_after_request(app_config: dict[str, Any]) -> None:
    app_config["MAIL_DELIVER_AFTER_REQUEST"] = True


def decode_screenshot(png: bytes) -> str:
    [result] = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    return result.text


def pdf_pages(pdf: bytes) -> int:
    """Pages in a PDF Chromium wrote: its page objects (`/Type /Page`, not `/Pages`)."""
    return len(re.findall(rb"/Type\s*/Page(?![a-z])", pdf))


def test_the_ticket_on_the_page_scans_and_prints_on_one_sheet(
    page: Page, live_server: str, smtp_sink, make_event, screenshots: Path
) -> None:
    event = make_event(
        title="Oceans Summit — 海洋峰会",
        venue_name="Congress Centre",
        city="Geneva",
        country="CH",
        timezone="Europe/Zurich",
    )
    page.set_viewport_size({"width": 320, "height": 720})
    page.goto(f"{live_server}/events/{event.slug}/register")
    page.get_by_label("Name").fill("Ada Lovelace")
    page.get_by_label("Email address").fill("ada@example.org")
    page.locator("form.registration-form button[type=submit]").click()
    (hold,) = wait_for_mail(smtp_sink, 1)
    page.goto(link_in(hold, "/registrations/confirm/"))

    ticket = page.locator("section.ticket")
    expect(ticket.get_by_role("heading", name="Your ticket")).to_be_visible()
    db.session.rollback()  # see what the server wrote
    registration = db.session.scalar(select(Registration))
    code = tickets.display_code(registration)
    expect(ticket.get_by_text(code, exact=True)).to_be_visible()
    # a phone's width: the ticket fits, nothing scrolls sideways
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    page.screenshot(path=screenshots / "registration-ticket-320.png", full_page=True)

    # what a door scanner sees: the QR code as the browser drew it
    value = decode_screenshot(ticket.locator(".ticket-qr svg").screenshot())
    assert tickets.find_ticket(event, value) == registration

    # the print link is reachable by keyboard
    print_link = ticket.get_by_role("link", name="Print ticket")
    print_link.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=f"Ticket: {event.title}")).to_be_visible()
    assert decode_screenshot(page.locator(".ticket-qr svg").screenshot()) == value

    page.set_viewport_size({"width": 1024, "height": 768})
    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.locator(".site-footer")).to_be_hidden()
    expect(page.get_by_text("Back to the registration")).to_be_hidden()
    for paper in ("A4", "Letter"):
        pdf = page.pdf(format=paper, print_background=True)
        assert pdf_pages(pdf) == 1, paper
        (screenshots / f"ticket-{paper.lower()}.pdf").write_bytes(pdf)
    page.screenshot(path=screenshots / "registration-ticket-print.png", full_page=True)
