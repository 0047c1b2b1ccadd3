"""images: pictures (images), events' covers, organisations' logos and speakers' photos;
the logos kept in organisations.logo_data move onto the image store

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03 19:30:00.000000

"""

import logging

import sqlalchemy as sa
from alembic import op

import eventsite.timeutil

# revision identifiers, used by Alembic.
revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

# As in 0012: a SQLite rebuild of `events` re-creates the search index's triggers.
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
# (table, new column) pointing at images.id
PICTURE_COLUMNS = (
    ("events", "cover_image_id"),
    ("organisations", "logo_image_id"),
    ("speakers", "photo_image_id"),
)
IMAGES = sa.table(
    "images",
    sa.column("id", sa.Integer),
    sa.column("key", sa.String),
    sa.column("width", sa.Integer),
    sa.column("height", sa.Integer),
    sa.column("alt", sa.String),
    sa.column("variants", sa.JSON),
    sa.column("created_at", eventsite.timeutil.UTCDateTime),
)


def _picture_column(table, name):
    return sa.Column(
        name,
        sa.Integer(),
        sa.ForeignKey("images.id", name=op.f(f"fk_{table}_{name}_images"), ondelete="SET NULL"),
        nullable=True,
    )


def _move_logos(bind):
    """Each stored logo through the same checks and cleaning as a new upload (the code of
    eventsite.images at the time of upgrading), onto the configured image store. A logo
    that is refused (it was only checked by its first bytes) is dropped, and logged."""
    from eventsite.images import processing, storage  # needs the app: `flask db upgrade`

    organisations = sa.table(
        "organisations",
        sa.column("id", sa.Integer),
        sa.column("name", sa.String),
        sa.column("logo_data", sa.LargeBinary),
        sa.column("logo_updated_at", eventsite.timeutil.UTCDateTime),
    )
    rows = bind.execute(
        sa.select(organisations)
        .where(organisations.c.logo_data.is_not(None))
        .order_by(organisations.c.id)
    ).all()
    moved = {}
    for row in rows:
        try:
            processed = processing.process(bytes(row.logo_data))
        except processing.ImageRefused as err:
            log.warning("Organisation %s: its logo is dropped (%s)", row.id, err)
            continue
        store = storage.current()
        for file in processed.files:
            store.put(file.name, file.data, file.content_type)
        result = bind.execute(
            IMAGES.insert().returning(IMAGES.c.id),
            {
                "key": processed.key,
                "width": processed.width,
                "height": processed.height,
                "alt": row.name[:300],
                "variants": [v.as_json() for v in processed.variants],
                "created_at": row.logo_updated_at or eventsite.timeutil.utcnow(),
            },
        )
        moved[row.id] = result.scalar_one()
    return moved


def upgrade():
    bind = op.get_bind()
    op.create_table(
        "images",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("alt", sa.String(length=300), nullable=False),
        sa.Column("variants", sa.JSON(), nullable=False),
        sa.Column("created_at", eventsite.timeutil.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_images")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_images_key"), "images", ["key"])
    moved = _move_logos(bind)
    sqlite = bind.dialect.name == "sqlite"
    for table, name in PICTURE_COLUMNS:
        if sqlite:
            # A foreign key with ON DELETE needs a rebuild on SQLite (see 0018).
            with op.batch_alter_table(
                table, recreate="always", table_kwargs={"sqlite_autoincrement": True}
            ) as batch_op:
                batch_op.add_column(_picture_column(table, name))
                if table == "organisations":
                    batch_op.drop_column("logo_data")
                    batch_op.drop_column("logo_content_type")
                    batch_op.drop_column("logo_updated_at")
            if table == "events":
                for statement in EVENTS_FTS_TRIGGERS:
                    op.execute(statement)
        else:
            op.add_column(table, _picture_column(table, name))
            if table == "organisations":
                op.drop_column("organisations", "logo_data")
                op.drop_column("organisations", "logo_content_type")
                op.drop_column("organisations", "logo_updated_at")
        op.create_index(op.f(f"ix_{table}_{name}"), table, [name])
    update = sa.text("UPDATE organisations SET logo_image_id = :image WHERE id = :id")
    for organisation_id, image_id in moved.items():
        bind.execute(update, {"image": image_id, "id": organisation_id})
    if sqlite:
        problems = bind.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if problems:
            raise RuntimeError(f"foreign keys broken by the rebuild: {problems[:5]}")


def downgrade():
    """The logos go back into the table as their largest JPEG; covers and photos are lost
    (their files stay on the image store)."""
    from eventsite.images import storage

    bind = op.get_bind()
    organisations = sa.table(
        "organisations", sa.column("id", sa.Integer), sa.column("logo_image_id", sa.Integer)
    )
    logos = bind.execute(
        sa.select(organisations.c.id, IMAGES.c.variants, IMAGES.c.created_at).join(
            IMAGES, IMAGES.c.id == organisations.c.logo_image_id
        )
    ).all()
    sqlite = bind.dialect.name == "sqlite"
    for table, name in PICTURE_COLUMNS:
        op.drop_index(op.f(f"ix_{table}_{name}"), table_name=table)
        with op.batch_alter_table(
            table, recreate="always" if sqlite else "auto",
            table_kwargs={"sqlite_autoincrement": True},
        ) as batch_op:
            batch_op.drop_column(name)
            if table == "organisations":
                batch_op.add_column(sa.Column("logo_data", sa.LargeBinary(), nullable=True))
                batch_op.add_column(
                    sa.Column("logo_content_type", sa.String(length=20), nullable=True)
                )
                batch_op.add_column(
                    sa.Column("logo_updated_at", eventsite.timeutil.UTCDateTime(), nullable=True)
                )
        if sqlite and table == "events":
            for statement in EVENTS_FTS_TRIGGERS:
                op.execute(statement)
    update = (
        sa.table(
            "organisations",
            sa.column("id", sa.Integer),
            sa.column("logo_data", sa.LargeBinary),
            sa.column("logo_content_type", sa.String),
            sa.column("logo_updated_at", eventsite.timeutil.UTCDateTime),
        )
        .update()
        .where(sa.column("id") == sa.bindparam("org_id"))
    )
    for row in logos:
        stored = storage.current().get(row.variants[-1]["jpeg"])
        if stored is not None:
            bind.execute(
                update.values(
                    logo_data=stored.data,
                    logo_content_type="image/jpeg",
                    logo_updated_at=row.created_at,
                ),
                {"org_id": row.id},
            )
    op.drop_index(op.f("ix_images_key"), table_name="images")
    op.drop_table("images")
