"""Sending webhook deliveries: claim a due row (eventsite.leases, as the email outbox does),
POST it signed to its endpoint with no transaction open, record what happened.

A 2xx answer marks the delivery sent; anything else (another status, a timeout, a refused
connection, a redirect, which is never followed) is retried after 1 min, 5 min, 30 min,
2 h and 12 h, then marked failed. A sender that dies mid-request leaves its lease, which
runs out, and the next sender posts the same delivery again: same Eventsite-Webhook-Id and
body, so the receiver can drop what it has already handled.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app

from eventsite import leases
from eventsite.extensions import db
from eventsite.i18n import gettext as _
from eventsite.timeutil import utcnow
from eventsite.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

log = logging.getLogger("eventsite.webhooks")

RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=12),
)
MAX_ERROR_LENGTH = 500
USER_AGENT = "eventsite-webhooks/1"


@dataclass
class SendReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0

    @property
    def total(self) -> int:
        return self.sent + self.retried + self.failed

    def __str__(self) -> str:
        return _(
            "%(sent)d sent, %(retried)d to retry, %(failed)d failed",
            sent=self.sent,
            retried=self.retried,
            failed=self.failed,
        )


def body_bytes(payload: dict[str, Any]) -> bytes:
    """The JSON body, the same bytes on every attempt."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The Eventsite-Webhook-Signature header: HMAC-SHA256 of "<timestamp>.<body>"."""
    message = str(timestamp).encode() + b"." + body
    return "v1=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not a new address to post to (which could be anywhere)."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def _post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> tuple[int | None, str]:
    """The receiver's status code (None when none came) and an error to log ("" on 2xx)."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _opener.open(request, timeout=timeout) as response:
            status = response.status
    except urllib.error.HTTPError as err:
        err.close()
        return err.code, f"HTTP {err.code}"
    except (urllib.error.URLError, OSError, ValueError) as err:
        reason = getattr(err, "reason", err)
        return None, str(reason) or type(err).__name__
    if 200 <= status < 300:
        return status, ""
    return status, f"HTTP {status}"


def _attempt(
    row: WebhookDelivery, endpoint: tuple[str, str, bool] | None, now: datetime | None
) -> tuple[str, dict[str, Any]]:
    attempts = row.attempts + 1
    if endpoint is None or not endpoint[2]:
        return "failed", {
            "attempts": row.attempts,
            "status": DeliveryStatus.FAILED,
            "last_error": "The endpoint is disabled.",
        }
    url, secret, _active = endpoint
    body = body_bytes(row.payload)
    stamp = int((now or utcnow()).timestamp())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Eventsite-Webhook-Id": row.webhook_id,
        "Eventsite-Webhook-Timestamp": str(stamp),
        "Eventsite-Webhook-Signature": signature(secret, stamp, body),
    }
    status, error = _post(url, body, headers, float(current_app.config["WEBHOOK_TIMEOUT"]))
    when = now or utcnow()
    values: dict[str, Any] = {"attempts": attempts, "last_status_code": status}
    if not error:
        return "sent", {**values, "status": DeliveryStatus.SENT, "sent_at": when, "last_error": ""}
    values["last_error"] = error[:MAX_ERROR_LENGTH]
    if attempts > len(RETRY_DELAYS):
        log.warning("Webhook %s to %s failed: %s", row.id, url, error)
        return "failed", {**values, "status": DeliveryStatus.FAILED}
    log.info("Webhook %s to %s will be retried: %s", row.id, url, error)
    return "retried", {**values, "next_attempt_at": when + RETRY_DELAYS[attempts - 1]}


def _endpoint(endpoint_id: int) -> tuple[str, str, bool] | None:
    """The endpoint's address, secret and switch, read in a transaction ended at once."""
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    found = (endpoint.url, endpoint.secret, endpoint.is_active) if endpoint else None
    db.session.rollback()
    return found


def lease_duration() -> timedelta:
    """Longer than one request can take, so only a sender that died loses its delivery."""
    return timedelta(seconds=max(3 * float(current_app.config["WEBHOOK_TIMEOUT"]), 60))


def deliver_due(
    *, now: datetime | None = None, limit: int | None = None, ids: Sequence[int] | None = None
) -> SendReport:
    """Send every pending delivery that is due (at most `limit`; only `ids` if given), each
    claimed, posted and recorded on its own. `now` None: the clock."""
    session = db.session()
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("commit or roll back the session before sending webhooks")
    if session.in_transaction():
        session.rollback()  # no transaction stays open while a receiver is waited for
    report = SendReport()
    while limit is None or report.total < limit:
        row = leases.claim(WebhookDelivery, now or utcnow(), lease_duration(), ids)
        if row is None:
            break
        outcome, values = _attempt(row, _endpoint(row.endpoint_id), now)
        if not leases.record(WebhookDelivery, row, values):
            log.warning("Webhook %s: the lease ran out before the outcome was recorded", row.id)
        setattr(report, outcome, getattr(report, outcome) + 1)
    return report
