"""Webhook rules: which addresses an endpoint may have, making and removing endpoints,
queueing a delivery in the transaction of the change it tells of, sending one again."""

from __future__ import annotations

import functools
import ipaddress
import secrets
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import joinedload

from eventsite import catalogue, database
from eventsite.errors import DomainError
from eventsite.extensions import db
from eventsite.i18n import gettext as _
from eventsite.organisations.models import Organisation
from eventsite.webhooks.models import (
    MAX_URL_LENGTH,
    DeliveryStatus,
    EventType,
    WebhookDelivery,
    WebhookEndpoint,
)

SECRET_PREFIX = "whsec_"
LOG_LENGTH = 50  # deliveries shown in the workspace's log
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


class WebhookError(DomainError):
    """An endpoint cannot be saved or a delivery cannot be sent again."""


def check_url(url: str, *, allow_local: bool) -> str:
    """The address, trimmed, if the worker may post to it: https:// (http:// only to this
    machine when `allow_local`), and, unless `allow_local`, no literal private, loopback or
    link-local address and no "localhost" (the names a host resolves to are not looked up)."""
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise WebhookError(
            _("The address is too long (at most %(count)d characters).", count=MAX_URL_LENGTH),
            field="url",
        )
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018  a port that is not a number raises ValueError
    except ValueError:
        raise WebhookError(_("This is not a web address."), field="url") from None
    if parts.scheme not in ("http", "https") or not host:
        raise WebhookError(_("Enter a full web address starting with https://."), field="url")
    if parts.username is not None or parts.password is not None:
        raise WebhookError(_("The address may not contain a user name or password."), field="url")
    if allow_local and host in LOCAL_HOSTS:
        return url
    if parts.scheme != "https":
        raise WebhookError(_("The address must start with https://."), field="url")
    if not allow_local and (host in LOCAL_HOSTS or host.endswith(".localhost") or _private(host)):
        raise WebhookError(
            _("The address must be on the public internet, not a private or local network."),
            field="url",
        )
    return url


def _private(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False  # a name: not resolved here
    return not address.is_global


def check_event_types(values: Iterable[str]) -> list[str]:
    chosen = list(dict.fromkeys(values))
    known = {item.value for item in EventType}
    if not chosen:
        raise WebhookError(_("Choose at least one kind of event to send."), field="event_types")
    if any(value not in known for value in chosen):
        raise WebhookError(_("Choose kinds of events from the list."), field="event_types")
    return [item.value for item in EventType if item.value in chosen]


def create_endpoint(
    organisation: Organisation, *, url: str, event_types: Sequence[str], now: datetime
) -> WebhookEndpoint:
    endpoint = WebhookEndpoint(
        organisation=organisation,
        url=check_url(url, allow_local=bool(current_app.config["WEBHOOKS_ALLOW_LOCAL"])),
        event_types=check_event_types(event_types),
        secret=SECRET_PREFIX + secrets.token_urlsafe(32),
        is_active=True,
        created_at=now,
    )
    db.session.add(endpoint)
    db.session.flush()
    return endpoint


def set_active(endpoint: WebhookEndpoint, is_active: bool) -> None:
    endpoint.is_active = is_active
    db.session.flush()


def delete_endpoint(endpoint: WebhookEndpoint) -> None:
    """Remove the endpoint and its delivery log (pending deliveries are never sent)."""
    db.session.delete(endpoint)
    db.session.flush()


def endpoints_of(organisation: Organisation) -> list[WebhookEndpoint]:
    return list(
        db.session.scalars(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.organisation_id == organisation.id)
            .order_by(WebhookEndpoint.id)
        )
    )


def recent_deliveries(organisation: Organisation, limit: int = LOG_LENGTH) -> list[WebhookDelivery]:
    """The organisation's latest deliveries, newest first, with their endpoints."""
    return list(
        db.session.scalars(
            select(WebhookDelivery)
            .join(WebhookDelivery.endpoint)
            .where(WebhookEndpoint.organisation_id == organisation.id)
            .options(joinedload(WebhookDelivery.endpoint))
            .order_by(WebhookDelivery.id.desc())
            .limit(limit)
        )
    )


def send_again(delivery: WebhookDelivery, now: datetime) -> None:
    """Queue a delivery again, due now, with its attempts counted afresh (same id and body,
    so a receiver that already has it can tell)."""
    if delivery.status == DeliveryStatus.PENDING and delivery.attempts == 0:
        raise WebhookError(_("This delivery has not been tried yet; it is on its way."))
    delivery.status = DeliveryStatus.PENDING
    delivery.attempts = 0
    delivery.next_attempt_at = now
    delivery.lease_token = None
    delivery.lease_expires_at = None
    db.session.flush()


@functools.cache
def _endpoints_statement() -> Select[tuple[int, list[str]]]:
    """The organisation's active endpoints and what each asked for: two columns, not the
    entities (a registration asks, under its event's lock, and usually finds none)."""
    return select(WebhookEndpoint.id, WebhookEndpoint.event_types).where(
        WebhookEndpoint.organisation_id == bindparam("organisation_id"),
        WebhookEndpoint.is_active.is_(True),
    )


# An organisation's active endpoints, kept while the catalogue's stamp stays the same
# (WebhookEndpoint is tracked: models.py): every registration asks, and usually finds none.
_kept_endpoints: catalogue.VersionedMemo[tuple[tuple[int, tuple[str, ...]], ...]] = (
    catalogue.VersionedMemo(1024)
)


def _endpoints(organisation_id: int) -> tuple[tuple[int, tuple[str, ...]], ...]:
    rows = database.read_in_session(
        "webhook endpoints", _endpoints_statement, {"organisation_id": organisation_id}
    )
    return tuple((endpoint_id, tuple(types)) for endpoint_id, types in rows)


def queue(
    organisation_id: int,
    event_type: EventType,
    data: dict[str, Any] | Callable[[], dict[str, Any]],
    now: datetime,
) -> list[WebhookDelivery]:
    """A delivery for each active endpoint of the organisation that asked for this kind of
    event, added to the caller's transaction (so it is sent if and only if the change is
    committed). `data` may be a function: it is called only when some endpoint wants it
    (a registration costs one query more, not the attendee's and event's too)."""
    stamp = catalogue.known_request_stamp()
    if stamp is None:
        endpoints = _endpoints(organisation_id)
    else:
        endpoints = _kept_endpoints.get(
            stamp, organisation_id, functools.partial(_endpoints, organisation_id)
        )
    wanted = [endpoint_id for endpoint_id, types in endpoints if event_type.value in types]
    if not wanted:
        return []
    body = data() if callable(data) else data
    deliveries = []
    for endpoint_id in wanted:
        webhook_id = "wh_" + secrets.token_hex(16)
        delivery = WebhookDelivery(
            endpoint_id=endpoint_id,
            event_type=event_type.value,
            webhook_id=webhook_id,
            payload={
                "id": webhook_id,
                "type": event_type.value,
                "created_at": now.isoformat(),
                "data": body,
            },
            status=DeliveryStatus.PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        db.session.add(delivery)
        deliveries.append(delivery)
    return deliveries
