"""reminders: each event's reminder_hours and the reminders sent (sent_reminders, one row
per registration, kind and event start: the claim), the "registration opens" alerts
(registration_alerts), and a cancelled event's rescheduled_as_id

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03 19:30:00.000000

"""

import sqlalchemy as sa
from alembic import op

import eventsite.timeutil

# revision identifiers, used by Alembic.
revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

# eventsite.events.models' MAX_REMINDER_HOURS when written (0: no reminder).
REMINDER_RANGE = "reminder_hours BETWEEN 0 AND 336"

# As in 0012: the SQLite rebuild of events (a CHECK constraint and a foreign key with ON
# DELETE cannot be added otherwise) keeps AUTOINCREMENT and re-creates the search triggers.
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


def _event_columns() -> list[sa.Column]:
    return [
        sa.Column("reminder_hours", sa.Integer(), nullable=False, server_default="24"),
        sa.Column(
            "rescheduled_as_id",
            sa.Integer(),
            sa.ForeignKey(
                "events.id", name=op.f("fk_events_rescheduled_as_id_events"), ondelete="SET NULL"
            ),
            nullable=True,
        ),
    ]


def upgrade():
    op.create_table(
        "sent_reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("registration_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("starts_at", eventsite.timeutil.UTCDateTime(), nullable=False),
        sa.Column("sent_at", eventsite.timeutil.UTCDateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('before_event')", name=op.f("ck_sent_reminders_kind_known")),
        sa.ForeignKeyConstraint(
            ["registration_id"],
            ["registrations.id"],
            name=op.f("fk_sent_reminders_registration_id_registrations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sent_reminders")),
        sa.UniqueConstraint(
            "registration_id",
            "kind",
            "starts_at",
            name=op.f("uq_sent_reminders_registration_id_kind_starts_at"),
        ),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "registration_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", eventsite.timeutil.UTCDateTime(), nullable=False),
        sa.Column("confirmed_at", eventsite.timeutil.UTCDateTime(), nullable=True),
        sa.Column("sent_at", eventsite.timeutil.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_registration_alerts_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_registration_alerts_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registration_alerts")),
        sa.UniqueConstraint(
            "event_id", "email", name=op.f("uq_registration_alerts_event_id_email")
        ),
        sqlite_autoincrement=True,
    )
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        for column in _event_columns():
            op.add_column("events", column)
        op.create_check_constraint(
            op.f("ck_events_reminder_hours_range"), "events", REMINDER_RANGE
        )
        return
    with op.batch_alter_table(
        "events", recreate="always", table_kwargs={"sqlite_autoincrement": True}
    ) as batch_op:
        for column in _event_columns():
            batch_op.add_column(column)
        batch_op.create_check_constraint(op.f("ck_events_reminder_hours_range"), REMINDER_RANGE)
    for statement in EVENTS_FTS_TRIGGERS:
        op.execute(statement)
    problems = bind.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if problems:
        raise RuntimeError(f"foreign keys broken by the rebuild: {problems[:5]}")


def downgrade():
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(op.f("ck_events_reminder_hours_range"), "events", "check")
        op.drop_column("events", "rescheduled_as_id")
        op.drop_column("events", "reminder_hours")
    else:
        with op.batch_alter_table(
            "events", recreate="always", table_kwargs={"sqlite_autoincrement": True}
        ) as batch_op:
            batch_op.drop_constraint(op.f("ck_events_reminder_hours_range"), type_="check")
            batch_op.drop_column("rescheduled_as_id")
            batch_op.drop_column("reminder_hours")
        for statement in EVENTS_FTS_TRIGGERS:
            op.execute(statement)
    op.drop_table("registration_alerts")
    op.drop_table("sent_reminders")
