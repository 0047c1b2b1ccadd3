"""outbox leases: a sender claims a message for a while instead of locking it

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 10:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

import eventsite.timeutil

# revision identifiers, used by Alembic.
revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    # Nullable columns: a plain ADD COLUMN on both databases, no table rebuild. Existing
    # rows have no lease, so every pending message can be claimed at once.
    op.add_column("outbox_messages", sa.Column("lease_token", sa.String(length=32), nullable=True))
    op.add_column(
        "outbox_messages",
        sa.Column("lease_expires_at", eventsite.timeutil.UTCDateTime(), nullable=True),
    )


def downgrade():
    with op.batch_alter_table("outbox_messages") as batch_op:
        batch_op.drop_column("lease_expires_at")
        batch_op.drop_column("lease_token")
