"""Direct reads (`database.read_directly`): the stamp and the places a listing reads on every
request, run on a driver connection from the pool. They give what the session gives, only
where the session would see the same, and never keep a connection past the request."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import (
    Column,
    Insert,
    Integer,
    MetaData,
    Table,
    bindparam,
    func,
    insert,
    literal_column,
    select,
    update,
)
from sqlalchemy import event as sa_event
from sqlalchemy import exc as sa_exc
from sqlalchemy import inspect as sa_inspect

from eventsite import catalogue, database
from eventsite.events import queries as event_queries
from eventsite.extensions import db
from eventsite.models import Event, OutboxMessage
from eventsite.registration import queries
from eventsite.registration.models import Registration, RegistrationStatus
from eventsite.timeutil import utcnow


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    """Every page rendered: the page cache's own read would come first."""
    return {**app_config, "PAGE_CACHE_ENABLED": False}


@pytest.fixture
def session_begins(app: Flask):
    """The transactions the engine begins (the session's; a direct read begins none)."""
    begun: list[object] = []

    def record(connection: object) -> None:
        begun.append(connection)

    sa_event.listen(db.engine, "begin", record)
    yield begun
    sa_event.remove(db.engine, "begin", record)


def _fresh_session() -> None:
    db.session.remove()


def test_the_stamp_read_directly_is_the_stamp_the_session_reads(app, make_event) -> None:
    make_event()
    _fresh_session()
    with app.test_request_context("/events/"):
        assert database.can_read_directly()
        direct = catalogue.request_stamp()
        assert not db.session().in_transaction()  # read beside the session
    assert direct == catalogue.current(db.session)
    assert direct.changed_at.tzinfo is not None and direct.version >= 1


def test_places_read_directly_are_the_places_the_session_counts(
    app, make_event, make_user, make_registration
) -> None:
    first, second, untouched = make_event(capacity=10), make_event(), make_event()
    people = [make_user() for _ in range(4)]
    make_registration(people[0], first)
    make_registration(people[1], first, status=RegistrationStatus.WAITLISTED)
    make_registration(people[2], second, status=RegistrationStatus.PENDING)
    held = make_registration(people[3], second, status=RegistrationStatus.PENDING)
    now = utcnow()
    # A hold that ran out a minute ago: left out, which only a correctly bound `now` does.
    db.session.execute(
        update(Registration)
        .where(Registration.id == held.id)
        .values(hold_expires_at=now - timedelta(minutes=1))
    )
    db.session.commit()
    events = [first, second, untouched]
    expected = queries.count_places_by_event(events, now)
    _fresh_session()
    with app.test_request_context("/events/"):
        assert database.can_read_directly()
        direct = queries.count_places_by_event(events, now)
        assert not db.session().in_transaction()
    assert direct == expected
    assert direct[first.id] == queries.PlaceCounts(confirmed=1, waitlisted=1)
    assert direct[second.id] == queries.PlaceCounts(pending=1)
    assert direct[untouched.id] == queries.PlaceCounts()


def test_a_warm_listing_begins_no_session_transaction_and_keeps_no_connection(
    app, client, make_event, session_begins, count_queries
) -> None:
    make_event(title="Water and health", capacity=100)
    client.get("/events/")
    _fresh_session()
    session_begins.clear()
    with count_queries() as counted:
        page = client.get("/events/").get_data(as_text=True)
    assert "Water and health" in page
    assert session_begins == []
    assert counted.count == 2, counted.statements  # the stamp and the places, heard too
    assert "catalogue_versions" in counted.statements[0]
    assert db.engine.pool.checkedout() == 0  # the direct connection went back


def test_where_the_session_may_hold_its_own_changes_it_reads_itself(app, make_event) -> None:
    event = make_event()
    with app.test_request_context("/events/", method="POST"):
        assert not database.can_read_directly()  # a form's request: it may have written
    with app.test_request_context("/events/"):
        assert event.title  # the session began (a read): what follows reads through it
        assert not database.can_read_directly()
        db.session.execute(update(Event).where(Event.id == event.id).values(title="Renamed"))
        assert catalogue.request_stamp() == catalogue.current(db.session)
    db.session.rollback()


def test_a_failed_direct_read_raises_sqlalchemys_error_and_gives_its_connection_back(
    app, make_event
) -> None:
    """SQLAlchemy's error, as from the session (the site's 503 page catches its
    OperationalError: `test_database_timeouts`), and the connection is not kept."""
    make_event()
    _fresh_session()
    with app.test_request_context("/events/"):
        with pytest.raises(sa_exc.DBAPIError) as raised:
            database.read_directly(
                "no such column", lambda: select(literal_column("no_such_column")), {}
            )
        assert "no_such_column" in str(raised.value)
        assert db.engine.pool.checkedout() == 0
        assert catalogue.request_stamp().version >= 1  # the next read takes another
        assert db.engine.pool.checkedout() == 1
    assert db.engine.pool.checkedout() == 0


def test_a_warm_event_page_reads_the_event_directly(
    app, client, make_event, session_begins, count_queries
) -> None:
    event = make_event(title="Soil and water", description="Roots **deep**.", capacity=40)
    slug = event.slug
    client.get(f"/events/{slug}")
    _fresh_session()
    session_begins.clear()
    with count_queries() as counted:
        page = client.get(f"/events/{slug}").get_data(as_text=True)
    assert "Soil and water" in page and "<strong>deep</strong>" in page
    assert session_begins == []
    assert counted.count == 2, counted.statements  # the event with the stamp, the places
    assert db.engine.pool.checkedout() == 0


def test_an_adopted_event_loads_what_it_was_not_read_with(app, make_event) -> None:
    """The event a direct read gave is the session's: its description (not read) and its
    organisation load when first used, as from the session's own query."""
    event = make_event(description="The long text.")
    slug, organisation = event.slug, event.organisation.name
    _fresh_session()
    with app.test_request_context(f"/events/{slug}"):
        adopted = event_queries.get_public_event_and_stamp_or_404(slug)
        assert adopted in db.session()
        assert "description" not in adopted.__dict__
        assert adopted.description == "The long text."
        assert adopted.organisation.name == organisation
        assert catalogue.request_stamp() == catalogue.current(db.session)


def test_an_adopted_row_is_the_sessions_as_though_it_had_loaded_it(app, make_event) -> None:
    """Persistent and unchanged once adopted; a change to it is written as an UPDATE of
    that row (never an INSERT), and what it was not read with loads when asked for."""
    event = make_event(title="Adopted Forum", capacity=9)
    event_id, slug = event.id, event.slug
    _fresh_session()
    keys = ("id", "slug", "title", "capacity")
    with app.test_request_context(f"/events/{slug}"):
        row = database.read_directly(
            "adopt test", lambda: select(Event.id, Event.slug, Event.title, Event.capacity), {}
        )
        values = next(dict(zip(keys, r, strict=True)) for r in row if r[0] == event_id)
        adopted = database.adopt(Event, values)
        state = sa_inspect(adopted)
        assert state.persistent and adopted in db.session()
        assert not db.session.is_modified(adopted) and not db.session.dirty
        assert database.adopt(Event, values) is adopted  # the identity map's own
        assert "starts_at" not in adopted.__dict__ and adopted.starts_at is not None
    adopted.title = "Renamed Forum"
    assert list(db.session.dirty) == [adopted]
    db.session.commit()
    _fresh_session()
    assert db.session.get(Event, event_id).title == "Renamed Forum"
    assert db.session.scalar(select(func.count()).select_from(Event)) == 1


def test_a_logged_in_page_reads_the_person_and_their_memberships_in_one_statement(
    app, client, login, make_organisation, make_member, count_queries
) -> None:
    """Every logged-in request reads its person first, with the memberships the header's
    Workspace link asks for: one statement straight from the driver, nothing loaded later."""
    organisation = make_organisation(name="Climate Forum")
    member = make_member(organisation, name="Amina Diallo")
    login(member)
    client.get("/events/")
    _fresh_session()
    with count_queries() as counted:
        page = client.get("/events/").get_data(as_text=True)
    assert "Workspace" in page
    person = [s for s in counted.statements if "FROM users" in s]
    assert len(person) == 1 and "memberships" in person[0], counted.statements
    assert not any(s.lstrip().startswith("SELECT memberships") for s in counted.statements)
    assert db.engine.pool.checkedout() == 0


def test_a_registration_post_reads_before_the_lock_on_one_connection(
    app, client, login, make_event, make_user, count_queries
) -> None:
    """The person, the event and its questions are read without the ORM on the session's
    own connection (`reads_before_locking`): one checkout for the whole POST, and the
    registration it writes is the one the database keeps."""
    event = make_event(capacity=3)
    user = make_user(name="Kenji Sato")
    login(user)
    db.session.commit()
    slug, event_id, user_id = event.slug, event.id, user.id
    _fresh_session()
    checkouts: list[object] = []

    def checked_out(*_args: object) -> None:
        checkouts.append(_args[0])

    sa_event.listen(db.engine.pool, "checkout", checked_out)
    try:
        with count_queries() as counted:
            response = client.post(f"/events/{slug}/register", data={})
    finally:
        sa_event.remove(db.engine.pool, "checkout", checked_out)
    assert response.status_code == 302
    assert len(checkouts) == 1, counted.statements
    assert db.engine.pool.checkedout() == 0
    assert "FROM users" in " ".join(counted.statements[:3])
    row = db.session.execute(
        select(Registration.status).where(
            Registration.event_id == event_id, Registration.user_id == user_id
        )
    ).one()
    assert row.status == RegistrationStatus.CONFIRMED


def _outbox_insert() -> Insert:
    table = OutboxMessage.__table__
    return database.insert_of_every_column(table).returning(*table.c)


def test_an_insert_in_session_gives_the_other_columns_their_python_defaults(app) -> None:
    """What Core's INSERT would write: the columns not given take their defaults (a value,
    a function); the row is the session's to commit, and reads back the same."""
    table = OutboxMessage.__table__
    given = {"message_id": "<direct@example.org>", "to_address": "amina@example.org"}
    given |= {"subject": "Your place", "body_text": "See you in Nairobi."}
    with app.test_request_context("/events/", method="POST"):
        rows = database.insert_in_session("outbox test", _outbox_insert, table, given)
        row = dict(zip(table.c.keys(), rows[0], strict=True))
        db.session.commit()
    assert (row["category"], row["attempts"], row["last_error"]) == ("", 0, "")
    assert row["status"] == "pending" and row["attachments"] == []
    assert abs(row["created_at"] - utcnow()) < timedelta(minutes=1)
    stored = db.session.get(OutboxMessage, row["id"])
    assert stored is not None and stored.subject == "Your place" and stored.attempts == 0


def test_an_insert_in_session_refuses_to_write_null_over_a_server_default(app) -> None:
    table = Table(
        "with_server_default",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("n", Integer, server_default="1"),
    )
    refused = pytest.raises(ValueError, match="server default")
    with app.test_request_context("/events/", method="POST"), refused:
        database.insert_in_session("never run", lambda: insert(table), table, {})


def test_a_failed_read_in_the_session_leaves_the_next_read_working(app, make_event) -> None:
    """Reads share a driver cursor per connection (`database._kept_cursor`); one that fails
    is dropped, so the transaction that follows reads as before."""
    event = make_event(capacity=7)
    event_id = event.id
    db.session.commit()
    with pytest.raises(sa_exc.DBAPIError):
        database.read_in_session(
            "no such column in session", lambda: select(literal_column("no_such_column")), {}
        )
    db.session.rollback()
    rows = database.read_in_session(
        "capacity in session",
        lambda: select(Event.capacity).where(Event.id == bindparam("event_id")),
        {"event_id": event_id},
    )
    assert [tuple(row) for row in rows] == [(7,)]
