"""registrations.pending_notice: the confirmation email's facts, written with the
registration and moved to the outbox by the sender

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-06 08:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None

PENDING = "pending_notice IS NOT NULL"


def upgrade():
    # A nullable column without a default: added in place, no table copy on SQLite.
    op.add_column("registrations", sa.Column("pending_notice", sa.JSON(none_as_null=True)))
    op.create_index(
        "ix_registrations_pending_notice",
        "registrations",
        ["id"],
        unique=False,
        sqlite_where=sa.text(PENDING),
        postgresql_where=sa.text(PENDING),
    )


def downgrade():
    # The confirmations still on their registrations would never be sent: refused until
    # the sender has queued them (`flask outbox send`, or the worker).
    waiting = op.get_bind().scalar(sa.text(f"SELECT count(*) FROM registrations WHERE {PENDING}"))
    if waiting:
        raise RuntimeError(
            f"{waiting} registration email(s) are not queued yet: run `flask outbox send` "
            "(or let the worker run), then downgrade"
        )
    op.drop_index("ix_registrations_pending_notice", table_name="registrations")
    # In place on both databases (SQLite 3.35+): a batch copy of the table would drop the
    # places' triggers (0031).
    op.execute("ALTER TABLE registrations DROP COLUMN pending_notice")
