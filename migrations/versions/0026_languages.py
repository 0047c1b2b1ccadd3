"""languages: the language of each account, "notify me" subscription and registration alert

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-03 22:15:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

TABLES = ("users", "announcement_subscribers", "registration_alerts")


def upgrade():
    # Existing rows were written in English: that is their language.
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("language", sa.String(length=16), server_default="en", nullable=False)
            )


def downgrade():
    for table in reversed(TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("language")
