"""who cancelled a registration (registrations.cancelled_by_organiser) and the display
name an email is sent under (outbox_messages.from_name)

An organiser may give back a place they took away by mistake, not one the person gave
up: the flag tells the two apart. The organiser's messages to registrants go out under
the organisation's name.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 16:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE ADD COLUMN, also on SQLite: a batch rebuild would drop the tables'
    # AUTOINCREMENT (migration 0008).
    op.add_column(
        "registrations",
        sa.Column(
            "cancelled_by_organiser", sa.Boolean(), nullable=False, server_default=sa.false()
        ),
    )
    op.add_column("outbox_messages", sa.Column("from_name", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox_messages") as batch:
        batch.drop_column("from_name")
    with op.batch_alter_table("registrations") as batch:
        batch.drop_column("cancelled_by_organiser")
