"""places held until the email address is confirmed (registrations.hold_expires_at,
registrations.is_hold_expired) and each event's hold length (events.confirmation_hold_hours)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 16:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

import eventsite.timeutil

# revision identifiers, used by Alembic.
revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# eventsite.events.models' DEFAULT_HOLD_HOURS, MIN_HOLD_HOURS, MAX_HOLD_HOURS when written.
HOLD_RANGE = "confirmation_hold_hours BETWEEN 1 AND 168"

# SQLite cannot add a CHECK constraint without rebuilding the table. env.py turns foreign
# keys off around SQLite migrations, so the rebuild's DROP cascades nowhere; the rebuild
# keeps AUTOINCREMENT (migration 0008) and re-creates the search index's triggers (0010).
EVENTS_FTS_TRIGGERS = (
    "CREATE TRIGGER events_fts_after_insert AFTER INSERT ON events BEGIN"
    " INSERT INTO events_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
    "CREATE TRIGGER events_fts_after_delete AFTER DELETE ON events BEGIN"
    " INSERT INTO events_fts(events_fts, rowid, search_text)"
    " VALUES ('delete', old.id, old.search_text); END",
    "CREATE TRIGGER events_fts_after_update AFTER UPDATE OF id, search_text ON events BEGIN"
    " INSERT INTO events_fts(events_fts, rowid, search_text)"
    " VALUES ('delete', old.id, old.search_text);"
    " INSERT INTO events_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
)


def upgrade():
    # Plain ALTERs, also on SQLite: the registrations table keeps AUTOINCREMENT (0008).
    op.add_column(
        "registrations",
        sa.Column("hold_expires_at", eventsite.timeutil.UTCDateTime(), nullable=True),
    )
    op.add_column(
        "registrations",
        sa.Column("is_hold_expired", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_index(
        op.f("ix_registrations_hold_expires_at"), "registrations", ["hold_expires_at"]
    )
    hours = sa.Column("confirmation_hold_hours", sa.Integer(), nullable=False, server_default="24")
    if op.get_bind().dialect.name != "sqlite":
        op.add_column("events", hours)
        op.create_check_constraint(
            op.f("ck_events_confirmation_hold_hours_range"), "events", HOLD_RANGE
        )
        return
    with op.batch_alter_table(
        "events", recreate="always", table_kwargs={"sqlite_autoincrement": True}
    ) as batch_op:
        batch_op.add_column(hours)
        batch_op.create_check_constraint(
            op.f("ck_events_confirmation_hold_hours_range"), HOLD_RANGE
        )
    for statement in EVENTS_FTS_TRIGGERS:
        op.execute(statement)
    problems = op.get_bind().exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if problems:
        raise RuntimeError(f"foreign keys broken by the rebuild: {problems[:5]}")


def downgrade():
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(op.f("ck_events_confirmation_hold_hours_range"), "events", "check")
        op.drop_column("events", "confirmation_hold_hours")
    else:
        with op.batch_alter_table(
            "events", recreate="always", table_kwargs={"sqlite_autoincrement": True}
        ) as batch_op:
            batch_op.drop_constraint(
                op.f("ck_events_confirmation_hold_hours_range"), type_="check"
            )
            batch_op.drop_column("confirmation_hold_hours")
        for statement in EVENTS_FTS_TRIGGERS:
            op.execute(statement)
    op.drop_index(op.f("ix_registrations_hold_expires_at"), table_name="registrations")
    op.drop_column("registrations", "is_hold_expired")  # SQLite 3.35+: ALTER TABLE DROP COLUMN
    op.drop_column("registrations", "hold_expires_at")
