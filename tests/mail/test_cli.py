"""`flask outbox ...`: send, work, status, retry and test-send, as an operator runs them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from eventsite.extensions import db
from eventsite.mail.models import OutboxMessage, OutboxStatus

from .conftest import received

ROOT = Path(__file__).resolve().parents[2]


def statuses() -> list[str]:
    db.session.expire_all()
    return [r.status for r in db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]


def test_send_delivers_what_is_due_and_prints_counts(smtp_sink, app, runner, queue):
    _controller, handler = smtp_sink
    queue(2)

    result = runner.invoke(args=["outbox", "send"])

    assert result.exit_code == 0, result.output
    assert "sent 2, retried 0, failed 0" in result.output
    assert len(handler.messages) == 2
    assert runner.invoke(args=["outbox", "send"]).output.strip() == (
        "Outbox: sent 0, retried 0, failed 0."
    )


def test_work_once_delivers_and_stops(smtp_sink, app, runner, queue):
    _controller, handler = smtp_sink
    queue(3)

    result = runner.invoke(args=["outbox", "work", "--once"])

    assert result.exit_code == 0, result.output
    assert "sent 3" in result.output
    assert "stopped after 1 round." in result.output
    assert len(handler.messages) == 3


def test_work_runs_rounds_of_the_batch_size(smtp_sink, app, runner, queue):
    _controller, handler = smtp_sink
    app.config["OUTBOX_BATCH_SIZE"] = 2
    queue(3)

    result = runner.invoke(args=["outbox", "work", "--max-loops", "3", "--interval", "0"])

    assert result.exit_code == 0, result.output
    assert "Outbox: sent 2, retried 0, failed 0." in result.output
    assert "Outbox: sent 1, retried 0, failed 0." in result.output
    assert "stopped after 3 rounds." in result.output
    assert len(handler.messages) == 3


def test_status_shows_counts_and_the_permanent_failure(scripted_smtp, app, runner, queue):
    scripted_smtp(rcpt_reply=lambda a: "550 no such user" if a.startswith("nobody@") else None)
    [failed] = queue(1, to="nobody@example.org", subject="Welcome")
    queue(1, to="somebody@example.org")
    runner.invoke(args=["outbox", "send"])
    queue(1, to="later@example.org")

    result = runner.invoke(args=["outbox", "status"])

    assert result.exit_code == 0, result.output
    assert "pending: 1  sent: 1  failed: 1" in result.output
    assert "Oldest pending message: queued" in result.output
    assert f"#{failed.id} to nobody@example.org" in result.output
    assert "550 no such user" in result.output


def test_status_lists_messages_waiting_for_a_retry(restartable_smtp, app, runner, queue):
    restartable_smtp.stop()
    queue(1, to="ada@example.org")
    runner.invoke(args=["outbox", "send"])

    result = runner.invoke(args=["outbox", "status"])

    assert "Retrying:" in result.output
    assert "ada@example.org, 1 attempt, next in" in result.output


def test_retry_puts_a_failed_message_back_and_it_is_sent(scripted_smtp, app, runner, queue):
    refusing = {"on": True}
    handler = scripted_smtp(rcpt_reply=lambda _a: "550 no such user" if refusing["on"] else None)
    [row] = queue(1)
    runner.invoke(args=["outbox", "send"])
    assert statuses() == [OutboxStatus.FAILED]
    refusing["on"] = False  # the mailbox was created

    result = runner.invoke(args=["outbox", "retry", str(row.id)])

    assert result.exit_code == 0, result.output
    assert "1 failed message back in the queue." in result.output
    assert statuses() == [OutboxStatus.PENDING]
    runner.invoke(args=["outbox", "send"])
    assert statuses() == [OutboxStatus.SENT]
    assert len(handler.messages) == 1


@pytest.mark.parametrize("command", [["send"], ["work", "--once"], ["test-send", "a@b.org"]])
def test_production_without_mail_server_says_what_to_set(app, runner, queue, command):
    app.config["ENV_NAME"] = "production"
    queue(1)
    result = runner.invoke(args=["outbox", *command])
    assert result.exit_code == 1
    assert "MAIL_SERVER is not set" in result.output
    assert set(statuses()) == {OutboxStatus.PENDING}


def test_retry_needs_ids_or_all_failed(app, runner):
    result = runner.invoke(args=["outbox", "retry"])
    assert result.exit_code == 2
    assert "--all-failed" in result.output
    assert runner.invoke(args=["outbox", "retry", "--all-failed"]).exit_code == 0


def test_test_send_delivers_the_example_message(smtp_sink, app, runner):
    _controller, handler = smtp_sink

    result = runner.invoke(args=["outbox", "test-send", "ops@example.org"])

    assert result.exit_code == 0, result.output
    assert "Accepted by the server." in result.output
    [msg] = received(handler)
    assert msg["To"] == "ops@example.org"
    assert msg["Subject"] == "Test message from eventsite"
    assert "the outgoing email settings work" in msg.get_body(("plain",)).get_content()


def test_test_send_reports_an_unreachable_server(restartable_smtp, app, runner):
    restartable_smtp.stop()
    result = runner.invoke(args=["outbox", "test-send", "ops@example.org"])
    assert result.exit_code == 1
    assert "Not sent (kept in the queue for retries)" in result.output


def test_test_send_refuses_a_bad_address(app, runner):
    result = runner.invoke(args=["outbox", "test-send", "ops@example.org\r\nBcc: x@y.org"])
    assert result.exit_code == 2
    assert statuses() == []


@pytest.mark.slow
def test_worker_process_delivers_then_stops_cleanly_on_sigterm(smtp_sink, app, queue):
    _controller, handler = smtp_sink
    queue(2)
    env = {
        **os.environ,
        "EVENTSITE_ENV": "development",
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": "worker-test-secret-0123456789abcdef",
        "EVENTSITE_MAIL_SERVER": "127.0.0.1",
        "EVENTSITE_MAIL_PORT": str(app.config["MAIL_PORT"]),
        "EVENTSITE_MAIL_DEFAULT_SENDER": '"eventsite <no-reply@eventsite.test>"',
    }
    command = [sys.executable, "-m", "flask", "--app", "eventsite", "outbox", "work"]
    worker = subprocess.Popen(
        [*command, "--interval", "0.2"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while len(handler.messages) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(handler.messages) == 2
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=20)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    assert worker.returncode == 0, output
    assert "Received SIGTERM" in output
    assert "Outbox worker stopped" in output
    assert statuses() == [OutboxStatus.SENT, OutboxStatus.SENT]
