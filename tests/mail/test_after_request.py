"""Development delivery: what a request queued goes out beside the response, if it committed."""

from __future__ import annotations

import socket
import time
import urllib.request

import pytest
from flask import Flask
from sqlalchemy import select

from eventsite.extensions import db
from eventsite.mail import services
from eventsite.mail.after_request import wait_for_deliveries
from eventsite.mail.models import OutboxMessage, OutboxStatus

from .conftest import received


def add_test_routes(app: Flask) -> None:
    """Views that queue mail the way real actions do: in the request's transaction."""

    def queue_and_commit() -> str:
        services.queue_email("ada@example.org", "After the request", "test_message", language="en")
        db.session.commit()
        return "queued"

    def queue_commit_and_dawdle() -> str:
        queue_and_commit()
        time.sleep(0.3)  # long enough for the client's stray bytes to arrive meanwhile
        return "queued"

    def queue_and_roll_back() -> tuple[str, int]:
        services.queue_email("ada@example.org", "Never sent", "test_message", language="en")
        db.session.rollback()
        return "rolled back", 422

    app.add_url_rule("/_test/mail/commit", "test_commit", queue_and_commit, methods=["POST"])
    app.add_url_rule("/_test/mail/dawdle", "test_dawdle", queue_commit_and_dawdle, methods=["POST"])
    app.add_url_rule("/_test/mail/rollback", "test_rollback", queue_and_roll_back, methods=["POST"])


def statuses() -> list[str]:
    db.session.expire_all()
    return [row.status for row in db.session.scalars(select(OutboxMessage))]


@pytest.fixture
def deliver_after_request(app: Flask) -> Flask:
    app.config["MAIL_DELIVER_AFTER_REQUEST"] = True
    add_test_routes(app)
    return app


def test_mail_goes_out_after_the_request(smtp_sink, deliver_after_request, client):
    _controller, handler = smtp_sink
    response = client.post("/_test/mail/commit")
    assert response.status_code == 200
    wait_for_deliveries()
    [msg] = received(handler)
    assert msg["Subject"] == "After the request"
    assert statuses() == [OutboxStatus.SENT]


def test_only_this_requests_messages_are_delivered(smtp_sink, deliver_after_request, client):
    _controller, handler = smtp_sink
    services.queue_email("earlier@example.org", "Queued earlier", "test_message", language="en")
    db.session.commit()  # queued outside any request: the worker's job

    client.post("/_test/mail/commit")
    wait_for_deliveries()

    assert [msg["Subject"] for msg in received(handler)] == ["After the request"]
    assert sorted(statuses()) == [OutboxStatus.PENDING, OutboxStatus.SENT]


def test_a_rolled_back_message_is_not_delivered(smtp_sink, deliver_after_request, client):
    _controller, handler = smtp_sink
    response = client.post("/_test/mail/rollback")
    assert response.status_code == 422
    wait_for_deliveries()
    assert handler.messages == []
    assert statuses() == []


def test_smtp_down_does_not_break_the_response(restartable_smtp, deliver_after_request, client):
    restartable_smtp.stop()
    response = client.post("/_test/mail/commit")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "queued"
    wait_for_deliveries()
    db.session.expire_all()
    [row] = db.session.scalars(select(OutboxMessage))
    assert row.status == OutboxStatus.PENDING
    assert row.attempts == 1
    assert "refused" in row.last_error.lower()


def test_nothing_is_sent_after_the_request_when_switched_off(smtp_sink, app, client):
    _controller, handler = smtp_sink
    add_test_routes(app)
    assert app.config["MAIL_DELIVER_AFTER_REQUEST"] is False
    client.post("/_test/mail/commit")
    wait_for_deliveries()
    assert handler.messages == []
    assert statuses() == [OutboxStatus.PENDING]


@pytest.mark.slow
def test_a_real_server_delivers_after_the_response(smtp_sink, deliver_after_request, live_server):
    _controller, handler = smtp_sink
    request = urllib.request.Request(f"{live_server}/_test/mail/commit", method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.read() == b"queued"
    deadline = time.monotonic() + 10
    while not handler.messages and time.monotonic() < deadline:
        time.sleep(0.05)
    [msg] = received(handler)
    assert msg["Subject"] == "After the request"
    assert statuses() == [OutboxStatus.SENT]


@pytest.mark.slow
def test_mail_does_not_wait_for_the_client_to_close_the_connection(
    smtp_sink, deliver_after_request, live_server
):
    """Werkzeug's server drains what a client sent after the request body before it closes
    the response, and that read blocks while the client holds the connection open."""
    _controller, handler = smtp_sink
    host, port = live_server.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(b"POST /_test/mail/dawdle HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        time.sleep(0.1)
        conn.sendall(b"\r\n")  # a stray line after the request, which nobody reads
        answer = b""
        while not answer.endswith(b"queued"):  # headers and body may come apart
            chunk = conn.recv(65536)
            assert chunk, f"connection closed after {answer!r}"
            answer += chunk
        deadline = time.monotonic() + 10
        while not handler.messages and time.monotonic() < deadline:
            time.sleep(0.05)
        [msg] = received(handler)  # while the connection is still open
    assert msg["Subject"] == "After the request"
