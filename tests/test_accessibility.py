"""Accessibility and right-to-left in the markup itself: forms announce their errors, names
inside sentences are isolated, emails take the reader's direction, and the stylesheet
speaks in logical directions (the browser tests check the pages with axe-core)."""

from __future__ import annotations

import re
from pathlib import Path

from flask import render_template_string

from eventsite.mail import services as mail

STYLESHEET = Path(__file__).resolve().parents[1] / "eventsite" / "static" / "site.css"


def test_a_form_with_errors_sums_them_up_focused_and_marks_each_field(client) -> None:
    response = client.post("/signup", data={"email": "not an address", "password": ""})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert '<div class="error-summary" role="alert" tabindex="-1" autofocus>' in page
    summary = page.split('class="error-summary"', 1)[1].split("</div>", 1)[0]
    assert '<li><a href="#email">Email address</a>: ' in summary
    assert '<a href="#password">' in summary
    for name in ("email", "password"):
        [tag] = re.findall(rf'<input[^>]*\bid="{name}"[^>]*>', page)
        assert 'aria-invalid="true"' in tag
        assert re.search(rf'aria-describedby="[^"]*\b{name}-errors\b', tag)
        assert f'<ul class="errors" id="{name}-errors">' in page


def test_a_form_without_errors_has_no_summary(client) -> None:
    page = client.get("/signup").get_data(as_text=True)
    assert "error-summary" not in page
    assert 'aria-invalid="true"' not in page


def test_bdi_isolates_and_escapes_the_value(app) -> None:
    with app.test_request_context():
        rendered = render_template_string(
            '{{ _("Log in as %(email)s.", email=address|bdi) }}', address="<ada@example.org>"
        )
    assert rendered == "Log in as <bdi>&lt;ada@example.org&gt;</bdi>."


def test_an_email_in_arabic_runs_right_to_left(app, make_event) -> None:
    event = make_event(title="Oceans Summit")
    context = {"event": event, "event_link": "http://localhost/e", "sender_name": "Ada"}
    with app.test_request_context():
        english = mail.render_email("Hi", "share_event", language="en", note="A note", **context)
        arabic = mail.render_email("Hi", "share_event", language="ar", note="A note", **context)
    assert '<html lang="en" dir="ltr">' in english.html
    assert "border-left:3px" in english.html and "text-align:left" in english.html
    assert '<html lang="ar" dir="rtl">' in arabic.html
    assert "border-right:3px" in arabic.html and "text-align:right" in arabic.html
    assert 'align="right"' in arabic.html and 'align="left"' not in arabic.html


def test_the_stylesheet_uses_logical_directions_only() -> None:
    """left/right would not mirror in Arabic: inline-start/end and text-align: start do."""
    css = re.sub(r"/\*.*?\*/", "", STYLESHEET.read_text(), flags=re.S)
    physical = re.findall(
        r"(?:margin|padding|border)-(?:left|right)\b|(?<![-\w])(?:left|right)\s*:"
        r"|text-align:\s*(?:left|right)|float:\s*(?:left|right)",
        css,
    )
    assert physical == []


def test_the_stylesheet_has_a_dark_scheme_and_honours_reduced_motion() -> None:
    css = STYLESHEET.read_text()
    assert "color-scheme: light dark" in css
    assert "@media (prefers-color-scheme: dark)" in css
    assert "@media (prefers-reduced-motion: reduce)" in css
