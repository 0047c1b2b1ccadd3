"""the personal calendar feed's secret stored as a SHA-256 hash (users.calendar_token_hash)

Existing addresses keep working: each stored token is replaced by its hash, and the feed
looks an address up by the hash of the token in it. Downgrading cannot recover the
tokens: every person then gets a new random one (their old address stops working).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 13:00:00.000000

"""

import hashlib
import secrets

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

USERS = sa.table(
    "users",
    sa.column("id", sa.Integer),
    sa.column("calendar_token", sa.String),
    sa.column("calendar_token_hash", sa.String),
)


def _hash(secret: str) -> str:
    # eventsite.feeds.tokens.hash_calendar_token when this was written.
    return hashlib.sha256(secret.encode()).hexdigest()


def _rename(old: str, new: str) -> None:
    """Rename the column and its unique constraint. SQLite cannot rename a constraint:
    the table is rebuilt (keeping AUTOINCREMENT, migration 0008; env.py turns foreign
    keys off around SQLite migrations, so the rebuild's DROP cascades nowhere)."""
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        # The copy would restart the AUTOINCREMENT counter at the largest id left: keep
        # the old counter, so the id of a deleted account is never given again.
        counter = conn.exec_driver_sql(
            "SELECT seq FROM sqlite_sequence WHERE name = 'users'"
        ).scalar()
        # Two copies: a batch resolves constraint columns by their names before the copy.
        with op.batch_alter_table(
            "users", recreate="always", table_kwargs={"sqlite_autoincrement": True}
        ) as batch_op:
            batch_op.drop_constraint(op.f(f"uq_users_{old}"), type_="unique")
            batch_op.alter_column(old, new_column_name=new)
        with op.batch_alter_table(
            "users", recreate="always", table_kwargs={"sqlite_autoincrement": True}
        ) as batch_op:
            batch_op.create_unique_constraint(op.f(f"uq_users_{new}"), [new])
        if counter is not None:
            conn.exec_driver_sql(
                "UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = 'users'", (counter,)
            )
        problems = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if problems:
            raise RuntimeError(f"foreign keys broken by the rebuild: {problems[:5]}")
        return
    op.alter_column("users", old, new_column_name=new)
    op.execute(
        f"ALTER TABLE users RENAME CONSTRAINT uq_users_{old} TO uq_users_{new}"
    )


def upgrade():
    conn = op.get_bind()
    rows = conn.execute(sa.select(USERS.c.id, USERS.c.calendar_token)).all()
    for user_id, token in rows:
        conn.execute(
            USERS.update().where(USERS.c.id == user_id).values(calendar_token=_hash(token))
        )
    _rename("calendar_token", "calendar_token_hash")


def downgrade():
    _rename("calendar_token_hash", "calendar_token")
    conn = op.get_bind()
    for (user_id,) in conn.execute(sa.select(USERS.c.id)).all():
        conn.execute(
            USERS.update()
            .where(USERS.c.id == user_id)
            .values(calendar_token=secrets.token_urlsafe(32))
        )
