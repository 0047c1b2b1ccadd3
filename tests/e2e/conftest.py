"""Browser tests run on SQLite only (the pages are the same on PostgreSQL; the browser is
the slow part), with the demonstration data at hand and a place for screenshots."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page

from eventsite.demo import load
from eventsite.extensions import db
from eventsite.timeutil import utcnow

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _sqlite_only(backend: str) -> None:
    if backend == "postgresql":
        pytest.skip("browser tests run on SQLite only")


@pytest.fixture
def demo_data(app: Flask) -> load.DemoSummary:
    """The demonstration programme (no registrations), dated relative to now, committed."""
    summary = load.load_programme(utcnow())
    db.session.commit()
    return summary


def screenshot_dir() -> Path:
    """build/screenshots/ (git-ignored), or EVENTSITE_SCREENSHOTS_DIR (relative to the
    repository), e.g. docs/screenshots to refresh the README's pictures (`make screenshots`)."""
    return ROOT / (os.environ.get("EVENTSITE_SCREENSHOTS_DIR") or "build/screenshots")


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """Where the browser tests save screenshots (see `screenshot_dir`)."""
    path = screenshot_dir()
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def page(page: Page) -> Iterator[Page]:
    """Playwright's page, failing the test if the browser refused anything the site sent
    under its Content-Security-Policy (an inline style or script, a foreign resource)."""
    refused: list[str] = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    yield page
    assert refused == [], refused
