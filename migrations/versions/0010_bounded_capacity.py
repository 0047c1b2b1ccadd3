"""event capacity between 0 and 1,000,000 places (was: not negative, no upper bound)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 10:00:00.000000

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

MAX_CAPACITY = 1_000_000  # eventsite.events.models.MAX_CAPACITY when this was written
RANGE = f"capacity IS NULL OR capacity BETWEEN 0 AND {MAX_CAPACITY}"

# SQLite cannot change a CHECK constraint without rebuilding the table, and rebuilding
# `events` drops it first: with foreign keys on, that DELETE cascades to registrations,
# sessions and topics, and it loses the search triggers. Two triggers enforce the same
# range instead (RAISE(ABORT) is a constraint error, an IntegrityError like the CHECK);
# the old CHECK (not negative) stays. A database made from the models has the CHECK.
_OUT_OF_RANGE = f"new.capacity IS NOT NULL AND (new.capacity < 0 OR new.capacity > {MAX_CAPACITY})"
_REFUSE = "SELECT RAISE(ABORT, 'CHECK constraint failed: ck_events_capacity_range')"
SQLITE_UPGRADE = (
    "CREATE TRIGGER events_capacity_range_insert BEFORE INSERT ON events"
    f" WHEN {_OUT_OF_RANGE} BEGIN {_REFUSE}; END",
    "CREATE TRIGGER events_capacity_range_update BEFORE UPDATE OF capacity ON events"
    f" WHEN {_OUT_OF_RANGE} BEGIN {_REFUSE}; END",
)
SQLITE_DOWNGRADE = (
    "DROP TRIGGER IF EXISTS events_capacity_range_update",
    "DROP TRIGGER IF EXISTS events_capacity_range_insert",
)


def upgrade():
    # The workspace stored whatever the column held (2**31 - 1 on PostgreSQL, 2**63 on
    # SQLite): such a capacity means "no real limit"; clamp it so the new rule holds.
    op.execute(f"UPDATE events SET capacity = {MAX_CAPACITY} WHERE capacity > {MAX_CAPACITY}")
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_UPGRADE:
            op.execute(statement)
        return
    op.drop_constraint(op.f("ck_events_capacity_not_negative"), "events", type_="check")
    op.create_check_constraint(op.f("ck_events_capacity_range"), "events", RANGE)


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_DOWNGRADE:
            op.execute(statement)
        return
    op.drop_constraint(op.f("ck_events_capacity_range"), "events", type_="check")
    op.create_check_constraint(
        op.f("ck_events_capacity_not_negative"), "events", "capacity IS NULL OR capacity >= 0"
    )
