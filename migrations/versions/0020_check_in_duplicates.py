"""check_in_duplicates: a person checked in on two offline door devices, the later one

Revision ID: 0020
Revises: 0018
Create Date: 2026-12-03 19:30:00.000000

"""

import sqlalchemy as sa
from alembic import op

from eventsite.timeutil import UTCDateTime

# revision identifiers, used by Alembic.
revision = "0020"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "check_in_duplicates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("registration_id", sa.Integer(), nullable=False),
        sa.Column("checked_in_at", UTCDateTime(), nullable=False),
        sa.Column("checked_in_by_id", sa.Integer(), nullable=True),
        sa.Column("device", sa.String(length=40), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["checked_in_by_id"],
            ["users.id"],
            name=op.f("fk_check_in_duplicates_checked_in_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["registration_id"],
            ["registrations.id"],
            name=op.f("fk_check_in_duplicates_registration_id_registrations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_check_in_duplicates")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        op.f("ix_check_in_duplicates_registration_id"),
        "check_in_duplicates",
        ["registration_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_check_in_duplicates_registration_id"), table_name="check_in_duplicates"
    )
    op.drop_table("check_in_duplicates")
