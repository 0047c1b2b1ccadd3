"""Reading a calendar invitation out of a received message, checking its MIME layout."""

from __future__ import annotations

from email.message import EmailMessage


def calendar_part(message: EmailMessage) -> EmailMessage | None:
    """The message's text/calendar alternative, or None when it carries no invitation."""
    parts = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    assert len(parts) <= 1
    return parts[0] if parts else None


def invitation(message: EmailMessage, method: str) -> bytes:
    """The iTIP calendar of an invitation laid out as Outlook/Exchange send it
    (MS-OXCMAIL): multipart/mixed > multipart/alternative (text/plain, text/html,
    text/calendar; method=...; charset=UTF-8) + the same calendar attached as a file. The
    HTML may be a multipart/related of the HTML and the images it shows (a ticket's QR)."""
    assert message.get_content_type() == "multipart/mixed"
    alternative, attachment = message.get_payload()
    assert alternative.get_content_type() == "multipart/alternative"
    plain, html, part = alternative.get_payload()
    assert plain.get_content_type() == "text/plain"
    if html.get_content_type() == "multipart/related":
        html, *images = html.get_payload()
        assert images and all(image.get_content_maintype() == "image" for image in images)
    assert html.get_content_type() == "text/html"
    assert part.get_content_type() == "text/calendar"
    assert part.get_param("method") == method
    assert part.get_content_charset() == "utf-8"
    data = part.get_payload(decode=True)
    assert attachment.get_content_type() == "application/ics"
    assert attachment.get_filename().endswith(".ics")
    assert attachment.get_payload(decode=True) == data
    return data
