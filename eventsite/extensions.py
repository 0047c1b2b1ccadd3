"""Flask extensions, created unbound; create_app() initialises them."""

from typing import Any

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import Integer, MetaData, Table, event
from sqlalchemy.orm import DeclarativeBase, Mapper

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)


@event.listens_for(db.Model, "instrument_class", propagate=True)
def _never_reuse_ids(mapper: Mapper[Any], _cls: type) -> None:
    """Every model's table whose id the database generates gets SQLite's AUTOINCREMENT.

    Without it SQLite hands out the id of the last deleted row again, so an old emailed
    link or audit entry could name someone else. PostgreSQL's sequences never reuse one.
    Set here, once, so that a new model cannot forget it."""
    table = mapper.local_table
    if isinstance(table, Table) and _has_generated_integer_key(table):
        table.dialect_kwargs["sqlite_autoincrement"] = True


def _has_generated_integer_key(table: Table) -> bool:
    columns = list(table.primary_key.columns)
    return (
        len(columns) == 1
        and isinstance(columns[0].type, Integer)
        and columns[0].autoincrement is not False
        and not columns[0].foreign_keys
    )


migrate = Migrate(compare_type=True, render_as_batch=True)
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
