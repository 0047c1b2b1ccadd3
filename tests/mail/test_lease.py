"""Senders lease a message while they talk to the mail server: two senders work side by
side without sending a row twice, and a sender that dies leaves its row to another once
the lease has run out, with the same Message-ID."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from eventsite.extensions import db
from eventsite.mail import sender
from eventsite.mail.models import OutboxMessage, OutboxStatus
from eventsite.timeutil import utcnow

from ..servers import free_port
from .conftest import ScriptedHandler, StallingSMTP, received

ROOT = Path(__file__).resolve().parents[2]


def rows() -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


class OverlapHandler(ScriptedHandler):
    """Takes `delay` seconds over each message and notes how many were in flight at once."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay_each = delay
        self.in_flight = 0
        self.most_in_flight = 0

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay_each)
        finally:
            with self.lock:
                self.in_flight -= 1
        return await super().handle_DATA(server, session, envelope)


def test_two_senders_send_side_by_side_and_never_the_same_row_twice(app, queue) -> None:
    """No database lock is held while a message is sent: on SQLite too, the two senders
    talk to the server at the same time, each about its own rows."""
    handler = OverlapHandler(delay=0.1)
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port)
    queued = queue(12)
    start = threading.Barrier(2)
    reports: list[sender.DeliveryReport] = []
    errors: list[BaseException] = []

    def deliver() -> None:
        try:
            with app.app_context():
                start.wait(timeout=10)
                reports.append(sender.deliver_due())
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        controller.stop()

    assert errors == []
    assert sum(report.sent for report in reports) == 12
    arrived = Counter(msg["Message-ID"] for msg in received(handler))
    assert arrived == Counter(row.message_id for row in queued)  # each exactly once
    assert handler.most_in_flight == 2
    assert all(row.status == OutboxStatus.SENT for row in rows())
    assert all(row.lease_token is None and row.lease_expires_at is None for row in rows())


@pytest.mark.slow
def test_a_sender_that_dies_mid_send_leaves_the_row_until_its_lease_runs_out(
    app, app_config, smtp_sink, queue
) -> None:
    """`flask outbox work` is killed while the mail server keeps it waiting: its row is
    leased, so no other sender takes it at once; after the lease it goes, exactly once."""
    _controller, handler = smtp_sink
    [row] = queue(1, subject="Outlives its sender")
    hung = StallingSMTP()
    env = {
        **os.environ,
        "EVENTSITE_ENV": "development",
        "DATABASE_URL": app_config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": "worker-test-secret-0123456789abcdef",
        "EVENTSITE_MAIL_SERVER": "127.0.0.1",
        "EVENTSITE_MAIL_PORT": str(hung.port),
        "EVENTSITE_MAIL_TIMEOUT": "60",
        "EVENTSITE_MAIL_DEFAULT_SENDER": '"eventsite <no-reply@eventsite.test>"',
    }
    command = [sys.executable, "-m", "flask", "--app", "eventsite", "outbox", "work"]
    db.session.commit()
    process = subprocess.Popen(
        [*command, "--interval", "0.2"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while hung.accepted == 0 and time.monotonic() < deadline:
            assert process.poll() is None, process.communicate()[0]
            time.sleep(0.05)
        assert hung.accepted == 1  # the worker is in the middle of its SMTP conversation
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        hung.close()

    assert sender.deliver_due().total == 0  # the dead sender's lease still holds
    assert handler.messages == []
    [leased] = rows()
    assert leased.status == OutboxStatus.PENDING
    assert leased.lease_token is not None

    # Longer than the dead sender could have been waiting for its server (60 s).
    assert leased.lease_expires_at > utcnow() + timedelta(seconds=60)
    report = sender.deliver_due(now=leased.lease_expires_at)
    assert (report.sent, report.retried, report.failed) == (1, 0, 0)
    [msg] = received(handler)
    assert msg["Message-ID"] == row.message_id
    assert msg["Subject"] == "Outlives its sender"
    [done] = rows()
    assert (done.status, done.attempts, done.lease_token) == (OutboxStatus.SENT, 1, None)
