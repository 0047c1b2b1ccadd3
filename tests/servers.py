"""The site under gunicorn for the tests that need real processes (concurrency, rate limits
across workers, request limits), and plain HTTP to reach it, one request or many at once;
`flask outbox work` beside it, for the production topology (test_several_servers.py).

The `gunicorn` fixture in conftest.py starts servers with `start_gunicorn` and stops them
with `stop_gunicorn` when the test ends."""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
# Worker pid, method, path, status: which process answered what.
ACCESS_LOG_FORMAT = "%(p)s %(m)s %(U)s %(s)s"

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@dataclass
class Answer:
    status: int
    body: str
    headers: dict[str, str]
    seconds: float

    @property
    def location(self) -> str:
        return self.headers.get("Location", "")


def request(
    base_url: str,
    method: str,
    path: str,
    form: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 60,
) -> Answer:
    """One request on a fresh connection; `form` is an urlencoded body."""
    address = urlsplit(base_url)
    sent = {"Connection": "close", **(headers or {})}
    if form is not None:
        sent["Content-Type"] = "application/x-www-form-urlencoded"
    started = time.perf_counter()
    conn = http.client.HTTPConnection(address.hostname, address.port, timeout=timeout)
    try:
        conn.request(method, path, body=form, headers=sent)
        response = conn.getresponse()
        body = response.read().decode("utf-8", "replace")
        return Answer(
            response.status, body, dict(response.getheaders()), time.perf_counter() - started
        )
    finally:
        conn.close()


def at_once(jobs: list[Callable[[], T]], timeout: float = 300) -> list[T | Exception]:
    """Run the callables from one thread each, released together; results in order (an
    exception in place of the result of a job that raised: a lost request shows up)."""
    barrier = threading.Barrier(len(jobs))
    results: list[Any] = [None] * len(jobs)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = jobs[i]()
        except Exception as err:
            results[i] = err

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    return results


@dataclass
class Gunicorn:
    port: int
    process: subprocess.Popen[bytes]
    log: Path
    access_log: Path

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def request(self, method: str, path: str, form: bytes | None = None, **kw: Any) -> Answer:
        return request(self.url, method, path, form, **kw)

    def log_text(self) -> str:
        return self.log.read_text()

    def workers_that_answered(self, method: str, path: str) -> set[str]:
        lines = (line.split() for line in self.access_log.read_text().splitlines())
        return {pid for pid, m, p, _status in lines if (m, p) == (method, path)}


def site_environment(
    database_url: str, secret_key: str, settings: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment of a process of the site (an app server, a worker), set up like the
    tests' own app (no CSRF, rate limits, page cache or sending mail after the request);
    `settings` are EVENTSITE_<name> overrides, for turning on what a test is about."""
    return {
        **os.environ,
        "EVENTSITE_ENV": "development",
        "DATABASE_URL": database_url,
        "SECRET_KEY": secret_key,
        "EVENTSITE_WTF_CSRF_ENABLED": "false",
        "EVENTSITE_RATELIMIT_ENABLED": "false",
        "EVENTSITE_PAGE_CACHE_ENABLED": "false",
        "EVENTSITE_MAIL_DELIVER_AFTER_REQUEST": "false",
        **{f"EVENTSITE_{name}": value for name, value in (settings or {}).items()},
    }


def start_gunicorn(
    database_url: str,
    secret_key: str,
    log_dir: Path,
    *,
    workers: int = 2,
    threads: int = 1,
    settings: Mapping[str, str] | None = None,
) -> Gunicorn:
    """`wsgi:app` under gunicorn on a free port, returned once /healthz answers and every
    worker has had time to boot, in `site_environment` (its BASE_URL: that port)."""
    port = free_port()
    env = site_environment(
        database_url, secret_key, {"BASE_URL": f"http://{HOST}:{port}", **(settings or {})}
    )
    name = f"gunicorn-{port}"
    log, access_log = log_dir / f"{name}.log", log_dir / f"{name}-access.log"
    command = [
        sys.executable, "-m", "gunicorn", "-w", str(workers), "--threads", str(threads),
        "-b", f"{HOST}:{port}", "--timeout", "120", "--access-logfile", str(access_log),
        "--access-logformat", ACCESS_LOG_FORMAT, "wsgi:app",
    ]  # fmt: skip
    with log.open("wb") as out:
        # Its own process group: a worker stuck in a request is killed with the master
        # (stop_gunicorn), not left behind.
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Gunicorn(port, process, log, access_log)
    try:
        _wait_until_healthy(server)
    except BaseException:
        stop_gunicorn(server)
        raise
    time.sleep(1.0)  # the other workers booted too
    return server


def _wait_until_healthy(server: Gunicorn) -> None:
    deadline = time.monotonic() + 60
    while True:
        if server.process.poll() is not None:
            pytest.fail(f"gunicorn exited:\n{server.log_text()}")
        with contextlib.suppress(OSError):
            if server.request("GET", "/healthz", timeout=2).status == 200:
                return
        if time.monotonic() > deadline:
            pytest.fail(f"gunicorn did not start:\n{server.log_text()}")
        time.sleep(0.2)


def stop_gunicorn(server: Gunicorn) -> None:
    """A quick shutdown (the test is over), then the whole process group, and reap."""
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.process.wait(timeout=20)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.process.pid, signal.SIGKILL)  # master and workers
    server.process.wait()


@dataclass
class OutboxWorker:
    process: subprocess.Popen[bytes]
    log: Path

    def log_text(self) -> str:
        return self.log.read_text()

    def sent(self) -> int:
        """The messages this worker reports having sent ("Outbox: sent 3, ...")."""
        return sum(int(n) for n in re.findall(r"^Outbox: sent (\d+)", self.log_text(), re.M))


def start_outbox_worker(
    database_url: str,
    secret_key: str,
    log_dir: Path,
    *,
    interval: float = 0.1,
    settings: Mapping[str, str] | None = None,
) -> OutboxWorker:
    """`flask outbox work` as production runs it beside the app servers, in
    `site_environment`; it starts delivering as soon as it has booted."""
    log = log_dir / f"outbox-worker-{len(list(log_dir.glob('outbox-worker-*.log')))}.log"
    command = [
        sys.executable, "-m", "flask", "--app", "wsgi", "outbox", "work",
        "--interval", str(interval),
    ]  # fmt: skip
    env = {**site_environment(database_url, secret_key, settings), "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    return OutboxWorker(process, log)


def stop_outbox_worker(worker: OutboxWorker) -> None:
    """SIGTERM, as a service manager stops it (the message being sent is finished first),
    then the whole process group if it has not stopped within 20 s."""
    if worker.process.poll() is None:
        worker.process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            worker.process.wait(timeout=20)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(worker.process.pid, signal.SIGKILL)
    worker.process.wait()
