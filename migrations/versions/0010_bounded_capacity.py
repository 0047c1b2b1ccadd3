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

# SQLite cannot change a CHECK constraint without rebuilding the table. env.py turns
# foreign keys off around SQLite migrations, so the rebuild's DROP cascades nowhere; the
# rebuild keeps AUTOINCREMENT (migration 0008) and re-creates the search index's triggers.
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


def _swap_check(old: str, new: str, sqltext: str) -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(op.f(old), "events", type_="check")
        op.create_check_constraint(op.f(new), "events", sqltext)
        return
    with op.batch_alter_table(
        "events", recreate="always", table_kwargs={"sqlite_autoincrement": True}
    ) as batch_op:
        batch_op.drop_constraint(op.f(old), type_="check")
        batch_op.create_check_constraint(op.f(new), sqltext)
    for statement in EVENTS_FTS_TRIGGERS:
        op.execute(statement)
    problems = op.get_bind().exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if problems:
        raise RuntimeError(f"foreign keys broken by the rebuild: {problems[:5]}")


def upgrade():
    # The workspace stored whatever the column held (2**31 - 1 on PostgreSQL, 2**63 on
    # SQLite): such a capacity means "no real limit"; clamp it so the new rule holds.
    op.execute(f"UPDATE events SET capacity = {MAX_CAPACITY} WHERE capacity > {MAX_CAPACITY}")
    _swap_check("ck_events_capacity_not_negative", "ck_events_capacity_range", RANGE)


def downgrade():
    _swap_check(
        "ck_events_capacity_range",
        "ck_events_capacity_not_negative",
        "capacity IS NULL OR capacity >= 0",
    )
