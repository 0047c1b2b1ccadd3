"""ids never reused (SQLite AUTOINCREMENT); registrations linked by a random public id;
how each member joined (consent)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 10:00:00.000000

"""

import secrets

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# Written out here rather than read from the models, so this history never changes: every
# table whose integer id the database generates (eventsite.extensions sets the same on the
# models). PostgreSQL needs nothing: its ids come from sequences (SERIAL), which never hand
# out a number twice.
GENERATED_ID_TABLES = (
    "users",
    "organisations",
    "topics",
    "speakers",
    "events",
    "agenda_sessions",
    "registration_questions",
    "registrations",
    "outbox_messages",
    "organisation_invitations",
    "audit_entries",
    "announcement_subscribers",
    "announcements",
    "event_shares",
)

# Rebuilding `events` drops the triggers that keep its FTS5 index in step (migration 0004);
# they are created again, unchanged. The index itself is keyed by the ids, which the copy
# keeps, so it stays valid.
EVENTS_FTS_TRIGGERS = (
    "CREATE TRIGGER events_fts_after_insert AFTER INSERT ON events BEGIN"
    " INSERT INTO events_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
    "CREATE TRIGGER events_fts_after_delete AFTER DELETE ON events BEGIN"
    " INSERT INTO events_fts(events_fts, rowid, search_text)"
    " VALUES ('delete', old.id, old.search_text); END",
    "CREATE TRIGGER events_fts_after_update AFTER UPDATE OF id, search_text ON events BEGIN"
    " INSERT INTO events_fts(events_fts, rowid, search_text)"
    " VALUES ('delete', old.id, old.search_text);"
    " INSERT INTO events_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
)


def _is_sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _rebuild_sqlite_tables(autoincrement: bool, extra=None) -> None:
    """Copy each table into one declared with (or without) AUTOINCREMENT, keeping every
    row, id, index and constraint. The copy starts SQLite's counter at the largest id in
    the table: from then on no id is handed out twice. (Rows deleted before this
    migration above the largest id left can still see their id once more.) `extra` maps
    a table to more changes made in the same rebuild."""
    extra = extra or {}
    for table in GENERATED_ID_TABLES:
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
        ) as batch_op:
            if table in extra:
                extra[table](batch_op)
    for statement in EVENTS_FTS_TRIGGERS:
        op.execute(statement)
    # env.py turned foreign keys off for the rebuild; prove that nothing dangles.
    problems = op.get_bind().exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if problems:
        raise RuntimeError(f"foreign keys broken by the rebuild: {problems[:5]}")


def _new_public_id() -> str:
    # As eventsite.registration.models.new_public_id, written out so this history stays.
    while (value := secrets.token_urlsafe(12)).isdigit():
        pass
    return value


def _fill_registration_public_ids() -> None:
    registrations = sa.table("registrations", sa.column("id"), sa.column("public_id"))
    bind = op.get_bind()
    ids = bind.execute(sa.select(registrations.c.id)).scalars().all()
    for registration_id in ids:
        bind.execute(
            registrations.update()
            .where(registrations.c.id == registration_id)
            .values(public_id=_new_public_id())
        )


def _registration_public_id_required(batch_op) -> None:
    batch_op.alter_column("public_id", existing_type=sa.String(length=32), nullable=False)
    batch_op.create_unique_constraint(op.f("uq_registrations_public_id"), ["public_id"])


# As eventsite.organisations.models.JoinedVia.
JOINED_VIA_SQL = "joined_via IN ('creation', 'invitation', 'admin', 'added')"


def _fill_joined_via() -> None:
    """How each existing membership came about, from the latest entry about it in the
    workspace's audit log: "member_join" (accepted an invitation) -> invitation;
    "member_add" by nobody (the command line) -> admin, by the person themselves (the
    administrator who created the organisation) -> creation, by someone else -> added (put
    in without being asked). A membership the log does not mention is older than the
    workspace, which only the command line could grant: admin."""
    bind = op.get_bind()
    audit = sa.table(
        "audit_entries",
        sa.column("id", sa.Integer),
        sa.column("organisation_id", sa.Integer),
        sa.column("actor_id", sa.Integer),
        sa.column("action", sa.String),
        sa.column("details", sa.JSON),
    )
    how: dict[tuple[int, int], str] = {}
    entries = bind.execute(
        sa.select(audit.c.organisation_id, audit.c.actor_id, audit.c.action, audit.c.details)
        .where(audit.c.action.in_(["member_add", "member_join"]))
        .order_by(audit.c.id)
    )
    for organisation_id, actor_id, action, details in entries:
        user_id = (details or {}).get("user_id")
        if user_id is None:
            continue
        if action == "member_join":
            value = "invitation"
        elif actor_id is None:
            value = "admin"
        elif actor_id == user_id:
            value = "creation"
        else:
            value = "added"
        how[(organisation_id, user_id)] = value

    memberships = sa.table(
        "memberships",
        sa.column("user_id", sa.Integer),
        sa.column("organisation_id", sa.Integer),
        sa.column("joined_via", sa.String),
    )
    rows = bind.execute(sa.select(memberships.c.organisation_id, memberships.c.user_id)).all()
    for organisation_id, user_id in rows:
        bind.execute(
            memberships.update()
            .where(
                memberships.c.organisation_id == organisation_id,
                memberships.c.user_id == user_id,
            )
            .values(joined_via=how.get((organisation_id, user_id), "admin"))
        )


def upgrade():
    with op.batch_alter_table("registrations") as batch_op:
        batch_op.add_column(sa.Column("public_id", sa.String(length=32), nullable=True))
    _fill_registration_public_ids()
    if _is_sqlite():
        _rebuild_sqlite_tables(
            autoincrement=True, extra={"registrations": _registration_public_id_required}
        )
    else:
        with op.batch_alter_table("registrations") as batch_op:
            _registration_public_id_required(batch_op)

    with op.batch_alter_table("memberships") as batch_op:
        batch_op.add_column(sa.Column("joined_via", sa.String(length=20), nullable=True))
    _fill_joined_via()
    with op.batch_alter_table("memberships") as batch_op:
        batch_op.alter_column("joined_via", existing_type=sa.String(length=20), nullable=False)
        batch_op.create_check_constraint(
            op.f("ck_memberships_joined_via_known"), sa.text(JOINED_VIA_SQL)
        )


def downgrade():
    with op.batch_alter_table("memberships") as batch_op:
        batch_op.drop_constraint(op.f("ck_memberships_joined_via_known"), type_="check")
        batch_op.drop_column("joined_via")

    with op.batch_alter_table("registrations") as batch_op:
        batch_op.drop_constraint(op.f("uq_registrations_public_id"), type_="unique")
        batch_op.drop_column("public_id")
    if _is_sqlite():
        _rebuild_sqlite_tables(autoincrement=False)
