"""What the log-in and sign-up pages say about the page the person is on their way to
(`next`): the packages that own those pages name them, through a signal."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from flask import current_app, request
from werkzeug.exceptions import HTTPException

from eventsite import signals


@dataclass(frozen=True)
class Destination:
    """Headings of the log-in and sign-up pages on the way to one page (plain text: the
    templates escape them)."""

    login_heading: str
    signup_heading: str


def describe(next_path: str | None) -> Destination | None:
    """The destination of `next_path` (a path on this site, already checked by
    `safe_next_path`), when the package that owns its page names it."""
    if not next_path:
        return None
    adapter = current_app.create_url_adapter(request)
    if adapter is None:
        return None
    try:
        endpoint, view_args = adapter.match(unquote(urlsplit(next_path).path), method="GET")
    except HTTPException:  # no such page, or one that redirects (a missing slash)
        return None
    for _receiver, destination in signals.login_destination.send(endpoint, view_args=view_args):
        if isinstance(destination, Destination):
            return destination
    return None
