"""`make run` as the README describes it: the port it serves on is the one emails link to."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_run_links_emails_to_its_own_port() -> None:
    commands = subprocess.run(
        ["make", "--dry-run", "--always-make", "run", "PORT=8123"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "--port 8123" in commands
    assert 'EVENTSITE_BASE_URL="${EVENTSITE_BASE_URL:-http://127.0.0.1:8123}"' in commands
