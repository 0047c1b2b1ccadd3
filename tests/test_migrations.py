"""The migration history builds the schema from nothing and agrees with the models."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from flask_migrate import check, downgrade, upgrade
from sqlalchemy import create_engine, inspect, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine, make_url

from eventsite import create_app
from eventsite.extensions import db

PG_URL = os.environ.get("TEST_DATABASE_URL")
DROP_ATTEMPTS = 50


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
        _drop_database(admin, name)
        admin.dispose()


def _drop_database(admin: Engine, name: str) -> None:
    """FORCE ends our own connections to it; an autovacuum worker that has just started in
    the new database is the server's, which our role may not end ("must be a member of the
    role whose process is being terminated"): it finishes within moments, so try again."""
    for attempt in range(DROP_ATTEMPTS):
        try:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            return
        except sa_exc.DBAPIError:
            if attempt == DROP_ATTEMPTS - 1:
                raise
            time.sleep(0.2)


# An event's row as the migrations from 0006 on know it, by column (SQL literals).
EVENT_ROW = {
    "id": "1",
    "slug": "'e'",
    "title": "'E'",
    "kind": "'forum'",
    "summary": "''",
    "description": "''",
    "description_text": "''",
    "starts_at": "'2027-01-01 09:00:00'",
    "ends_at": "'2027-01-01 17:00:00'",
    "timezone": "'UTC'",
    "is_all_day": "false",
    "venue_name": "''",
    "venue_address": "''",
    "city": "''",
    "format": "'online'",
    "status": "'published'",
    "cancellation_reason": "''",
    "capacity": "NULL",
    "has_waiting_list": "false",
    "requires_approval": "false",
    "organisation_id": "1",
    "search_text": "''",
    "revision": "0",
    "created_at": "'2026-01-01 00:00:00'",
    "updated_at": "'2026-01-01 00:00:00'",
}


def _insert_organisation_and_event(conn: Any, **columns: str) -> None:
    """Organisation 1 and its event 1 (`columns`: SQL literals over EVENT_ROW's)."""
    conn.execute(
        text(
            "INSERT INTO organisations (id, name, slug, description, created_at) "
            "VALUES (1, 'Org', 'org', '', '2026-01-01 00:00:00')"
        )
    )
    row = {**EVENT_ROW, **columns}
    conn.execute(text(f"INSERT INTO events ({', '.join(row)}) VALUES ({', '.join(row.values())})"))


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


def _rows_at_0006(conn) -> None:
    """An organisation, three people (one a member, two registered) and an event; ids 1, 2…
    from the database (PostgreSQL's sequences do not see ids given explicitly)."""
    stamp = "'2026-01-01 00:00:00'"
    conn.execute(
        text(
            "INSERT INTO organisations (name, slug, description, created_at) "
            f"VALUES ('Org', 'org', '', {stamp})"
        )
    )
    for n in (1, 2, 3):
        conn.execute(
            text(
                "INSERT INTO users (email, name, password_hash, affiliation, is_admin,"
                " session_token, calendar_token, created_at, failed_login_count) VALUES"
                f" ('p{n}@example.org', 'P{n}', 'x', '', false, 's{n}', 'c{n}', {stamp}, 0)"
            )
        )
    conn.execute(
        text(
            f"INSERT INTO memberships (user_id, organisation_id, created_at) VALUES (1, 1, {stamp})"
        )
    )
    conn.execute(
        text(
            "INSERT INTO events (slug, title, kind, summary, description, description_text,"
            " starts_at, ends_at, timezone, is_all_day, venue_name, venue_address, city, format,"
            " status, cancellation_reason, has_waiting_list, requires_approval,"
            " organisation_id, search_text, revision, created_at, updated_at) VALUES"
            " ('e', 'Findable forum', 'forum', '', '', '', '2027-01-01 09:00:00',"
            " '2027-01-01 17:00:00', 'UTC', false, '', '', '', 'online', 'published', '',"
            " false, false, 1,"
            f" 'findable forum', 0, {stamp}, {stamp})"
        )
    )
    for user_id in (3, 2):
        conn.execute(
            text(
                "INSERT INTO registrations (event_id, user_id, status, answers, created_at,"
                f" updated_at) VALUES (1, {user_id}, 'confirmed', '{{}}', {stamp}, {stamp})"
            )
        )


def _new_user_id(conn) -> int:
    return conn.execute(
        text(
            "INSERT INTO users (email, name, password_hash, affiliation, is_admin,"
            " session_token, calendar_token_hash, created_at) VALUES"
            " ('new@example.org', 'New', 'x', '', false, 'sn', 'cn', '2026-02-01 00:00:00')"
            " RETURNING id"
        )
    ).scalar_one()


def test_after_upgrade_the_id_of_a_deleted_row_is_never_given_again(
    empty_database_url: str,
) -> None:
    """Existing registrations get their public id. SQLite: the tables are rebuilt with
    AUTOINCREMENT, keeping every row (no cascade fires while `users` is copied), every
    constraint and the search index's triggers. PostgreSQL: the ids already come from
    sequences (SERIAL), which never reuse one."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": empty_database_url})
    with app.app_context():
        upgrade(revision="0006")
        with db.engine.begin() as conn:
            _rows_at_0006(conn)
        upgrade()
        with db.engine.begin() as conn:
            assert conn.execute(text("SELECT count(*) FROM memberships")).scalar_one() == 1
            public_ids = conn.execute(text("SELECT public_id FROM registrations")).scalars().all()
            assert len(set(public_ids)) == 2 and all(len(p) == 16 for p in public_ids)
            conn.execute(text("DELETE FROM users WHERE id = 3"))
            assert conn.execute(text("SELECT count(*) FROM registrations")).scalar_one() == 1
            assert _new_user_id(conn) == 4
            if db.engine.dialect.name == "sqlite":
                found = conn.execute(
                    text("SELECT rowid FROM events_fts WHERE events_fts MATCH 'findable'")
                ).all()
                assert found == [(1,)]
                conn.execute(text("UPDATE events SET search_text = 'renamed' WHERE id = 1"))
                assert conn.execute(
                    text("SELECT rowid FROM events_fts WHERE events_fts MATCH 'renamed'")
                ).all() == [(1,)]
            else:
                defaults = conn.execute(
                    text(
                        "SELECT column_default FROM information_schema.columns"
                        " WHERE column_name = 'id' AND table_name IN ('users', 'registrations')"
                    )
                ).scalars()
                assert all(default.startswith("nextval(") for default in defaults)
        db.engine.dispose()


def test_the_rebuilt_sqlite_tables_keep_every_constraint(tmp_path) -> None:
    """What `check()` does not compare: CHECK constraints, the WHERE of partial unique
    indexes, AUTOINCREMENT and triggers, against the schema the models create."""

    def schema(url: str) -> dict[str, Any]:
        engine = create_engine(url)
        inspector = inspect(engine)
        with engine.connect() as conn:
            sql = dict(conn.execute(text("SELECT name, sql FROM sqlite_master")).all())
        with engine.connect() as conn:
            triggers = conn.execute(
                text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name")
            ).all()
        engine.dispose()
        return {
            "triggers": triggers,
        } | {
            table: (
                sorted((c["name"], c["sqltext"]) for c in inspector.get_check_constraints(table)),
                sorted(
                    (i["name"], str(i["dialect_options"].get("sqlite_where")))
                    for i in inspector.get_indexes(table)
                ),
                "AUTOINCREMENT" in sql[table],
            )
            for table in inspector.get_table_names()
            if table != "alembic_version" and not table.startswith("events_fts")
        }

    migrated, created = f"sqlite:///{tmp_path / 'm.sqlite3'}", f"sqlite:///{tmp_path / 'c.sqlite3'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": migrated})
    with app.app_context():
        upgrade()
        db.engine.dispose()
    app = create_app({"SQLALCHEMY_DATABASE_URI": created})
    with app.app_context():
        db.create_all()
        db.engine.dispose()
    assert schema(migrated) == schema(created)


def test_upgrade_counts_the_places_of_existing_events_and_keeps_counting(
    empty_database_url: str,
) -> None:
    """0031: events.places_* filled from the registrations already there, then kept by the
    triggers; downgrading removes them."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": empty_database_url})
    with app.app_context():
        upgrade(revision="0030")
        rows = {
            "confirmed": (None, None),
            "waitlisted": (None, None),
            "pending": (None, None),
            "cancelled": (None, None),
            "confirmed-held": ("confirmed", "2027-01-01 00:00:00"),
        }
        with db.engine.begin() as conn:
            _insert_organisation_and_event(
                conn,
                capacity="10",
                has_waiting_list="true",
                confirmation_hold_hours="48",
                reminder_hours="0",
            )
            for n, (name, (status, hold)) in enumerate(rows.items(), start=1):
                conn.execute(
                    text(
                        "INSERT INTO users (id, email, name, password_hash, affiliation,"
                        " is_admin, created_at, session_token, calendar_token_hash)"
                        " VALUES (:id, :email, 'P', '', '', false, '2026-01-01 00:00:00',"
                        " :token, :token)"
                    ),
                    {"id": n, "email": f"p{n}@example.org", "token": f"t{n}"},
                )
                conn.execute(
                    text(
                        "INSERT INTO registrations (public_id, event_id, user_id, status,"
                        " answers, created_at, updated_at, cancelled_by_organiser,"
                        " hold_expires_at, is_hold_expired, ticket_code)"
                        " VALUES (:pid, 1, :user, :status, '{}', '2026-01-01 00:00:00',"
                        " '2026-01-01 00:00:00', false, :hold, false, :pid)"
                    ),
                    {"pid": f"r{n}", "user": n, "status": status or name, "hold": hold},
                )
        upgrade(revision="0031")
        places = "SELECT places_confirmed, places_pending, places_waitlisted, places_held"
        with db.engine.begin() as conn:
            assert tuple(conn.execute(text(f"{places} FROM events")).one()) == (2, 1, 1, 1)
            conn.execute(text("UPDATE registrations SET status = 'cancelled' WHERE user_id = 1"))
            assert tuple(conn.execute(text(f"{places} FROM events")).one()) == (1, 1, 1, 1)
        downgrade(revision="0030")
        columns = {c["name"] for c in inspect(db.engine).get_columns("events")}
        assert "places_confirmed" not in columns
        with db.engine.begin() as conn:  # no trigger left to update a column that is gone
            conn.execute(text("UPDATE registrations SET status = 'confirmed' WHERE user_id = 1"))
        db.engine.dispose()


def test_pending_notices_are_added_in_place_and_never_dropped_by_a_downgrade(
    empty_database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """0032: registrations.pending_notice added without rebuilding the table (the places'
    triggers of 0031 keep counting); a downgrade is refused while a confirmation waits on
    its registration, and drops the column once none does."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": empty_database_url})
    with app.app_context():
        upgrade(revision="0032")
        with db.engine.begin() as conn:
            _insert_organisation_and_event(conn, capacity="10", confirmation_hold_hours="48")
            conn.execute(
                text(
                    "INSERT INTO users (id, email, name, password_hash, affiliation,"
                    " is_admin, created_at, session_token, calendar_token_hash)"
                    " VALUES (1, 'p@example.org', 'P', '', '', false, '2026-01-01 00:00:00',"
                    " 't', 't')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO registrations (public_id, event_id, user_id, status, answers,"
                    " created_at, updated_at, cancelled_by_organiser, is_hold_expired,"
                    " ticket_code, pending_notice) VALUES ('r', 1, 1, 'confirmed', '{}',"
                    " '2026-01-01 00:00:00', '2026-01-01 00:00:00', false, false, 'r',"
                    ' \'{"template": "registration_confirmation"}\')'
                )
            )
            places = conn.scalar(text("SELECT places_confirmed FROM events"))
            assert places == 1  # the triggers survived the new column
        with pytest.raises(SystemExit):  # Flask-Migrate logs the migration's error
            downgrade(revision="0031")
        assert "1 registration email(s) are not queued yet" in capsys.readouterr().err
        columns = {c["name"] for c in inspect(db.engine).get_columns("registrations")}
        assert "pending_notice" in columns
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE registrations SET pending_notice = NULL"))
        downgrade(revision="0031")
        columns = {c["name"] for c in inspect(db.engine).get_columns("registrations")}
        assert "pending_notice" not in columns
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE registrations SET status = 'cancelled'"))
            assert conn.scalar(text("SELECT places_confirmed FROM events")) == 0
        db.engine.dispose()


def test_upgrade_reads_how_each_member_joined_from_the_audit_log(
    empty_database_url: str,
) -> None:
    """Put in by another member without being asked: "added", the one kind that never
    chose; the command line, the organisation's creator and an accepted invitation chose."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": empty_database_url})
    with app.app_context():
        upgrade(revision="0006")
        with db.engine.begin() as conn:
            _rows_at_0006(conn)  # person 1 is a member, the log never mentions it
            stamp = "'2026-01-02 00:00:00'"
            conn.execute(
                text(
                    "INSERT INTO organisations (name, slug, description, created_at) "
                    f"VALUES ('Second', 'second', '', {stamp})"
                )
            )
            log = [  # organisation, actor, action, person
                (2, "NULL", "member_add", 1),  # flask organisations create --member
                (2, "2", "member_add", 2),  # an administrator creating it
                (2, "2", "member_add", 3),  # added by person 2, without asking
                (1, "1", "member_add", 3),  # added, then accepted an invitation later
                (1, "3", "member_join", 3),
            ]
            for organisation_id, actor, action, user_id in log:
                conn.execute(
                    text(
                        "INSERT INTO memberships (user_id, organisation_id, created_at) "
                        f"SELECT {user_id}, {organisation_id}, {stamp} WHERE NOT EXISTS"
                        f" (SELECT 1 FROM memberships WHERE user_id = {user_id}"
                        f" AND organisation_id = {organisation_id})"
                    )
                )
                conn.execute(
                    text(
                        "INSERT INTO audit_entries (organisation_id, actor_id, action, details,"
                        f" created_at) VALUES ({organisation_id}, {actor}, '{action}',"
                        f" '{{\"user_id\": {user_id}}}', {stamp})"
                    )
                )
        upgrade()
        with db.engine.connect() as conn:
            rows = conn.execute(
                text("SELECT organisation_id, user_id, joined_via FROM memberships")
            ).all()
        assert sorted(rows) == [
            (1, 1, "admin"),
            (1, 3, "invitation"),
            (2, 1, "admin"),
            (2, 2, "creation"),
            (2, 3, "added"),
        ]
        db.engine.dispose()


def test_upgrade_bounds_the_capacity_of_existing_and_future_events(
    empty_database_url: str,
) -> None:
    from sqlalchemy.exc import IntegrityError

    app = create_app({"SQLALCHEMY_DATABASE_URI": empty_database_url})
    with app.app_context():
        upgrade(revision="0006")
        with db.engine.begin() as conn:
            _insert_organisation_and_event(conn, capacity="2000000000")
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


def test_personal_feed_tokens_are_hashed_and_old_addresses_keep_working(
    empty_database_url: str,
) -> None:
    """0011 replaces each stored personal feed token by its SHA-256: the address someone
    subscribed with still finds their feed. Downgrading makes new tokens (it cannot undo
    a hash)."""
    import hashlib

    from eventsite.feeds import tokens

    app = create_app({"SQLALCHEMY_DATABASE_URI": empty_database_url})
    with app.app_context():
        upgrade(revision="0006")
        with db.engine.begin() as conn:
            _rows_at_0006(conn)
        upgrade(revision="0010")
        with db.engine.begin() as conn:
            conn.execute(text("DELETE FROM users WHERE id = 3"))
        upgrade()
        with db.engine.begin() as conn:
            stored = dict(conn.execute(text("SELECT id, calendar_token_hash FROM users")).all())
            assert stored == {n: hashlib.sha256(f"c{n}".encode()).hexdigest() for n in (1, 2)}
            assert _new_user_id(conn) == 4  # the deleted account's id is not given again
        assert tokens.user_for_calendar_token("c2").id == 2
        assert tokens.user_for_calendar_token(stored[2]) is None  # the hash is no address
        db.session.remove()
        downgrade(revision="0010")
        with db.engine.begin() as conn:
            rows = conn.execute(text("SELECT calendar_token FROM users")).scalars().all()
            assert len(set(rows)) == 3 and not {"c1", "c2"} & set(rows)
        db.engine.dispose()


def test_upgrade_rebuilds_search_text_with_place_and_organisation(
    empty_database_url: str,
) -> None:
    """0014 writes each event's organisation, venue, city and country names into its search
    text, exactly as the flush listener (events.search_text.build) does from then on, and
    the index finds the event by them."""
    from eventsite.events import listing, search_text
    from eventsite.events.models import Event

    app = create_app({"SQLALCHEMY_DATABASE_URI": empty_database_url})
    with app.app_context():
        upgrade(revision="0006")
        stamp = "'2026-01-01 00:00:00'"
        with db.engine.begin() as conn:
            _rows_at_0006(conn)
            conn.execute(
                text(
                    "UPDATE events SET venue_name = 'Lakeside Pavilion', city = 'Nairobi',"
                    " country = 'KE', status = 'published', ends_at = '2999-01-01 17:00:00'"
                )
            )
            conn.execute(text("UPDATE organisations SET name = 'Soil Alliance'"))
            conn.execute(
                text(
                    "INSERT INTO speakers (name, affiliation, honours, bio)"
                    " VALUES ('Wangari Maathai', '', '', '')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO agenda_sessions (event_id, title, starts_at, ends_at, room,"
                    " description, created_at, updated_at) VALUES (1, 'Keynote',"
                    f" '2027-01-01 09:00:00', '2027-01-01 10:00:00', '', '', {stamp}, {stamp})"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO session_speakers (session_id, speaker_id, position)"
                    " VALUES (1, 1, 0)"
                )
            )
        upgrade()
        event = db.session.get(Event, 1)
        assert event.search_text == search_text.build(event)
        assert "kenya" in event.search_text and "soil alliance" in event.search_text
        for q in ("kenya", "lakeside", "soil alliance", "maathai keynote"):
            stmt = listing.apply_listing_filters(db.select(Event.id), listing.ListingFilters(q=q))
            assert db.session.scalars(stmt).all() == [1], q
        db.session.remove()
        db.engine.dispose()


def test_upgrade_moves_stored_logos_onto_the_image_store(empty_database_url: str, tmp_path) -> None:
    """Logos kept in organisations.logo_data (0006-0018) go through the same checks and
    cleaning as an upload; one that is not a picture is dropped. Downgrading puts each
    back as its largest JPEG."""
    from .pictures import jpeg_with_gps, opened

    store = tmp_path / "images"
    app = create_app({"SQLALCHEMY_DATABASE_URI": empty_database_url, "IMAGE_STORAGE": str(store)})
    with app.app_context():
        upgrade(revision="0018")
        insert = text(
            "INSERT INTO organisations (id, name, slug, description, created_at, logo_data,"
            " logo_content_type) VALUES (:id, :name, :slug, '', '2026-01-01 00:00:00', :data,"
            " :type)"
        )
        with db.engine.begin() as conn:
            conn.execute(
                insert,
                {"id": 1, "name": "Leaf", "slug": "leaf", "data": jpeg_with_gps(900, 300),
                 "type": "image/jpeg"},
            )  # fmt: skip
            conn.execute(
                insert,
                {"id": 2, "name": "Fake", "slug": "fake", "data": b"\x89PNG\r\n\x1a\n<html>",
                 "type": "image/png"},
            )  # fmt: skip
        upgrade()
        with db.engine.connect() as conn:
            rows = conn.execute(
                text("SELECT id, logo_image_id FROM organisations ORDER BY id")
            ).all()
            assert rows[1] == (2, None)
            image = conn.execute(
                text("SELECT alt, width, height FROM images WHERE id = :id"), {"id": rows[0][1]}
            ).one()
        assert tuple(image) == ("Leaf", 900, 300)
        files = sorted(p.name for p in store.iterdir())
        assert len(files) == 6  # 400, 800 and 900 wide, in WebP and JPEG
        assert not any(opened((store / name).read_bytes()).getexif() for name in files)
        downgrade(revision="0018")
        with db.engine.connect() as conn:
            data, kind = conn.execute(
                text("SELECT logo_data, logo_content_type FROM organisations WHERE id = 1")
            ).one()
        assert kind == "image/jpeg" and opened(bytes(data)).size == (900, 300)
        db.engine.dispose()
