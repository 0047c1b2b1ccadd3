"""Ids are never handed out twice, so an old link or audit entry cannot name someone else."""

from __future__ import annotations

import pytest
from sqlalchemy import Integer, text

from eventsite.extensions import db
from eventsite.models import Registration, User
from eventsite.registration import services as registration_services
from eventsite.timeutil import utcnow


def test_the_id_of_a_deleted_account_is_never_given_to_a_new_one(app, make_user) -> None:
    make_user()
    leaving = make_user()
    leaving_id = leaving.id
    db.session.delete(leaving)
    db.session.commit()

    newcomer = make_user()

    assert newcomer.id > leaving_id
    assert db.session.get(User, leaving_id) is None


def test_the_id_of_a_deleted_registration_is_never_given_again(app, make_user, make_event) -> None:
    event = make_event()
    registration_services.register_attendee(make_user(), event, {}, utcnow())
    leaving = make_user()
    gone = registration_services.register_attendee(leaving, event, {}, utcnow())
    db.session.commit()
    gone_id = gone.id
    db.session.delete(leaving)  # the registration goes with the account
    db.session.commit()
    assert db.session.get(Registration, gone_id) is None

    later = registration_services.register_attendee(make_user(), event, {}, utcnow())
    db.session.commit()

    assert later.id > gone_id


def test_every_table_with_a_generated_id_is_declared_autoincrement(app, backend) -> None:
    """SQLite reuses the largest id after a delete unless the table says AUTOINCREMENT;
    a new model gets it without asking (eventsite.extensions)."""
    if backend != "sqlite":
        pytest.skip("PostgreSQL ids come from sequences, which never reuse a number")
    generated = [
        table.name
        for table in db.metadata.sorted_tables
        if len(table.primary_key.columns) == 1
        and isinstance(next(iter(table.primary_key.columns)).type, Integer)
        and next(iter(table.primary_key.columns)).autoincrement is not False
        and not next(iter(table.primary_key.columns)).foreign_keys
    ]
    assert {"users", "registrations", "audit_entries", "outbox_messages"} <= set(generated)
    with db.engine.connect() as conn:
        rows = conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'table'"))
        schema = dict(rows.all())
    assert [name for name in generated if "AUTOINCREMENT" not in schema[name]] == []
