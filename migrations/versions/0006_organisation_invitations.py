"""organisation invitations as rows: listable, revocable, one pending per address

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 15:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

import eventsite.timeutil

# revision identifiers, used by Alembic.
revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

PENDING = "accepted_at IS NULL AND revoked_at IS NULL"


def upgrade():
    # A new table: nothing to rebuild. Links sent before this revision were signed tokens
    # with no row; they stop working (the organisation can invite the address again).
    op.create_table(
        "organisation_invitations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("invited_by_id", sa.Integer(), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", eventsite.timeutil.UTCDateTime(), nullable=False),
        sa.Column("sent_at", eventsite.timeutil.UTCDateTime(), nullable=False),
        sa.Column("accepted_at", eventsite.timeutil.UTCDateTime(), nullable=True),
        sa.Column("revoked_at", eventsite.timeutil.UTCDateTime(), nullable=True),
        sa.CheckConstraint(
            "accepted_at IS NULL OR revoked_at IS NULL",
            name=op.f("ck_organisation_invitations_accepted_or_revoked_not_both"),
        ),
        sa.ForeignKeyConstraint(
            ["invited_by_id"],
            ["users.id"],
            name=op.f("fk_organisation_invitations_invited_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_organisation_invitations_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisation_invitations")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_organisation_invitations_token_hash")),
    )
    op.create_index(
        op.f("ix_organisation_invitations_invited_by_id"),
        "organisation_invitations",
        ["invited_by_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_organisation_invitations_organisation_id"),
        "organisation_invitations",
        ["organisation_id"],
        unique=False,
    )
    op.create_index(
        "uq_organisation_invitations_organisation_id_email_pending",
        "organisation_invitations",
        ["organisation_id", "email"],
        unique=True,
        sqlite_where=sa.text(PENDING),
        postgresql_where=sa.text(PENDING),
    )


def downgrade():
    op.drop_table("organisation_invitations")  # its indexes go with it
