"""indexed text search: FTS5 trigram table (SQLite), GIN trigram index (PostgreSQL)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 13:15:00.000000

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# Written out here rather than imported from the models, so this history never changes.
# Keep in step with SEARCH_INDEX_DDL in eventsite/events/models.py.
SQLITE_UPGRADE = (
    "CREATE VIRTUAL TABLE events_fts USING fts5(search_text, content='events',"
    " content_rowid='id', tokenize='trigram case_sensitive 1')",
    "CREATE TRIGGER events_fts_after_insert AFTER INSERT ON events BEGIN"
    " INSERT INTO events_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
    "CREATE TRIGGER events_fts_after_delete AFTER DELETE ON events BEGIN"
    " INSERT INTO events_fts(events_fts, rowid, search_text)"
    " VALUES ('delete', old.id, old.search_text); END",
    "CREATE TRIGGER events_fts_after_update AFTER UPDATE OF id, search_text ON events BEGIN"
    " INSERT INTO events_fts(events_fts, rowid, search_text)"
    " VALUES ('delete', old.id, old.search_text);"
    " INSERT INTO events_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
    # Index the events that already exist.
    "INSERT INTO events_fts(events_fts) VALUES ('rebuild')",
)
SQLITE_DOWNGRADE = (
    "DROP TRIGGER IF EXISTS events_fts_after_update",
    "DROP TRIGGER IF EXISTS events_fts_after_delete",
    "DROP TRIGGER IF EXISTS events_fts_after_insert",
    "DROP TABLE IF EXISTS events_fts",
)
POSTGRESQL_UPGRADE = (
    # pg_trgm is a trusted extension: the database owner may create it without superuser.
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX ix_events_search_text_trgm ON events USING gin (search_text gin_trgm_ops)",
)
# The extension stays: other objects may have come to use it.
POSTGRESQL_DOWNGRADE = ("DROP INDEX IF EXISTS ix_events_search_text_trgm",)


def _run(statements: dict[str, tuple[str, ...]]) -> None:
    for statement in statements.get(op.get_bind().dialect.name, ()):
        op.execute(statement)


def upgrade():
    _run({"sqlite": SQLITE_UPGRADE, "postgresql": POSTGRESQL_UPGRADE})


def downgrade():
    _run({"sqlite": SQLITE_DOWNGRADE, "postgresql": POSTGRESQL_DOWNGRADE})
