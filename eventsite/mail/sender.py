"""Delivering the outbox: claim a due row, send it over SMTP, record what happened.

Guarantees, and where they come from:
- No database lock is held while the mail server is talked to. A sender *claims* a row
  in one short transaction (a lease: a random token and an expiry, set by an UPDATE that
  matches only a pending, due row without a live lease) and commits; it sends with no
  transaction open; then it records the outcome in another short transaction, only if
  its token is still on the row. A hung mail server holds up the sender, never the site.
- Nothing is lost: a row is marked sent only after the SMTP server accepted the message;
  a temporary failure (server down, timeout, 4xx) leaves it pending with a backoff. A
  sender that dies mid-send leaves its lease, which runs out (after LEASE_TIMEOUTS times
  MAIL_TIMEOUT, at least MIN_LEASE_SECONDS) and the row is sent by the next sender.
- Several senders never send the same row at once: only one claim can match a row, on
  SQLite (claims take the write lock for a few statements) and on PostgreSQL (`SELECT
  ... FOR UPDATE SKIP LOCKED` picks the row, so senders do not queue behind each other).
- The remaining window (the server accepted the message, then the sender died, the
  commit failed or the lease ran out first) re-sends the row later with the *same*
  Message-ID, Date and body, so the receiving side can recognise and drop the duplicate.
  That is the best SMTP allows: "exactly once" to the server would need a two-phase
  commit it does not offer.
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

from eventsite import leases
from eventsite.extensions import db
from eventsite.i18n import gettext as _
from eventsite.mail import mime, services
from eventsite.mail.models import OutboxMessage, OutboxStatus
from eventsite.timeutil import utcnow

log = logging.getLogger("eventsite.mail")

MAX_ERROR_LENGTH = 1000
# A lease lasts this many MAIL_TIMEOUTs (and at least MIN_LEASE_SECONDS): an SMTP
# conversation is a dozen steps at most (connect, greeting, EHLO, STARTTLS, EHLO, AUTH,
# MAIL, RCPT, DATA, the message, QUIT), each of which may wait MAIL_TIMEOUT.
LEASE_TIMEOUTS = 15
MIN_LEASE_SECONDS = 60


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
        return _(
            "sent %(sent)d, retried %(retried)d, failed %(failed)d",
            sent=self.sent,
            retried=self.retried,
            failed=self.failed,
        )


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


def _failure(
    row: OutboxMessage, *, permanent: bool, error: str, now: datetime, config: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """The outcome of a failed attempt, and the columns that record it."""
    attempts = row.attempts + 1
    if not permanent and attempts >= int(config["MAIL_MAX_ATTEMPTS"]):
        permanent = True
        error = f"gave up after {attempts} attempts; last error: {error}"
    values: dict[str, Any] = {"attempts": attempts, "last_error": error[:MAX_ERROR_LENGTH]}
    if permanent:
        log.warning("Email %s to %s failed: %s", row.id, row.to_address, error)
        return "failed", {**values, "status": OutboxStatus.FAILED}
    log.info("Email %s to %s will be retried: %s", row.id, row.to_address, error)
    return "retried", {**values, "next_attempt_at": now + retry_delay(attempts, config)}


class _LeaseLost(Exception):
    """The lease ran out while the row was being rendered: another sender has it."""


def _render(row: OutboxMessage) -> None:
    """Write a row queued as facts (`services.queue_facts`) and store the result while the
    lease is held, so every later attempt sends the same message; fills in `row`. The
    database is read in a transaction of its own, ended before the row is written."""
    try:
        values = services.rendered_values(services.render_row(row))
    finally:
        db.session.rollback()  # end the renderer's reads: no transaction while sending
    if not leases.keep(OutboxMessage, row, values):
        raise _LeaseLost
    for key, value in values.items():
        setattr(row, key, value)


def _send(
    row: OutboxMessage, transport: Transport, now: datetime | None
) -> tuple[str, dict[str, Any]]:
    """Render (if queued as facts), build and send one claimed row, outside any
    transaction; returns the outcome and the columns to record it with. `now` None: the
    clock when the server has answered."""
    config = current_app.config
    sender = config["MAIL_DEFAULT_SENDER"]
    if row.renderer is not None:
        try:
            _render(row)
        except services.RenderError as err:
            error = f"could not be written: {err}"
            return _failure(row, permanent=True, error=error, now=now or utcnow(), config=config)
        except _LeaseLost:
            raise
        except Exception as err:  # a broken template, say: retried, and reported if it stays
            log.exception("Email %s to %s could not be written", row.id, row.to_address)
            error = f"could not be written: {type(err).__name__}: {err}"
            return _failure(row, permanent=False, error=error, now=now or utcnow(), config=config)
    try:
        msg = mime.build_message(row, sender=sender)
    except mime.MessageBuildError as err:
        return _failure(row, permanent=True, error=str(err), now=now or utcnow(), config=config)
    try:
        transport.send(msg, envelope_from=mime.envelope_sender(sender), recipient=row.to_address)
    except Exception as err:
        permanent, error = classify_failure(err)
        return _failure(row, permanent=permanent, error=error, now=now or utcnow(), config=config)
    return "sent", {
        "attempts": row.attempts + 1,
        "status": OutboxStatus.SENT,
        "sent_at": now or utcnow(),
    }


# --- claiming, recording and the loop --------------------------------------------------------


def lease_duration(config: dict[str, Any]) -> timedelta:
    """How long a claim lasts: longer than any SMTP conversation about one message can
    take (each of its dozen or so steps may wait MAIL_TIMEOUT), so that only a sender
    that died, or hung past every timeout, ever loses its message to another."""
    return timedelta(seconds=max(LEASE_TIMEOUTS * float(config["MAIL_TIMEOUT"]), MIN_LEASE_SECONDS))


def _claim(now: datetime, ids: Sequence[int] | None) -> OutboxMessage | None:
    return leases.claim(OutboxMessage, now, lease_duration(current_app.config), ids)


def _record(row: OutboxMessage, values: dict[str, Any]) -> bool:
    """Write the outcome and end the lease if this sender still holds it (`leases.record`);
    when it ran out, the sender that took the message sends the same Message-ID."""
    recorded = leases.record(OutboxMessage, row, values)
    if not recorded:
        log.warning(
            "Email %s to %s: the lease ran out before the outcome was recorded; another "
            "sender has the message and may send it again (same Message-ID)",
            row.id,
            row.to_address,
        )
    return recorded


def _deliver(
    *, now: datetime | None, limit: int | None, ids: Sequence[int] | None
) -> DeliveryReport:
    session = db.session()
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("commit or roll back the session before delivering email")
    if session.in_transaction():
        session.rollback()  # no transaction stays open while the server is talked to
    if ids is None:
        # What the packages above wrote on their own rows joins the outbox first.
        try:
            services.queue_pending(limit=limit)
            session.commit()
        except BaseException:
            session.rollback()
            raise
    report = DeliveryReport()
    transport = make_transport(current_app.config)
    try:
        while limit is None or report.total < limit:
            row = _claim(now or utcnow(), ids)
            if row is None:
                break
            try:
                outcome, values = _send(row, transport, now)  # no transaction, no lock
            except _LeaseLost:
                log.warning("Email %s: the lease ran out while it was written", row.id)
                continue
            _record(row, values)
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
    """Send every pending message that is due (at most `limit`), each claimed, sent and
    recorded on its own.

    Runs in the current app context (and its session), or in a fresh one for `app`.
    """
    if app is not None and not (has_app_context() and current_app._get_current_object() is app):
        with app.app_context():
            return _deliver(now=now, limit=limit, ids=None)
    return _deliver(now=now, limit=limit, ids=None)


def deliver_messages(ids: Sequence[int], *, now: datetime | None = None) -> DeliveryReport:
    """Send just these messages, if they are still pending, due and unclaimed (after a
    request)."""
    if not ids:
        return DeliveryReport()
    return _deliver(now=now, limit=None, ids=list(ids))
