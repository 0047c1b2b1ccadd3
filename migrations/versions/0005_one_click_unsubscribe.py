"""one-click unsubscribe address on outbox messages (List-Unsubscribe, RFC 8058)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 14:50:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    # A nullable column: a plain ADD COLUMN on both databases, no table rebuild.
    op.add_column(
        "outbox_messages", sa.Column("list_unsubscribe", sa.String(length=1000), nullable=True)
    )


def downgrade():
    with op.batch_alter_table("outbox_messages") as batch_op:
        batch_op.drop_column("list_unsubscribe")
