"""events.places_*: the active registrations per status (and the holds among them), kept by
triggers on registrations, so that a registration reads the places taken from the event's
row it locks instead of counting under the lock

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-06 04:00:00

A later migration that rebuilds the registrations table on SQLite (batch mode with a
table copy) drops these triggers: it must create them again.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None

COLUMNS = ("places_confirmed", "places_pending", "places_waitlisted", "places_held")

# Written out here rather than imported from the models, so this history never changes.
# Keep in step with PLACES_DDL in eventsite/registration/models.py.
SQLITE_UPGRADE = (
    (
        "CREATE TRIGGER registrations_places_after_insert AFTER INSERT ON registrations "
        "WHEN NEW.status IN ('confirmed', 'waitlisted', 'pending') BEGIN UPDATE events "
        "SET places_confirmed = places_confirmed + CAST((NEW.status = 'confirmed') AS "
        "INTEGER), places_pending = places_pending + CAST((NEW.status = 'pending') AS "
        "INTEGER), places_waitlisted = places_waitlisted + CAST((NEW.status = "
        "'waitlisted') AS INTEGER), places_held = places_held + CAST((NEW.status IN "
        "('confirmed', 'waitlisted', 'pending') AND NEW.hold_expires_at IS NOT NULL) AS "
        "INTEGER) WHERE id = NEW.event_id; END"
    ),
    (
        "CREATE TRIGGER registrations_places_after_delete AFTER DELETE ON registrations "
        "WHEN OLD.status IN ('confirmed', 'waitlisted', 'pending') BEGIN UPDATE events "
        "SET places_confirmed = places_confirmed - CAST((OLD.status = 'confirmed') AS "
        "INTEGER), places_pending = places_pending - CAST((OLD.status = 'pending') AS "
        "INTEGER), places_waitlisted = places_waitlisted - CAST((OLD.status = "
        "'waitlisted') AS INTEGER), places_held = places_held - CAST((OLD.status IN "
        "('confirmed', 'waitlisted', 'pending') AND OLD.hold_expires_at IS NOT NULL) AS "
        "INTEGER) WHERE id = OLD.event_id; END"
    ),
    (
        "CREATE TRIGGER registrations_places_after_update AFTER UPDATE OF status, "
        "event_id, hold_expires_at ON registrations WHEN (OLD.status <> NEW.status OR "
        "OLD.event_id <> NEW.event_id OR (OLD.hold_expires_at IS NULL) <> "
        "(NEW.hold_expires_at IS NULL)) AND (OLD.status IN ('confirmed', 'waitlisted', "
        "'pending') OR NEW.status IN ('confirmed', 'waitlisted', 'pending')) BEGIN "
        "UPDATE events SET places_confirmed = places_confirmed - CAST((OLD.status = "
        "'confirmed') AS INTEGER), places_pending = places_pending - CAST((OLD.status = "
        "'pending') AS INTEGER), places_waitlisted = places_waitlisted - "
        "CAST((OLD.status = 'waitlisted') AS INTEGER), places_held = places_held - "
        "CAST((OLD.status IN ('confirmed', 'waitlisted', 'pending') AND "
        "OLD.hold_expires_at IS NOT NULL) AS INTEGER) WHERE id = OLD.event_id; UPDATE "
        "events SET places_confirmed = places_confirmed + CAST((NEW.status = "
        "'confirmed') AS INTEGER), places_pending = places_pending + CAST((NEW.status = "
        "'pending') AS INTEGER), places_waitlisted = places_waitlisted + "
        "CAST((NEW.status = 'waitlisted') AS INTEGER), places_held = places_held + "
        "CAST((NEW.status IN ('confirmed', 'waitlisted', 'pending') AND "
        "NEW.hold_expires_at IS NOT NULL) AS INTEGER) WHERE id = NEW.event_id; END"
    ),
)
POSTGRESQL_UPGRADE = (
    (
        "CREATE OR REPLACE FUNCTION registrations_count_places() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN IF TG_OP <> 'INSERT' THEN UPDATE events SET "
        "places_confirmed = places_confirmed - CAST((OLD.status = 'confirmed') AS "
        "INTEGER), places_pending = places_pending - CAST((OLD.status = 'pending') AS "
        "INTEGER), places_waitlisted = places_waitlisted - CAST((OLD.status = "
        "'waitlisted') AS INTEGER), places_held = places_held - CAST((OLD.status IN "
        "('confirmed', 'waitlisted', 'pending') AND OLD.hold_expires_at IS NOT NULL) AS "
        "INTEGER) WHERE id = OLD.event_id; END IF; IF TG_OP <> 'DELETE' THEN UPDATE "
        "events SET places_confirmed = places_confirmed + CAST((NEW.status = "
        "'confirmed') AS INTEGER), places_pending = places_pending + CAST((NEW.status = "
        "'pending') AS INTEGER), places_waitlisted = places_waitlisted + "
        "CAST((NEW.status = 'waitlisted') AS INTEGER), places_held = places_held + "
        "CAST((NEW.status IN ('confirmed', 'waitlisted', 'pending') AND "
        "NEW.hold_expires_at IS NOT NULL) AS INTEGER) WHERE id = NEW.event_id; END IF; "
        "RETURN NULL; END $$"
    ),
    (
        "CREATE TRIGGER registrations_places_after_insert AFTER INSERT ON registrations "
        "FOR EACH ROW WHEN (NEW.status IN ('confirmed', 'waitlisted', 'pending')) "
        "EXECUTE FUNCTION registrations_count_places()"
    ),
    (
        "CREATE TRIGGER registrations_places_after_delete AFTER DELETE ON registrations "
        "FOR EACH ROW WHEN (OLD.status IN ('confirmed', 'waitlisted', 'pending')) "
        "EXECUTE FUNCTION registrations_count_places()"
    ),
    (
        "CREATE TRIGGER registrations_places_after_update AFTER UPDATE OF status, "
        "event_id, hold_expires_at ON registrations FOR EACH ROW WHEN ((OLD.status <> "
        "NEW.status OR OLD.event_id <> NEW.event_id OR (OLD.hold_expires_at IS NULL) <> "
        "(NEW.hold_expires_at IS NULL)) AND (OLD.status IN ('confirmed', 'waitlisted', "
        "'pending') OR NEW.status IN ('confirmed', 'waitlisted', 'pending'))) EXECUTE "
        "FUNCTION registrations_count_places()"
    ),
)
# What the events already have.
BACKFILL = (
    "UPDATE events SET places_confirmed = (SELECT count(*) FROM registrations WHERE "
    "registrations.event_id = events.id AND status = 'confirmed'), places_pending = "
    "(SELECT count(*) FROM registrations WHERE registrations.event_id = events.id "
    "AND status = 'pending'), places_waitlisted = (SELECT count(*) FROM "
    "registrations WHERE registrations.event_id = events.id AND status = "
    "'waitlisted'), places_held = (SELECT count(*) FROM registrations WHERE "
    "registrations.event_id = events.id AND status IN ('confirmed', 'waitlisted', "
    "'pending') AND hold_expires_at IS NOT NULL)"
)
TRIGGERS = (
    "registrations_places_after_insert",
    "registrations_places_after_delete",
    "registrations_places_after_update",
)


def upgrade():
    for column in COLUMNS:
        # Not batch mode: on SQLite that would copy the events table, and lose its triggers.
        op.add_column("events", sa.Column(column, sa.Integer(), server_default="0", nullable=False))
    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": SQLITE_UPGRADE, "postgresql": POSTGRESQL_UPGRADE}.get(dialect, ()):
        op.execute(statement)
    op.execute(BACKFILL)


def downgrade():
    dialect = op.get_bind().dialect.name
    for trigger in TRIGGERS:
        if dialect == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {trigger} ON registrations")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS registrations_count_places()")
    for column in reversed(COLUMNS):
        op.drop_column("events", column)
