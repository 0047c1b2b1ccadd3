"""The application factory, configuration and health check."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from werkzeug.routing import IntegerConverter

from eventsite import create_app
from eventsite.config import ConfigError
from eventsite.extensions import db


def test_healthz_answers_when_the_database_does(client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["database"] == "up"


def test_healthz_answers_503_when_the_database_does_not(tmp_path) -> None:
    missing = tmp_path / "no-such-dir" / "db.sqlite3"
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{missing}"})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503


@pytest.fixture
def production(monkeypatch, tmp_path) -> None:
    """The environment of a production start that passes every check; tests take one away."""
    monkeypatch.setenv("EVENTSITE_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", secrets.token_hex(32))
    monkeypatch.delenv("EVENTSITE_SECRET_KEY", raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'p.sqlite3'}")
    monkeypatch.setenv("EVENTSITE_TRUSTED_HOSTS", '["events.example.org"]')
    monkeypatch.delenv("EVENTSITE_SERVER_NAME", raising=False)


def test_production_refuses_to_start_without_secret_key(production, monkeypatch) -> None:
    monkeypatch.delenv("SECRET_KEY")
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app()


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("0000000000000000", "SECRET_KEY has 16 characters; it needs at least 32"),
        ("a-short-but-odd-key-7", "SECRET_KEY has 21 characters"),
        ("0" * 64, "repeats too few different characters"),
        ("ab" * 32, "repeats too few different characters"),
        ("change-me-to-something-long-and-random", "SECRET_KEY is still a placeholder"),
    ],
)
def test_production_refuses_a_weak_secret_key_and_says_how_to_make_one(
    production, monkeypatch, key, reason
) -> None:
    monkeypatch.setenv("SECRET_KEY", key)
    with pytest.raises(ConfigError) as refused:
        create_app()
    message = str(refused.value)
    assert reason in message
    assert 'python -c "import secrets; print(secrets.token_hex(32))"' in message
    assert key not in message  # a refused key is not written to the logs either


@pytest.mark.parametrize(
    "make_key", [secrets.token_hex, lambda: secrets.token_hex(16), secrets.token_urlsafe]
)
def test_production_accepts_generated_secret_keys(production, monkeypatch, make_key) -> None:
    for _ in range(5):
        monkeypatch.setenv("EVENTSITE_SECRET_KEY", make_key())
        create_app()


def test_production_refuses_to_start_without_trusted_hosts(production, monkeypatch) -> None:
    monkeypatch.delenv("EVENTSITE_TRUSTED_HOSTS")
    with pytest.raises(ConfigError, match="EVENTSITE_TRUSTED_HOSTS"):
        create_app()


def test_production_answers_its_trusted_hosts_only(production) -> None:
    app = create_app()
    with app.app_context():
        db.create_all()
    client = app.test_client()
    assert client.get("/events/", headers={"Host": "events.example.org"}).status_code == 200
    # Another Host header would end up in the links the pages carry: refused.
    assert client.get("/events/", headers={"Host": "evil.example"}).status_code == 400


@pytest.mark.parametrize(
    ("settings", "hosts"),
    [
        ({"EVENTSITE_TRUSTED_HOSTS": "events.example.org, www.example.org"},
         ["events.example.org", "www.example.org"]),
        ({"EVENTSITE_SERVER_NAME": "events.example.org:8443"}, ["events.example.org"]),
    ],
)  # fmt: skip
def test_trusted_hosts_from_a_list_of_names_or_the_server_name(
    production, monkeypatch, settings, hosts
) -> None:
    monkeypatch.delenv("EVENTSITE_TRUSTED_HOSTS")
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    assert create_app().config["TRUSTED_HOSTS"] == hosts


def test_production_uses_secure_cookies(production) -> None:
    app = create_app()
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["REMEMBER_COOKIE_SECURE"] is True


def test_prefixed_environment_overrides_settings(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("EVENTSITE_ENV", raising=False)
    monkeypatch.setenv("EVENTSITE_SITE_NAME", "World Science Forum")
    monkeypatch.setenv("EVENTSITE_RATELIMIT_ENABLED", "false")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'e.sqlite3'}")
    app = create_app()
    assert app.config["SITE_NAME"] == "World Science Forum"
    assert app.config["RATELIMIT_ENABLED"] is False


def test_postgres_urls_use_psycopg(monkeypatch) -> None:
    from eventsite.config import normalise_database_url

    assert normalise_database_url("postgres://u:p@h/db") == "postgresql+psycopg://u:p@h/db"
    assert normalise_database_url("sqlite:///x") == "sqlite:///x"


def test_trusted_proxies_give_the_real_client_address(app_config) -> None:
    from flask import request

    app = create_app({**app_config, "TRUSTED_PROXIES": 1})
    app.add_url_rule("/whoami", "whoami", lambda: request.remote_addr or "")
    response = app.test_client().get(
        "/whoami",
        headers={"X-Forwarded-For": "203.0.113.7"},
        environ_base={"REMOTE_ADDR": "10.0.0.2"},
    )
    assert response.get_data(as_text=True) == "203.0.113.7"

    direct = create_app(app_config)
    direct.add_url_rule("/whoami", "whoami", lambda: request.remote_addr or "")
    response = direct.test_client().get(
        "/whoami",
        headers={"X-Forwarded-For": "203.0.113.7"},
        environ_base={"REMOTE_ADDR": "10.0.0.2"},
    )
    assert response.get_data(as_text=True) == "10.0.0.2"


def _addresses_with_numbers(app, number: int) -> list[str]:
    """Every GET route with an `<int:...>` part, built with `number` there (other parts get
    a plain word)."""
    addresses = []
    for rule in app.url_map.iter_rules():
        converters = rule._converters.values()
        if "GET" not in (rule.methods or ()) or not any(
            isinstance(c, IntegerConverter) for c in converters
        ):
            continue
        path = rule.rule
        for name in rule.arguments:
            path = path.replace(f"<int:{name}>", str(number)).replace(f"<{name}>", "word")
        addresses.append(path)
    return addresses


def test_numbers_too_big_for_the_database_are_not_found(client, make_user, login) -> None:
    login(make_user(is_admin=True))  # past every login check, onto the database lookups
    for number in (2**31, 2**70):
        huge = _addresses_with_numbers(client.application, number)
        assert len(huge) > 10 and any(a.startswith("/manage/") for a in huge)
        for address in huge:
            assert client.get(address).status_code == 404, address
    # The largest id a column holds reaches the database, which finds nothing.
    for address in _addresses_with_numbers(client.application, 2**31 - 1):
        assert client.get(address).status_code in (302, 401, 403, 404), address  # 401: the API


def test_the_wsgi_entry_point_hides_what_starting_took_from_the_collector(tmp_path) -> None:
    """gunicorn's `wsgi:app` freezes the objects the app was built with (gc.freeze), so
    that a worker's full collections do not walk them all again."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'wsgi.sqlite3'}"}
    env.pop("EVENTSITE_ENV", None)
    answer = subprocess.run(
        [sys.executable, "-c", "import gc, wsgi; print(gc.get_freeze_count())"],
        cwd=Path(__file__).resolve().parents[1],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert int(answer.stdout.strip()) > 100_000
