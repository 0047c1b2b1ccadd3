"""Absolute links for emails, built from BASE_URL so they work outside a request too."""

from __future__ import annotations

from typing import Any

from flask import current_app


def external_url(endpoint: str, **values: Any) -> str:
    """`BASE_URL` + the path of `endpoint`; usable in a request, a CLI command or a worker."""
    adapter = current_app.url_map.bind("localhost")
    path = adapter.build(endpoint, values)
    return current_app.config["BASE_URL"].rstrip("/") + path
