"""Queueing email: render both parts now and store the row (`queue_email`), or store the
facts and let the sender render them (`queue_facts`); the sender delivers later."""

from __future__ import annotations

import base64
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import make_msgid, parseaddr
from typing import Any

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel.speaklater import LazyString
from sqlalchemy import Insert, func, select, update

from eventsite import database, i18n
from eventsite.extensions import db
from eventsite.mail import mime
from eventsite.mail.models import OutboxMessage, OutboxStatus
from eventsite.timeutil import utcnow

# Where the session keeps the ids of the messages queued in its transaction.
QUEUED_IDS = "eventsite.mail.queued_ids"
# (source, key) of the messages a request wrote on its own rows (`pending_queued`).
QUEUED_PENDING = "eventsite.mail.queued_pending"


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str  # e.g. "application/pdf"
    data: bytes
    # "REQUEST" / "CANCEL": an iTIP invitation, also sent as the message's text/calendar
    # alternative (mime.build_message).
    calendar_method: str | None = None
    # An image the HTML part shows as <img src="cid:...">, sent beside it (mime.build_message).
    content_id: str | None = None

    def as_json(self) -> dict[str, str]:
        item = {
            "filename": self.filename,
            "content_type": self.content_type,
            "data": base64.b64encode(self.data).decode("ascii"),
        }
        if self.calendar_method:
            item["calendar_method"] = self.calendar_method
        if self.content_id:
            item["content_id"] = self.content_id
        return item


def calendar_invitation(filename: str, method: str, data: bytes) -> Attachment:
    """An iTIP calendar (RFC 5546) sent as Outlook sends one: the text/calendar part of
    the message's alternatives, and a copy attached as `application/ics` for download."""
    return Attachment(filename, "application/ics", data, calendar_method=method)


def inline_image(filename: str, content_type: str, data: bytes) -> Attachment:
    """An image shown inside the HTML part: `<img src="cid:{{ attachment.content_id }}">`.
    Its Content-ID is unique (RFC 2392) and stored with the row, so every delivery attempt
    carries the same one."""
    domain = parseaddr(current_app.config["MAIL_DEFAULT_SENDER"])[1].rpartition("@")[2]
    content_id = make_msgid(idstring="img", domain=domain or "localhost").strip("<>")
    return Attachment(filename, content_type, data, content_id=content_id)


def _single_line(value: str) -> str:
    """Header values never carry line breaks: a CR or LF would start a new header."""
    return " ".join(value.replace("\r", " ").replace("\n", " ").split())


class Deferred:
    """A value a message shows that depends on the language (a date, a status's name):
    worked out when the message is rendered, in its recipient's language."""

    def __init__(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        self.func, self.args, self.kwargs = func, args, kwargs

    def resolve(self) -> Any:
        return self.func(*self.args, **self.kwargs)


def deferred(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Deferred:
    """`func(*args, **kwargs)`, called when the message is rendered in its language."""
    return Deferred(func, *args, **kwargs)


@dataclass(frozen=True)
class RenderedEmail:
    """A message as its recipient reads it: what `queue_email` stores and a preview shows."""

    subject: str
    text: str
    html: str
    from_name: str | None = None  # the From header's display name; None: the site's


Subject = str | LazyString | Deferred


def _resolved(value: Any) -> Any:
    return value.resolve() if isinstance(value, Deferred) else value


def render_email(
    subject: Subject,
    template: str,
    *,
    language: str,
    from_name: str | None = None,
    **context: Any,
) -> RenderedEmail:
    """Render `templates/email/<template>.txt` and `.html` with `context` plus `site_name`
    and `base_url`, in the recipient's `language` (i18n.LANGUAGES; another value: English),
    whoever sends it: a lazy subject (`lazy_gettext`) and `Deferred` values are worked out
    in it too. Nothing the user typed reaches a header except through `_single_line`."""
    config = current_app.config
    with force_locale(i18n.normalise(language) or i18n.DEFAULT):
        context = {
            "site_name": config["SITE_NAME"],
            "base_url": config["BASE_URL"].rstrip("/"),
            **{name: _resolved(value) for name, value in context.items()},
        }
        return RenderedEmail(
            subject=_single_line(str(_resolved(subject)))[:300],
            text=render_template(f"email/{template}.txt", **context),
            html=render_template(f"email/{template}.html", **context),
            from_name=_single_line(from_name)[:200] if from_name else None,
        )


def queue_email(
    to: str,
    subject: Subject,
    template: str,
    *,
    language: str,
    category: str = "",
    reply_to: str | None = None,
    attachments: list[Attachment] | None = None,
    list_unsubscribe: str | None = None,
    **context: Any,
) -> OutboxMessage:
    """Render the message (`render_email`) and write it to the outbox (`queue_rendered`)."""
    return queue_rendered(
        to,
        render_email(subject, template, language=language, **context),
        category=category,
        reply_to=reply_to,
        attachments=attachments,
        list_unsubscribe=list_unsubscribe,
    )


def queue_rendered(
    to: str,
    message: RenderedEmail,
    *,
    category: str = "",
    reply_to: str | None = None,
    attachments: list[Attachment] | None = None,
    list_unsubscribe: str | None = None,
) -> OutboxMessage:
    """Write one rendered message to the outbox in the caller's transaction (flush, no
    commit).

    `to` and `reply_to` must be addresses (ValueError otherwise). `list_unsubscribe` is an
    address that unsubscribes with a bare POST (RFC 8058), for mail sent to a list.
    """
    row = OutboxMessage(
        **_row_values(
            to,
            message,
            category=category,
            reply_to=reply_to,
            attachments=[a.as_json() for a in attachments or []],
            list_unsubscribe=list_unsubscribe,
        )
    )
    db.session.add(row)
    db.session.flush()
    _queued(row.id)
    return row


def _row_values(
    to: str, message: RenderedEmail, *, reply_to: str | None, **columns: Any
) -> dict[str, Any]:
    """An outbox row's columns: the addresses checked, a new Message-ID."""
    to = check_recipient(to)
    config = current_app.config
    reply_to = _single_line(reply_to) if reply_to else config.get("MAIL_REPLY_TO")
    if reply_to:
        mime.check_address_header(reply_to, single=False)
    return {
        "message_id": make_msgid(domain=_sender_domain(config["MAIL_DEFAULT_SENDER"])),
        "to_address": to,
        "reply_to": reply_to,
        "from_name": message.from_name,
        "subject": message.subject,
        "body_text": message.text,
        "body_html": message.html,
        **columns,
    }


def check_recipient(to: str) -> str:
    """The address a message goes to, stripped; ValueError unless it is one address. The
    verdict is kept (`mime.check_address_header`): asking before a lock spares the lock."""
    to = to.strip()
    # `to.split() != [to]`: any whitespace at all (str.isspace's), in one C call.
    if any(ch in to for ch in ",;<>") or to.split() != [to] or "@" not in to:
        raise ValueError(f"not a single email address: {to!r}")
    mime.check_address_header(to, single=True)
    return to


@functools.lru_cache(maxsize=8)
def _sender_domain(sender: str) -> str:
    return parseaddr(sender)[1].rpartition("@")[2] or "localhost"


def _queued(row_id: int) -> None:
    """Development delivers the row once the request has committed (`after_request`);
    production leaves it to the worker."""
    db.session().info.setdefault(QUEUED_IDS, []).append(row_id)


# --- messages queued as facts, rendered by the sender -----------------------------------------


class RenderError(Exception):
    """A queued message cannot be written, now or ever (what it is about is gone)."""


@dataclass(frozen=True)
class Rendered:
    """What a renderer writes from a row's facts: the message and its attachments."""

    email: RenderedEmail
    attachments: list[Attachment] = field(default_factory=list)


Renderer = Callable[[dict[str, Any]], Rendered]
_RENDERERS: dict[str, Renderer] = {}


def register_renderer(name: str, renderer: Renderer) -> None:
    """A package above this one (registration) says how to write its messages from their
    facts; `queue_facts(..., renderer=name)` rows are then written by it."""
    _RENDERERS[name] = renderer


# Messages a package above writes on its own rows rather than in the outbox (a
# registration's confirmation, with the registration: `registration.notifications`), and
# moves to the outbox itself: `queue(limit=..., ids=...)` (its rows' ids) returns the
# outbox rows' ids. The sender calls every source before it delivers (`queue_pending`).
PendingSource = Callable[..., list[int]]
_PENDING_SOURCES: dict[str, PendingSource] = {}
_PENDING_COUNTS: dict[str, Callable[[], int]] = {}


def register_pending(name: str, queue: PendingSource, count: Callable[[], int]) -> None:
    """`queue` moves a source's messages to the outbox; `count` says how many wait."""
    _PENDING_SOURCES[name] = queue
    _PENDING_COUNTS[name] = count


def queue_pending(
    *, limit: int | None = None, keys: Sequence[tuple[str, int]] | None = None
) -> list[int]:
    """Move the messages written on the sources' rows to the outbox (at most `limit` per
    source; only `keys`, (source, row id) pairs, if given), in the caller's transaction,
    holding the write lock first on SQLite (`database.lock_for_write`: the claims read,
    then write). Returns the outbox rows' ids."""
    database.lock_for_write()
    queued: list[int] = []
    for name, queue in _PENDING_SOURCES.items():
        if keys is None:
            queued += queue(limit=limit)
            continue
        ids = [key for source, key in keys if source == name]
        if ids:
            queued += queue(limit=limit, ids=ids)
    return queued


def pending_queued(source: str, key: int) -> None:
    """Development moves a message written on a row to the outbox, and delivers it, once
    the request has committed (`after_request`); production leaves it to the worker."""
    db.session().info.setdefault(QUEUED_PENDING, []).append((source, key))


def queue_facts(
    to: str,
    renderer: str,
    facts: dict[str, Any],
    *,
    language: str,
    category: str,
    due: datetime | None = None,
) -> int:
    """Write a message to the outbox as the facts it tells (JSON) and the language to tell
    them in (the recipient's), in the caller's transaction; returns the row's id. The sender
    renders it (`render_row`) once it has claimed the row, outside the caller's transaction
    and its locks: a registration holds up the next one for its insert, not for its email's
    templates, QR code and calendar. Committed with the change it tells of, so never lost;
    a renderer that fails is retried like a failed delivery. One INSERT of the table's
    (no ORM flush: this runs under the event's lock). `due`: since when the message is due,
    if before now (one written on another row first: `queue_pending`)."""
    if renderer not in _RENDERERS:
        raise ValueError(f"no renderer {renderer!r} is registered")
    values = _row_values(
        to,
        RenderedEmail(subject="", text="", html=""),
        reply_to=None,
        category=category,
        renderer=renderer,
        facts=facts,
        locale=i18n.normalise(language) or i18n.DEFAULT,
    )
    if due is not None:
        values["next_attempt_at"] = min(due, utcnow())
    table = OutboxMessage.__table__
    ((row_id,),) = database.insert_in_session("outbox", _insert_statement, table, values)
    _queued(row_id)
    return int(row_id)


def _insert_statement() -> Insert:
    table = OutboxMessage.__table__
    return database.insert_of_every_column(table).returning(table.c.id)


def render_row(row: OutboxMessage) -> Rendered:
    """Write a row queued by `queue_facts`, in the language stored with it. Reads the
    database; changes nothing. RenderError when it can never be written."""
    renderer = _RENDERERS.get(row.renderer or "")
    if renderer is None:
        raise RenderError(f"no renderer {row.renderer!r} is registered")
    if not row.locale:
        return renderer(dict(row.facts or {}))
    with force_locale(row.locale):
        return renderer(dict(row.facts or {}))


def rendered_values(rendered: Rendered) -> dict[str, Any]:
    """The columns that store a rendered message on its row (and mark it rendered)."""
    message = rendered.email
    return {
        "subject": message.subject,
        "body_text": message.text,
        "body_html": message.html,
        "from_name": message.from_name,
        "attachments": [a.as_json() for a in rendered.attachments],
        "renderer": None,
    }


# --- operating the outbox ----------------------------------------------------------------------


@dataclass
class OutboxSummary:
    counts: dict[str, int]
    oldest_pending_at: datetime | None
    failed: list[OutboxMessage] = field(default_factory=list)  # most recent first
    retrying: list[OutboxMessage] = field(default_factory=list)  # pending after a failure
    # Written on their own rows, not yet in the outbox (the sender's next round moves them).
    unqueued: int = 0


def summarise_outbox(*, show: int = 10) -> OutboxSummary:
    counts = {status.value: 0 for status in OutboxStatus}
    rows = db.session.execute(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    )
    for status, count in rows:
        counts[str(status)] = count
    oldest = db.session.scalar(
        select(func.min(OutboxMessage.created_at)).where(
            OutboxMessage.status == OutboxStatus.PENDING
        )
    )
    failed = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.FAILED)
        .order_by(OutboxMessage.id.desc())
        .limit(show)
    ).all()
    retrying = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.attempts > 0)
        .order_by(OutboxMessage.next_attempt_at)
        .limit(show)
    ).all()
    unqueued = sum(count() for count in _PENDING_COUNTS.values())
    return OutboxSummary(counts, oldest, list(failed), list(retrying), unqueued)


def retry_messages(ids: Sequence[int] | None, *, now: datetime) -> int:
    """Put failed messages (these ids, or all of them) back in the queue; returns how many."""
    stmt = (
        update(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.FAILED)
        .values(
            status=OutboxStatus.PENDING,
            attempts=0,
            next_attempt_at=now,
            lease_token=None,
            lease_expires_at=None,
        )
    )
    if ids is not None:
        stmt = stmt.where(OutboxMessage.id.in_(ids))
    result = db.session.execute(stmt.execution_options(synchronize_session=False))
    db.session.flush()
    return result.rowcount
