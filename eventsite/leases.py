"""Claiming outbox rows for one sender at a time: the lease shared by the email outbox and
the webhook deliveries (any model with `id`, `status`, `next_attempt_at`, `lease_token` and
`lease_expires_at` columns, "pending" meaning waiting to be sent).

A sender claims a row in one short transaction (a random token and an expiry, set by an
UPDATE that matches only a pending, due row without a live lease) and commits; it talks to
the outside world with no transaction open; then it records the outcome in another short
transaction, only if its token is still on the row. On PostgreSQL `SELECT ... FOR UPDATE
SKIP LOCKED` picks the row, so senders do not queue behind each other; on SQLite the
claim's BEGIN IMMEDIATE serialises claims.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, or_, select, update
from sqlalchemy import inspect as sa_inspect

from eventsite import database
from eventsite.extensions import db

Row = TypeVar("Row", bound=Any)

PENDING = "pending"


def claimable(model: type[Any], now: datetime) -> ColumnElement[bool]:
    """Pending, due, and nobody's: no lease, or one that has run out."""
    return and_(
        model.status == PENDING,
        model.next_attempt_at <= now,
        or_(model.lease_expires_at.is_(None), model.lease_expires_at <= now),
    )


def _next_claimable(model: type[Any], now: datetime, ids: Sequence[int] | None) -> Select[Any]:
    stmt = (
        select(model.id)
        .where(claimable(model, now))
        .order_by(model.next_attempt_at, model.id)
        .limit(1)
        # PostgreSQL: a row another sender is claiming right now is skipped, not waited
        # for. SQLite ignores this; the claim's short BEGIN IMMEDIATE serialises claims.
        .with_for_update(skip_locked=True)
    )
    if ids is not None:
        stmt = stmt.where(model.id.in_(ids))
    return stmt


def claim(
    model: type[Row], now: datetime, lease: timedelta, ids: Sequence[int] | None = None
) -> Row | None:
    """Lease the next claimable row (of `ids`, if given) in one short transaction,
    committed before anything is sent. Returns a copy of the row, outside the session, or
    None when nothing is left to claim."""
    session = db.session()
    expires_at = now + lease
    for _attempt in range(3):  # a row taken between the SELECT and the UPDATE: the next one
        database.lock_for_write()  # SQLite: BEGIN IMMEDIATE; PostgreSQL: no-op
        row_id = session.scalar(_next_claimable(model, now, ids))
        if row_id is None:
            session.rollback()
            return None
        token = secrets.token_hex(16)
        # The UPDATE checks the claim again, whatever the SELECT saw: only one sender's
        # UPDATE can match a row without a live lease.
        claimed = session.execute(
            update(model)
            .where(model.id == row_id, claimable(model, now))
            .values(lease_token=token, lease_expires_at=expires_at)
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed == 1:
            row = session.scalars(
                select(model).where(model.id == row_id).execution_options(populate_existing=True)
            ).one()
            # A copy outside the session: the commit expires the session's objects, and
            # reading one again would open a transaction while the sender waits.
            columns = sa_inspect(model).column_attrs
            copy = model(**{c.key: getattr(row, c.key) for c in columns})
            session.commit()
            return copy
        session.rollback()
    return None


def keep(model: type[Any], row: Any, values: dict[str, Any]) -> bool:
    """Write `values` to the row and keep the lease, in one short transaction, if this
    sender still holds it (work done before sending, such as rendering). Returns False
    when the lease has run out and another sender took the row."""
    session = db.session()
    database.lock_for_write()
    kept = session.execute(
        update(model)
        .where(model.id == row.id, model.lease_token == row.lease_token)
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    return kept == 1


def record(model: type[Any], row: Any, values: dict[str, Any]) -> bool:
    """Write the outcome and end the lease, in one short transaction, if this sender
    still holds the lease. Returns False when it had run out and another sender took the
    row: that sender's outcome stands."""
    session = db.session()
    database.lock_for_write()
    recorded = session.execute(
        update(model)
        .where(model.id == row.id, model.lease_token == row.lease_token)
        .values(lease_token=None, lease_expires_at=None, **values)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    return recorded == 1
