"""Queueing email: render both parts now, store the row; the sender delivers later."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from email.utils import make_msgid
from typing import Any

from flask import current_app, g, render_template

from eventsite.extensions import db
from eventsite.mail.models import OutboxMessage


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str  # e.g. "text/calendar; charset=utf-8; method=REQUEST"
    data: bytes

    def as_json(self) -> dict[str, str]:
        return {
            "filename": self.filename,
            "content_type": self.content_type,
            "data": base64.b64encode(self.data).decode("ascii"),
        }


def _single_line(value: str) -> str:
    """Header values never carry line breaks: a CR or LF would start a new header."""
    return " ".join(value.replace("\r", " ").replace("\n", " ").split())


def queue_email(
    to: str,
    subject: str,
    template: str,
    *,
    category: str = "",
    reply_to: str | None = None,
    attachments: list[Attachment] | None = None,
    **context: Any,
) -> OutboxMessage:
    """Write one message to the outbox in the caller's transaction (flush, no commit).

    `template` names `templates/email/<template>.txt` and `.html`; both get `context`
    plus `site_name` and `base_url`. Nothing the user typed reaches a header except
    through `_single_line`.
    """
    if any(ch in to for ch in "\r\n,;<>") or "@" not in to:
        raise ValueError(f"not a single email address: {to!r}")
    config = current_app.config
    context = {
        "site_name": config["SITE_NAME"],
        "base_url": config["BASE_URL"].rstrip("/"),
        **context,
    }
    domain = config["MAIL_DEFAULT_SENDER"].rsplit("@", 1)[-1].strip(" >") or "localhost"
    message = OutboxMessage(
        message_id=make_msgid(domain=domain),
        category=category,
        to_address=to,
        reply_to=_single_line(reply_to) if reply_to else config.get("MAIL_REPLY_TO"),
        subject=_single_line(subject)[:300],
        body_text=render_template(f"email/{template}.txt", **context),
        body_html=render_template(f"email/{template}.html", **context),
        attachments=[a.as_json() for a in attachments or []],
    )
    db.session.add(message)
    db.session.flush()
    # Development delivers right after the response; production leaves it to the worker.
    g.setdefault("queued_email_ids", []).append(message.id)
    return message
