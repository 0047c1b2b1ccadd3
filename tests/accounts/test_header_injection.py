"""Header injection through the account pages: what a person types never becomes a header
or a recipient of the message that is sent. Refused input gets a clear 4xx."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from eventsite.extensions import db
from eventsite.models import OutboxMessage, User

pytestmark = pytest.mark.usefixtures("smtp_sink")

INJECTION = "\r\nBcc: victim@example.org"
ONE_LINE = "Please keep this on one line: no line breaks, tabs or invisible control characters."
GOOD = {"name": "Ada Lovelace", "email": "ada@example.org", "password": "lovelace engine 1843"}


def outbox_count() -> int:
    return db.session.scalar(select(func.count()).select_from(OutboxMessage))


def user_count() -> int:
    return db.session.scalar(select(func.count()).select_from(User))


def assert_plain_headers(message, recipient: str) -> None:
    """One recipient, in the envelope and in To; no copy headers; one of each header."""
    assert message.rcpt_tos == [recipient]
    headers = [name.lower() for name in message.message]
    assert "bcc" not in headers and "cc" not in headers
    assert message.message.get_all("To") == [recipient]
    assert len(headers) == len(set(headers)), headers
    assert "victim@example.org" not in str(message.message["Subject"])


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "Ada" + INJECTION, ONE_LINE),
        ("name", "Ada\nBcc: victim@example.org", "keep this on one line"),
        ("affiliation", "CERN" + INJECTION, ONE_LINE),
        ("email", "ada@example.org" + INJECTION, "Enter a single email address."),
        ("email", "ada@example.org\nBcc: victim@example.org", "Enter a single email address."),
        ("email", "ada@example.org, victim@example.org", "Enter a valid email address."),
        ("email", "Ada <ada@example.org>", "Enter a valid email address."),
    ],
)
def test_sign_up_refuses_header_injection_in_every_field(
    client, mailbox, field, value, message
) -> None:
    response = client.post("/signup", data={**GOOD, field: value})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert user_count() == 0
    assert outbox_count() == 0
    assert mailbox() == []


def test_sign_up_with_unusual_but_harmless_text_sends_one_plain_message(client, mailbox) -> None:
    response = client.post(
        "/signup",
        data={
            **GOOD,
            "name": 'Ada "Bcc: victim@example.org" Lovelace',
            "affiliation": "Subject: nothing; To: victim@example.org",
        },
    )
    assert response.status_code == 302
    [message] = mailbox()
    assert_plain_headers(message, "ada@example.org")
    assert message.subject == "Confirm your email address"
    assert 'Hello Ada "Bcc: victim@example.org" Lovelace' in message.text  # the body, as typed


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("known@example.org" + INJECTION, "Enter a single email address."),
        ("known@example.org\nBcc: victim@example.org", "Enter a single email address."),
        ("known@example.org,victim@example.org", "Enter a valid email address."),
    ],
)
def test_forgotten_password_refuses_header_injection(client, make_user, mailbox, value, message):
    make_user(email="known@example.org")
    response = client.post("/password/forgot", data={"email": value})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert outbox_count() == 0
    assert mailbox() == []


def test_forgotten_password_for_a_plain_address_sends_one_plain_message(
    client, make_user, mailbox
) -> None:
    make_user(email="known@example.org")
    response = client.post("/password/forgot", data={"email": "  Known@Example.org "})
    assert response.status_code == 302
    [message] = mailbox()
    assert_plain_headers(message, "known@example.org")
    assert message.subject == "Reset your password"
