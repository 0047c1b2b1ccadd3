"""registrations: the index that counts places holds the hold's end (an index-only count)

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-05 02:00:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("registrations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_registrations_event_id_status_created_at_hold",
            ["event_id", "status", "created_at", "hold_expires_at"],
            unique=False,
        )
        batch_op.drop_index("ix_registrations_event_id_status_created_at")


def downgrade():
    with op.batch_alter_table("registrations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_registrations_event_id_status_created_at",
            ["event_id", "status", "created_at"],
            unique=False,
        )
        batch_op.drop_index("ix_registrations_event_id_status_created_at_hold")
