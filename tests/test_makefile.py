"""`make run` as the README describes it: it serves on PORT, and the links in the emails it
sends point at that same port."""

from __future__ import annotations

import contextlib
import http.cookiejar
import os
import queue
import re
import shutil
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from .conftest import free_port

ROOT = Path(__file__).resolve().parents[1]


def _lines(stream, into: queue.Queue[str]) -> None:
    for line in stream:
        into.put(line)


def _wait_for(opener: urllib.request.OpenerDirector, url: str, seconds: float) -> str:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with opener.open(url, timeout=5) as response:
                return response.read().decode()
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_run_serves_on_port_and_emails_link_to_it(tmp_path: Path) -> None:
    port = free_port()
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("EVENTSITE_", "MAKE", "MFLAGS"))
        and name not in ("DATABASE_URL", "SECRET_KEY")
    }
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'run.sqlite3'}",
        SECRET_KEY="make-run-test-" + "x" * 32,
        PYTHONUNBUFFERED="1",  # the console mailer's output arrives as it is printed
    )
    # -o: the virtualenv is installed already (`make test` did it); never reinstall here.
    server = subprocess.Popen(
        ["make", "-o", ".venv/.installed", "run", f"PORT={port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    output: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_lines, args=(server.stdout, output), daemon=True).start()
    site = f"http://127.0.0.1:{port}"
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    try:
        form = _wait_for(opener, f"{site}/signup", seconds=120)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form)
        assert token, form
        data = urllib.parse.urlencode(
            {
                "csrf_token": token.group(1),
                "name": "Ada Lovelace",
                "email": "ada@example.org",
                "password": "lovelace engine 1843",
            }
        ).encode()
        opener.open(f"{site}/signup", data=data, timeout=30).close()

        # No MAIL_SERVER: the verification email is printed where `make run` runs.
        deadline = time.monotonic() + 30
        printed = ""
        while "/account/verify/" not in printed and time.monotonic() < deadline:
            with contextlib.suppress(queue.Empty):
                printed += output.get(timeout=1)
        links = re.findall(r"https?://[^\s/]+/account/verify/", printed)
        assert links, printed
        assert set(links) == {f"{site}/account/verify/"}
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_make_test_saves_screenshots_where_git_ignores_them(monkeypatch) -> None:
    """The browser tests take screenshots; `make test` must not leave tracked files changed
    (`make screenshots` refreshes docs/screenshots/ on purpose)."""
    from .e2e.conftest import screenshot_dir

    monkeypatch.delenv("EVENTSITE_SCREENSHOTS_DIR", raising=False)
    picture = screenshot_dir() / "listing.png"
    ignored = subprocess.run(["git", "check-ignore", "--quiet", str(picture)], cwd=ROOT)
    if ignored.returncode == 128:
        pytest.skip("not a git checkout")
    assert ignored.returncode == 0, f"{picture} is not ignored by git"
    monkeypatch.setenv("EVENTSITE_SCREENSHOTS_DIR", "docs/screenshots")
    assert screenshot_dir() == ROOT / "docs" / "screenshots"
