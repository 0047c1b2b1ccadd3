"""An outbox row as its recipient will read it: rows queued as facts are written the way
the sender writes them (`mail.services.render_row`), without sending or storing anything."""

from __future__ import annotations

from eventsite.mail import services as mail
from eventsite.mail.models import OutboxMessage


def written(row: OutboxMessage) -> mail.RenderedEmail:
    if row.renderer is None:
        return mail.RenderedEmail(row.subject, row.body_text, row.body_html or "", row.from_name)
    return mail.render_row(row).email
