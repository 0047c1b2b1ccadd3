"""the log-in brake counts per address, account or not (login_failures), not on users

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 10:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

import eventsite.timeutil

# revision identifiers, used by Alembic.
revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "login_failures",
        sa.Column("address_hash", sa.String(length=64), nullable=False),
        sa.Column("failure_count", sa.Integer(), nullable=False),
        sa.Column("window_started_at", eventsite.timeutil.UTCDateTime(), nullable=True),
        sa.Column("blocked_until", eventsite.timeutil.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("address_hash", name=op.f("pk_login_failures")),
    )
    # Counts and blocks in progress are dropped: at worst an address gets its few tries again.
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("login_blocked_until")
        batch_op.drop_column("failed_login_window_started_at")
        batch_op.drop_column("failed_login_count")


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("failed_login_count", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column(
                "failed_login_window_started_at", eventsite.timeutil.UTCDateTime(), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column("login_blocked_until", eventsite.timeutil.UTCDateTime(), nullable=True)
        )
    op.drop_table("login_failures")
