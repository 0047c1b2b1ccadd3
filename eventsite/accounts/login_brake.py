"""The brake on failed log-ins: counted per email address, whether or not an account has
it, so that it answers alike for every address (see `models.LoginFailure`)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import case, delete, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from eventsite import database
from eventsite.accounts.models import LoginFailure
from eventsite.extensions import db
from eventsite.timeutil import UTCDateTime

TABLE = LoginFailure.__table__


def address_key(address: str) -> str:
    """The key of an address in `login_failures`: keyed with SECRET_KEY, so the table cannot
    be read back into addresses (a plain hash of a list of known addresses could)."""
    secret = current_app.config["SECRET_KEY"]
    key = secret if isinstance(secret, bytes) else secret.encode("utf-8")
    message = b"login-failures\0" + address.strip().lower().encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def is_blocked(key: str, now: datetime) -> bool:
    blocked_until = db.session.scalar(
        select(TABLE.c.blocked_until).where(TABLE.c.address_hash == key)
    )
    return blocked_until is not None and blocked_until > now


def record_failure(key: str, now: datetime) -> None:
    """Count one failure; past LOGIN_FAILURE_LIMIT within LOGIN_FAILURE_WINDOW_MINUTES the
    address is blocked for LOGIN_BLOCK_MINUTES and its count starts again."""
    config = current_app.config
    window_start = now - timedelta(minutes=config["LOGIN_FAILURE_WINDOW_MINUTES"])
    fresh_window = or_(
        TABLE.c.window_started_at.is_(None), TABLE.c.window_started_at < window_start
    )
    # One statement inserts or counts atomically, so parallel attempts (even at an address
    # nobody tried before) cannot slip under the limit.
    insert = (postgresql.insert if database.is_postgresql() else sqlite.insert)(TABLE)
    count = db.session.execute(
        insert.values(address_hash=key, failure_count=1, window_started_at=now)
        .on_conflict_do_update(
            index_elements=[TABLE.c.address_hash],
            set_={
                "failure_count": case((fresh_window, 1), else_=TABLE.c.failure_count + 1),
                "window_started_at": case(
                    (fresh_window, literal(now, UTCDateTime)), else_=TABLE.c.window_started_at
                ),
            },
        )
        .returning(TABLE.c.failure_count)
    ).scalar_one()
    if count >= config["LOGIN_FAILURE_LIMIT"]:
        db.session.execute(
            update(TABLE)
            .where(TABLE.c.address_hash == key)
            .values(
                failure_count=0,
                window_started_at=None,
                blocked_until=now + timedelta(minutes=config["LOGIN_BLOCK_MINUTES"]),
            )
        )
    _forget_spent_rows(now, window_start)


def release(key: str) -> None:
    """Forget the address's failures and lift its block (a log-in, a password reset)."""
    db.session.execute(delete(TABLE).where(TABLE.c.address_hash == key))


def _forget_spent_rows(now: datetime, window_start: datetime) -> None:
    """Delete rows that count for nothing any more, a few at a time.

    PostgreSQL: rows another attempt holds are skipped, not waited for, and the caller's
    own row is locked already, so two attempts never wait on each other.
    """
    spent = (
        select(TABLE.c.address_hash)
        .where(
            or_(TABLE.c.window_started_at.is_(None), TABLE.c.window_started_at < window_start),
            or_(TABLE.c.blocked_until.is_(None), TABLE.c.blocked_until <= now),
        )
        .limit(100)
        .with_for_update(skip_locked=True)
    )
    db.session.execute(delete(TABLE).where(TABLE.c.address_hash.in_(spent)))
