"""tickets: registrations.ticket_code (unique, filled for the older rows) and who checked a
person in (registrations.checked_in_by_id)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 19:00:00.000000

"""

import secrets

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

# eventsite.registration.models' TICKET_ALPHABET and TICKET_CODE_LENGTH when written.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 8


def upgrade():
    op.add_column("registrations", sa.Column("ticket_code", sa.String(length=8), nullable=True))
    bind = op.get_bind()
    checked_in_by = sa.Column(
        "checked_in_by_id",
        sa.Integer(),
        sa.ForeignKey(
            "users.id", name=op.f("fk_registrations_checked_in_by_id_users"), ondelete="SET NULL"
        ),
        nullable=True,
    )
    if bind.dialect.name == "sqlite":
        # A foreign key with ON DELETE needs a rebuild on SQLite (an inline REFERENCES added
        # by ALTER is not read back with its options); the rebuild keeps AUTOINCREMENT (0008)
        # and the partial unique index (test_the_rebuilt_sqlite_tables_keep_every_constraint).
        with op.batch_alter_table(
            "registrations", recreate="always", table_kwargs={"sqlite_autoincrement": True}
        ) as batch_op:
            batch_op.add_column(checked_in_by)
        problems = bind.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if problems:
            raise RuntimeError(f"foreign keys broken by the rebuild: {problems[:5]}")
    else:
        op.add_column("registrations", checked_in_by)
    ids = [row[0] for row in bind.exec_driver_sql("SELECT id FROM registrations")]
    used: set[str] = set()
    update = sa.text("UPDATE registrations SET ticket_code = :code WHERE id = :id")
    for registration_id in ids:
        while (code := "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))) in used:
            pass
        used.add(code)
        bind.execute(update, {"code": code, "id": registration_id})
    op.create_index(
        op.f("uq_registrations_ticket_code"), "registrations", ["ticket_code"], unique=True
    )


def downgrade():
    op.drop_index(op.f("uq_registrations_ticket_code"), table_name="registrations")
    with op.batch_alter_table(
        "registrations", recreate="auto", table_kwargs={"sqlite_autoincrement": True}
    ) as batch:
        batch.drop_column("checked_in_by_id")
        batch.drop_column("ticket_code")
