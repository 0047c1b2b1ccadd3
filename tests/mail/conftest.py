"""Mail fixtures: SMTP servers that answer the way a test needs, and helpers to read
what arrived."""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import socket
import threading
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask

from eventsite.extensions import db
from eventsite.mail import services
from eventsite.mail.models import OutboxMessage

from ..servers import free_port


def parse(envelope: Any) -> EmailMessage:
    return email.message_from_bytes(envelope.content, policy=email.policy.default)


def received(handler: Any) -> list[EmailMessage]:
    with handler.lock:
        return [parse(envelope) for envelope in handler.messages]


@pytest.fixture
def queue(app: Flask) -> Callable[..., list[OutboxMessage]]:
    """`queue(n)` writes n test messages to the outbox and commits, like an action would."""

    def do_queue(
        count: int = 1, *, to: str = "person{n}@example.org", subject: str = "", **kwargs: Any
    ) -> list[OutboxMessage]:
        rows = [
            services.queue_email(
                to.format(n=n), subject or f"Message {n}", "test_message", language="en", **kwargs
            )
            for n in range(1, count + 1)
        ]
        db.session.commit()
        return rows

    return do_queue


class ScriptedHandler:
    """Collects like the shared sink, but can refuse recipients or data, or be slow."""

    def __init__(
        self,
        *,
        rcpt_reply: Callable[[str], str | None] | None = None,
        data_reply: str | None = None,
        delay: float = 0.0,
    ) -> None:
        self.messages: list[Any] = []
        self.lock = threading.Lock()
        self.rcpt_reply = rcpt_reply
        self.data_reply = data_reply
        self.delay = delay

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.rcpt_reply(address) if self.rcpt_reply else None
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.data_reply:
            return self.data_reply
        with self.lock:
            self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def scripted_smtp(app: Flask) -> Iterator[Callable[..., ScriptedHandler]]:
    """`scripted_smtp(rcpt_reply=..., data_reply=..., delay=...)` starts a server and
    points the app at it."""
    controllers: list[Controller] = []

    def start(**kwargs: Any) -> ScriptedHandler:
        handler = ScriptedHandler(**kwargs)
        port = free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port)
        controller.start()
        controllers.append(controller)
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
        return handler

    try:
        yield start
    finally:
        for controller in controllers:
            controller.stop()


class RestartableSMTP:
    """An SMTP server on a fixed port that a test can stop and start again (an outage).
    aiosmtpd closes a controller's loop on stop, so each start is a fresh controller."""

    def __init__(self, handler: ScriptedHandler, port: int) -> None:
        self.handler = handler
        self.port = port
        self.controller: Controller | None = None

    def start(self) -> None:
        assert self.controller is None
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def restartable_smtp(app: Flask) -> Iterator[RestartableSMTP]:
    server = RestartableSMTP(ScriptedHandler(), free_port())
    server.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port)
    try:
        yield server
    finally:
        server.stop()


# How long each conversation with the hung server waits: far longer than a request may take
# in a test that says none waits for it, so that a busy machine's pause of a few seconds
# (the whole suite, under CI) cannot pass for a request that waited.
HUNG_SECONDS = 10


class StallingSMTP:
    """A mail server that has hung: it accepts TCP connections and never says a word, so
    every SMTP conversation waits for MAIL_TIMEOUT. `close()` drops the connections (the
    waiting clients then fail at once) and stops listening."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.connections: list[socket.socket] = []
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._accept, name="stalling-smtp", daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _address = self.listener.accept()
            except OSError:  # closed
                return
            with self.lock:
                self.connections.append(conn)

    @property
    def accepted(self) -> int:
        with self.lock:
            return len(self.connections)

    def close(self) -> None:
        with contextlib.suppress(OSError):  # not connected: nothing to shut down
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        self.thread.join(timeout=5)
        with self.lock:
            for conn in self.connections:
                conn.close()


@pytest.fixture
def stalling_smtp(app: Flask) -> Iterator[StallingSMTP]:
    """Point the app at a mail server that never answers, with MAIL_TIMEOUT at
    HUNG_SECONDS (the test ends the hang at once with `close()`)."""
    server = StallingSMTP()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port, MAIL_TIMEOUT=HUNG_SECONDS)
    try:
        yield server
    finally:
        server.close()
