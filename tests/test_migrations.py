"""The migration history builds the schema from nothing and agrees with the models."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from flask_migrate import check, downgrade, upgrade
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from eventsite import create_app
from eventsite.extensions import db

PG_URL = os.environ.get("TEST_DATABASE_URL")


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
        return
    if not PG_URL:
        pytest.skip("TEST_DATABASE_URL is not set")
    name = f"eventsite_migrations_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_upgrade_on_empty_database_matches_models(empty_database_url: str) -> None:
    app = create_app({"SQLALCHEMY_DATABASE_URI": empty_database_url})
    with app.app_context():
        upgrade()
        tables = set(inspect(db.engine).get_table_names())
        assert {"events", "organisations", "topics", "users", "agenda_sessions"} <= tables
        # Raises when autogenerate would find any difference between history and models.
        check()
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        db.engine.dispose()


def test_upgrade_fills_plain_text_descriptions_of_existing_events(
    empty_database_url: str,
) -> None:
    app = create_app({"SQLALCHEMY_DATABASE_URI": empty_database_url})
    with app.app_context():
        upgrade(revision="0002")
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO organisations (id, name, slug, description, created_at) "
                    "VALUES (1, 'Org', 'org', '', '2026-01-01 00:00:00')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO events (id, slug, title, kind, summary, description, starts_at,"
                    " ends_at, timezone, is_all_day, venue_name, venue_address, city, format,"
                    " status, cancellation_reason, has_waiting_list, requires_approval,"
                    " organisation_id, search_text, revision, created_at, updated_at) VALUES"
                    " (1, 'e', 'E', 'forum', '', 'Some **bold** words', '2027-01-01 09:00:00',"
                    " '2027-01-01 17:00:00', 'UTC', false, '', '', '', 'online', 'published',"
                    " '', false, false, 1, '', 0, '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
                )
            )
        upgrade()
        with db.engine.connect() as conn:
            plain = conn.execute(text("SELECT description_text FROM events")).scalar_one()
        assert plain == "Some bold words"
        db.engine.dispose()


def test_upgrade_bounds_the_capacity_of_existing_and_future_events(
    empty_database_url: str,
) -> None:
    from sqlalchemy.exc import IntegrityError

    app = create_app({"SQLALCHEMY_DATABASE_URI": empty_database_url})
    with app.app_context():
        upgrade(revision="0006")
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO organisations (id, name, slug, description, created_at) "
                    "VALUES (1, 'Org', 'org', '', '2026-01-01 00:00:00')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO events (id, slug, title, kind, summary, description,"
                    " description_text, starts_at, ends_at, timezone, is_all_day, venue_name,"
                    " venue_address, city, format, status, cancellation_reason, capacity,"
                    " has_waiting_list, requires_approval, organisation_id, search_text,"
                    " revision, created_at, updated_at) VALUES (1, 'e', 'E', 'forum', '', '',"
                    " '', '2027-01-01 09:00:00', '2027-01-01 17:00:00', 'UTC', false, '', '',"
                    " '', 'online', 'published', '', 2000000000, false, false, 1, '', 0,"
                    " '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
                )
            )
        upgrade()
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT capacity FROM events")).scalar_one() == 1_000_000
        for statement in (
            "UPDATE events SET capacity = 1000001",
            "UPDATE events SET capacity = -1",
        ):
            with pytest.raises(IntegrityError), db.engine.begin() as conn:
                conn.execute(text(statement))
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE events SET capacity = 1000000"))
            conn.execute(text("UPDATE events SET capacity = NULL"))
        downgrade(revision="0006")
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE events SET capacity = 1000001"))
        db.engine.dispose()
