"""an index on registrations.updated_at: the listing's page-cache stamp reads its maximum

The listing's cards say how many places are left, so a cached listing is kept only while
no registration is added or changed: max(id) and max(updated_at), two index lookups.

Revision ID: 0017
Revises: 0015
Create Date: 2026-12-03 16:00:00.000000

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0017"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(op.f("ix_registrations_updated_at"), "registrations", ["updated_at"])


def downgrade():
    op.drop_index(op.f("ix_registrations_updated_at"), table_name="registrations")
