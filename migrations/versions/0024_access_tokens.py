"""access_tokens: personal access tokens of the organiser API (one organisation each, read
or write, stored as a SHA-256 hash)

Revision ID: 0024
Revises: 0022
Create Date: 2026-12-03 19:10:00.000000

"""

import sqlalchemy as sa
from alembic import op

import eventsite.timeutil

# revision identifiers, used by Alembic.
revision = "0024"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "access_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("scope", sa.String(length=10), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("hint", sa.String(length=12), nullable=False),
        sa.Column("created_at", eventsite.timeutil.UTCDateTime(), nullable=False),
        sa.Column("expires_at", eventsite.timeutil.UTCDateTime(), nullable=True),
        sa.Column("last_used_at", eventsite.timeutil.UTCDateTime(), nullable=True),
        sa.Column("revoked_at", eventsite.timeutil.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_access_tokens_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_access_tokens_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_access_tokens_token_hash")),
        sqlite_autoincrement=True,  # ids are never reused (as every table since 0008)
    )
    with op.batch_alter_table("access_tokens", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_access_tokens_organisation_id"), ["organisation_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("access_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_access_tokens_organisation_id"))
    op.drop_table("access_tokens")
