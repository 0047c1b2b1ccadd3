"""Delivering the outbox: claim a due row, send it over SMTP, record what happened.

Guarantees, and where they come from:
- Nothing is lost: a row is marked sent only after the SMTP server accepted the message;
  a temporary failure (server down, timeout, 4xx) leaves it pending with a backoff.
- Several workers never send the same row: each row is claimed inside a transaction,
  with `SELECT ... FOR UPDATE SKIP LOCKED` on PostgreSQL (other workers skip it and take
  the next one) and the database write lock on SQLite (one sender at a time). The lock is
  held while the message is sent and released by the commit that marks it sent.
- The remaining window (the server accepted the message, then the worker crashed or the
  commit failed) re-sends the row later with the *same* Message-ID, Date and body, so the
  receiving side can recognise and drop the duplicate. That is the best SMTP allows:
  "exactly once" to the server would need a two-phase commit it does not offer.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any, Protocol, TextIO

from flask import Flask, current_app, has_app_context
from sqlalchemy import Select, select

from eventsite import database
from eventsite.extensions import db
from eventsite.mail import mime
from eventsite.mail.models import OutboxMessage, OutboxStatus
from eventsite.timeutil import utcnow

log = logging.getLogger("eventsite.mail")

MAX_ERROR_LENGTH = 1000


class MailConfigError(RuntimeError):
    """Mail cannot be delivered with this configuration; the message says what to set."""


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0  # temporary failure: still pending, with a later next_attempt_at
    failed: int = 0  # permanently: rejected, unbuildable, or out of attempts

    @property
    def total(self) -> int:
        return self.sent + self.retried + self.failed

    def __str__(self) -> str:
        return f"sent {self.sent}, retried {self.retried}, failed {self.failed}"


# --- transports ------------------------------------------------------------------------------


class Transport(Protocol):
    def send(self, msg: EmailMessage, *, envelope_from: str, recipient: str) -> None: ...
    def close(self) -> None: ...


class SMTPTransport:
    """One SMTP connection, opened on first use and reused for the rest of a batch."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self._smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        config = self.config
        host, port = config["MAIL_SERVER"], int(config["MAIL_PORT"])
        timeout = float(config["MAIL_TIMEOUT"])
        smtp: smtplib.SMTP
        if config["MAIL_USE_SSL"]:
            context = ssl.create_default_context()
            smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
        else:
            smtp = smtplib.SMTP(host, port, timeout=timeout)
        try:
            if config["MAIL_USE_TLS"] and not config["MAIL_USE_SSL"]:
                smtp.starttls(context=ssl.create_default_context())
            if config.get("MAIL_USERNAME"):
                smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
        except BaseException:
            _close_quietly(smtp)
            raise
        return smtp

    def send(self, msg: EmailMessage, *, envelope_from: str, recipient: str) -> None:
        if self._smtp is None:
            self._smtp = self._connect()
        try:
            refused = self._smtp.send_message(msg, from_addr=envelope_from, to_addrs=[recipient])
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError, smtplib.SMTPSenderRefused):
            raise  # smtplib has reset the transaction; the connection is still good
        except BaseException:
            self.close()  # the connection's state is unknown: start afresh next time
            raise
        if refused:  # only possible with several recipients, but never mark those as sent
            raise smtplib.SMTPRecipientsRefused(refused)

    def close(self) -> None:
        if self._smtp is not None:
            _close_quietly(self._smtp)
            self._smtp = None


def _close_quietly(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        smtp.close()


class ConsoleTransport:
    """Development without MAIL_SERVER: print the message instead of sending it."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    def send(self, msg: EmailMessage, *, envelope_from: str, recipient: str) -> None:
        stream = self.stream or sys.stdout
        lines = ["", "-" * 20 + " email (MAIL_SERVER is not set: printed, not sent) " + "-" * 20]
        for name in ("From", "To", "Reply-To", "Subject", "Date", "Message-ID"):
            if msg[name] is not None:
                lines.append(f"{name}: {msg[name]}")
        lines.append("")
        lines.append(mime.text_part(msg).rstrip("\n"))
        for part in msg.iter_attachments():
            size = len(part.get_payload(decode=True) or b"")
            lines.append(
                f"[attachment {part.get_filename()} ({part['Content-Type']}), {size} bytes]"
            )
        lines.append("-" * 91)
        stream.write("\n".join(lines) + "\n")
        stream.flush()
        log.info("Printed email %s to %s (MAIL_SERVER is not set)", msg["Message-ID"], recipient)

    def close(self) -> None:
        pass


def make_transport(config: dict[str, Any]) -> Transport:
    if config.get("MAIL_SERVER"):
        return SMTPTransport(config)
    if config.get("ENV_NAME") == "production":
        # Printing would mark real mail as sent and lose it.
        raise MailConfigError(
            "MAIL_SERVER is not set: set EVENTSITE_MAIL_SERVER (and EVENTSITE_MAIL_PORT, "
            "EVENTSITE_MAIL_USERNAME, ...) so the outbox can deliver email in production."
        )
    return ConsoleTransport()


# --- outcomes --------------------------------------------------------------------------------


def classify_failure(err: BaseException) -> tuple[bool, str]:
    """(permanent?, human description) for an exception raised while sending.

    Only the server's definite "no" to this message — a 5xx reply to RCPT TO or to the
    DATA — is permanent. Everything else (refused or timed-out connections, 4xx replies,
    authentication or TLS trouble, which configuration can fix) is worth retrying.
    """
    if isinstance(err, smtplib.SMTPRecipientsRefused):
        replies = list(err.recipients.values())
        code, text = replies[0] if replies else (0, b"")
        return 500 <= code < 600, f"{code} {_text(text)} (recipient refused)"
    if isinstance(err, smtplib.SMTPDataError):
        return 500 <= err.smtp_code < 600, f"{err.smtp_code} {_text(err.smtp_error)} (data refused)"
    if isinstance(err, smtplib.SMTPResponseException):
        return False, f"{err.smtp_code} {_text(err.smtp_error)} ({type(err).__name__})"
    if isinstance(err, OSError):
        return False, f"{type(err).__name__}: {err}"
    return False, f"unexpected {type(err).__name__}: {err}"


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def retry_delay(attempts: int, config: dict[str, Any]) -> timedelta:
    """30 s, 1 min, 2 min, ... doubling per failed attempt, capped (1 h by default)."""
    base = float(config["MAIL_RETRY_BASE_SECONDS"])
    cap = float(config["MAIL_RETRY_MAX_SECONDS"])
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), cap))


def _record_failure(
    row: OutboxMessage, *, permanent: bool, error: str, now: datetime, config: dict[str, Any]
) -> str:
    row.attempts += 1
    if not permanent and row.attempts >= int(config["MAIL_MAX_ATTEMPTS"]):
        permanent = True
        error = f"gave up after {row.attempts} attempts; last error: {error}"
    row.last_error = error[:MAX_ERROR_LENGTH]
    if permanent:
        row.status = OutboxStatus.FAILED
        log.warning("Email %s to %s failed: %s", row.id, row.to_address, error)
        return "failed"
    row.next_attempt_at = now + retry_delay(row.attempts, config)
    log.info("Email %s to %s will be retried: %s", row.id, row.to_address, error)
    return "retried"


def _deliver_row(row: OutboxMessage, transport: Transport, now: datetime) -> str:
    config = current_app.config
    sender = config["MAIL_DEFAULT_SENDER"]
    try:
        msg = mime.build_message(row, sender=sender)
    except mime.MessageBuildError as err:
        return _record_failure(row, permanent=True, error=str(err), now=now, config=config)
    try:
        transport.send(msg, envelope_from=mime.envelope_sender(sender), recipient=row.to_address)
    except Exception as err:
        permanent, error = classify_failure(err)
        return _record_failure(row, permanent=permanent, error=error, now=now, config=config)
    row.attempts += 1
    row.status = OutboxStatus.SENT
    row.sent_at = now
    return "sent"


# --- claiming and the loop -------------------------------------------------------------------


def _due_rows(now: datetime, ids: Sequence[int] | None) -> Select[tuple[OutboxMessage]]:
    stmt = (
        select(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.PENDING)
        .where(OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(1)
        # PostgreSQL: a row another worker is sending is skipped, not waited for.
        # SQLite ignores this; lock_for_write() serialises the senders instead.
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    if ids is not None:
        stmt = stmt.where(OutboxMessage.id.in_(ids))
    return stmt


def _deliver(
    *, now: datetime | None, limit: int | None, ids: Sequence[int] | None
) -> DeliveryReport:
    session = db.session()
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("commit or roll back the session before delivering email")
    if session.in_transaction():
        session.rollback()  # start from a fresh snapshot; each message commits on its own
    report = DeliveryReport()
    transport = make_transport(current_app.config)
    try:
        while limit is None or report.total < limit:
            moment = now or utcnow()
            # SQLite: BEGIN IMMEDIATE, one sender at a time. PostgreSQL: no-op; the row
            # lock comes from the SELECT ... FOR UPDATE SKIP LOCKED below.
            database.lock_for_write()
            row = session.scalars(_due_rows(moment, ids)).first()
            if row is None:
                session.rollback()
                break
            outcome = _deliver_row(row, transport, moment)
            session.commit()
            setattr(report, outcome, getattr(report, outcome) + 1)
    except BaseException:
        session.rollback()
        raise
    finally:
        transport.close()
    return report


def deliver_due(
    app: Flask | None = None, *, now: datetime | None = None, limit: int | None = None
) -> DeliveryReport:
    """Send every pending message that is due (at most `limit`), one transaction each.

    Runs in the current app context (and its session), or in a fresh one for `app`.
    """
    if app is not None and not (has_app_context() and current_app._get_current_object() is app):
        with app.app_context():
            return _deliver(now=now, limit=limit, ids=None)
    return _deliver(now=now, limit=limit, ids=None)


def deliver_messages(ids: Sequence[int], *, now: datetime | None = None) -> DeliveryReport:
    """Send just these messages, if they are still pending and due (after a request)."""
    if not ids:
        return DeliveryReport()
    return _deliver(now=now, limit=None, ids=list(ids))
