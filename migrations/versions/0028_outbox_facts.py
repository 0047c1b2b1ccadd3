"""outbox rows queued as facts, rendered by the sender in the recipient's language

Revision ID: 0028
Revises: 0026
Create Date: 2026-12-03 22:40:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0028"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("renderer", sa.String(length=50), nullable=True))
        batch_op.add_column(sa.Column("facts", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("locale", sa.String(length=35), nullable=True))


def downgrade():
    # Without its facts such a message could never be written: say so rather than send it
    # empty.
    op.execute(
        "UPDATE outbox_messages SET status = 'failed', last_error = 'not rendered before "
        "the downgrade' WHERE renderer IS NOT NULL AND status = 'pending'"
    )
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_column("locale")
        batch_op.drop_column("facts")
        batch_op.drop_column("renderer")
