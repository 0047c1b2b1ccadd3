"""Absolute links built from BASE_URL: the same in a request, a CLI command or a worker,
whatever host the request came in on (emails, calendar files, feed addresses)."""

from __future__ import annotations

from typing import Any

from flask import current_app


def path_for(endpoint: str, **values: Any) -> str:
    """The path of `endpoint` on this site, built without a request."""
    return current_app.url_map.bind("localhost").build(endpoint, values)


def external_url(endpoint: str, **values: Any) -> str:
    """`BASE_URL` + the path of `endpoint`."""
    return absolute(path_for(endpoint, **values))


def absolute(path_or_url: str) -> str:
    """A path (e.g. from url_for) made absolute with `BASE_URL`; full URLs pass through."""
    if path_or_url.startswith(("http://", "https://")):
        return path_or_url
    return current_app.config["BASE_URL"].rstrip("/") + path_or_url
