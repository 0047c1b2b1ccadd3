"""Alembic environment for eventsite (Flask-Migrate), fixed for Flask-SQLAlchemy 3."""

import logging
from contextlib import contextmanager
from logging.config import fileConfig

from alembic import context
from flask import current_app

import eventsite.models  # noqa: F401 - every model on the metadata
from eventsite.timeutil import UTCDateTime

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

target_db = current_app.extensions["migrate"].db


def get_engine():
    return target_db.engine


config.set_main_option(
    "sqlalchemy.url", get_engine().url.render_as_string(hide_password=False).replace("%", "%%")
)


def render_item(type_, obj, autogen_context):
    """Write our UTC column type as an importable name in generated migrations."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        autogen_context.imports.add("import eventsite.timeutil")
        return "eventsite.timeutil.UTCDateTime()"
    return False


def include_name(name, type_, parent_names):
    """Leave to migration 0004 what metadata cannot describe: SQLite's FTS5 search table
    (and its shadow tables) and PostgreSQL's trigram index on events.search_text."""
    if type_ == "table":
        return not (name or "").startswith("events_fts")
    return not (type_ == "index" and name == "ix_events_search_text_trgm")


def run_migrations_offline():
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_db.metadata,
        literal_binds=True,
        render_item=render_item,
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    def process_revision_directives(context, revision, directives):
        if getattr(config.cmd_opts, "autogenerate", False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logger.info("No changes in schema detected.")

    conf_args = dict(current_app.extensions["migrate"].configure_args)
    conf_args.setdefault("process_revision_directives", process_revision_directives)
    conf_args.setdefault("render_item", render_item)
    conf_args.setdefault("include_name", include_name)

    with get_engine().connect() as connection, sqlite_foreign_keys_off(connection):
        context.configure(connection=connection, target_metadata=target_db.metadata, **conf_args)
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                # Rewriting or indexing a large table may take longer than the statement
                # timeout that protects web requests (DATABASE_STATEMENT_TIMEOUT).
                connection.exec_driver_sql("SET LOCAL statement_timeout = 0")
            context.run_migrations()


@contextmanager
def sqlite_foreign_keys_off(connection):
    """SQLite's way to rebuild a table (batch mode) is copy, DROP, rename; with foreign keys
    on, DROP TABLE first deletes every row, and ON DELETE CASCADE would empty the tables
    that refer to it. The app turns them on for every connection, so turn them off around
    the migrations, as SQLite's documentation prescribes (the pragma is ignored inside a
    transaction: set it on the driver's connection before Alembic begins one). Migrations
    that rebuild tables run PRAGMA foreign_key_check before they finish."""
    if connection.dialect.name != "sqlite":
        yield
        return
    driver = connection.connection.driver_connection
    driver.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        if connection.in_transaction():
            connection.rollback()
        driver.execute("PRAGMA foreign_keys=ON")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
