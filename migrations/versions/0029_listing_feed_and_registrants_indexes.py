"""listing, feed and registrants indexes: the upcoming listing's index holds the id (an
index-only page and count on PostgreSQL), the Atom feed's latest changes and the
registrants table's default order have their own

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-03 23:15:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_status_ends_at_starts_at")
        batch_op.create_index(
            "ix_events_status_ends_at_starts_at_id",
            ["status", "ends_at", "starts_at", "id"],
            unique=False,
        )
        batch_op.create_index("ix_events_updated_at_id", ["updated_at", "id"], unique=False)
    with op.batch_alter_table("registrations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_registrations_event_id_created_at_id",
            ["event_id", "created_at", "id"],
            unique=False,
        )


def downgrade():
    with op.batch_alter_table("registrations", schema=None) as batch_op:
        batch_op.drop_index("ix_registrations_event_id_created_at_id")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_updated_at_id")
        batch_op.drop_index("ix_events_status_ends_at_starts_at_id")
        batch_op.create_index(
            "ix_events_status_ends_at_starts_at", ["status", "ends_at", "starts_at"], unique=False
        )
