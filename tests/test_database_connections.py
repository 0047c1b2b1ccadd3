"""Pooled PostgreSQL connections: pinged only after sitting idle
(DATABASE_PING_AFTER_IDLE_SECONDS), not on every request; one the server closed meanwhile
is replaced before a request uses it, and the visitor sees no error."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine, text

from eventsite.extensions import db


@pytest.fixture
def postgresql(backend: str) -> None:
    if backend != "postgresql":
        pytest.skip("SQLite opens a local file: nothing to ping")


@pytest.fixture
def pings(app: Flask, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The pings the driver sends from now on (the dialect's own ping, counted)."""
    seen: list[int] = []
    dialect = db.engine.dialect
    real: Callable[[Any], bool] = dialect.do_ping

    def counting(dbapi_connection: Any) -> bool:
        seen.append(1)
        return real(dbapi_connection)

    monkeypatch.setattr(dialect, "do_ping", counting)
    return seen


@pytest.fixture
def ping_at_once(app_config: dict[str, Any]) -> None:
    """Every connection counts as idle for long: each one a request takes is pinged."""
    app_config["DATABASE_PING_AFTER_IDLE_SECONDS"] = 0


def _pooled_backend() -> int:
    """The server process of the connection the next request gets: the pool's only one."""
    pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar_one()
    db.session.remove()  # back to the pool
    return pid


def _terminate(app: Flask, pid: int) -> None:
    admin = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    try:
        with admin.begin() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
        for _ in range(100):  # the server ends the process a moment later
            with admin.begin() as conn:
                query = "SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"
                if not conn.execute(text(query), {"pid": pid}).scalar():
                    return
            time.sleep(0.02)
        raise AssertionError(f"backend {pid} is still there")
    finally:
        admin.dispose()


def test_a_connection_used_moments_ago_is_not_pinged(postgresql, app, client, pings):
    for _ in range(3):
        response = client.get("/healthz")
        assert response.status_code == 200
        db.session.remove()  # back to the pool, as at the end of a request outside tests
    assert pings == []


def test_a_connection_idle_for_longer_is_pinged(postgresql, ping_at_once, app, client, pings):
    for _ in range(3):
        assert client.get("/healthz").status_code == 200
        db.session.remove()
    assert len(pings) == 3


def test_a_ping_that_fails_replaces_the_connection(postgresql, ping_at_once, app, client, pings):
    pid = _pooled_backend()
    _terminate(app, pid)
    pings.clear()
    response = client.get("/healthz")
    assert response.get_json() == {"status": "ok", "database": "up"}
    assert _pooled_backend() != pid
    assert pings  # the failed ping said so


def test_a_connection_the_server_closed_while_idle_is_replaced(postgresql, app, client, pings):
    pid = _pooled_backend()
    _terminate(app, pid)
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "up"}
    assert _pooled_backend() != pid
    assert pings == []  # told by the socket, not by a round trip
