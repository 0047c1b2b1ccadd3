"""The listing's text search is index-backed (FTS5 trigram on SQLite, GIN trigram on
PostgreSQL) and still means: every word appears in the event's text, as a substring."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select, text

from eventsite.events import listing
from eventsite.events.models import Event, EventStatus
from eventsite.extensions import db

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)  # as in tests/conftest.py
F = listing.ListingFilters


def listed(filters: listing.ListingFilters) -> list[str]:
    stmt = listing.list_public_events(filters, period=listing.Period.UPCOMING, now=NOW)
    return [event.slug for event in db.session.scalars(stmt)]


TITLES = {
    "percent": "100% renewable energy, %%% off",
    "under": "snake_case naming for data_science",
    "quotes": "It's the \"people's\" forum",
    "emoji": "Climate 🌍🌍 action 🌍 now",
    "accents": "École d'été à Zürich — Ångström café",
    "short": "AI in ML at EU level",
    "slash": "back\\slash and C:\\path",
    "plain": "Open science and trust",
}
WORDS = [
    "a", "ai", "eu", "ml", "at", "%", "_", "0%", "100%", "e_c", "%%%", "s's", "e's", "'s\"",
    "data_sci", "%re", "_case",
    "'", "it's", '"people', "\\", "\\sla", "c:\\pa", "🌍", "🌍🌍", "🌍🌍 action", "école",
    "ÉCOLE", "zürich", "ångström", "été", "ete", "science trust", "science cities", "sci",
    "renewable energy", "ENERGY", "naming", "nothing", "'; drop table events; --",
]  # fmt: skip


def expected(q: str) -> list[str]:
    """What a plain substring scan over the stored text finds, in listing order."""
    words = q.lower().split()
    rows = db.session.execute(
        select(Event.slug, Event.search_text).order_by(Event.starts_at, Event.id)
    ).all()
    return [slug for slug, stored in rows if all(word in stored for word in words)]


def test_search_finds_what_a_plain_substring_scan_finds(make_event) -> None:
    for slug, title in TITLES.items():
        make_event(slug=slug, title=title, summary="", description="")

    for q in WORDS:
        assert listed(F(q=q)) == expected(q), q
    # The reference itself is not vacuous.
    assert expected("%") == ["percent"]
    assert expected("%%%") == ["percent"]
    assert expected("'s\"") == ["quotes"]
    assert expected("ai") == ["short"]
    assert expected("🌍🌍 action") == ["emoji"]
    assert expected("école") == ["accents"]


def _plan(q: str) -> str:
    stmt = listing.apply_listing_filters(select(Event.id), F(q=q))
    dialect = db.session.get_bind().dialect
    sql = str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    if dialect.name == "sqlite":
        rows = db.session.execute(text(f"EXPLAIN QUERY PLAN {sql}")).all()
        return "\n".join(row[-1] for row in rows)
    db.session.execute(text("SET LOCAL enable_seqscan = off"))
    return "\n".join(db.session.execute(text(f"EXPLAIN {sql}")).scalars())


def test_search_uses_the_trigram_index(make_event, backend: str) -> None:
    make_event(slug="h", title="Green hydrogen", summary="", description="")

    plan = _plan("hydrogen")
    if backend == "sqlite":
        # "INDEX 0:M…": FTS5 answers a MATCH from its trigram index.
        assert "SCAN events_fts VIRTUAL TABLE INDEX 0:M" in plan, plan
        assert "SCAN events\n" not in plan + "\n", plan
    else:
        assert "ix_events_search_text_trgm" in plan, plan
    # Wildcards and quotes are plain characters to the index too.
    index = "INDEX 0:M" if backend == "sqlite" else "ix_events_search_text_trgm"
    assert index in _plan('snake_case "quoted"')
    db.session.rollback()


def _fts_is_consistent(backend: str) -> None:
    """SQLite's FTS5 check of the trigram index against the events table (it raises
    'database disk image is malformed' when they disagree)."""
    if backend == "sqlite":
        db.session.execute(
            text("INSERT INTO events_fts(events_fts, rank) VALUES ('integrity-check', 1)")
        )


def test_edits_are_found_right_after_commit(
    make_event, make_session, make_speaker, backend: str
) -> None:
    event = make_event(title="Open Science", summary="", description="Plain words")
    speaker = make_speaker("Ada Lovelace")
    make_session(event, speakers=[speaker], title="Keynote")
    assert listed(F(q="lovelace keynote")) == [event.slug]

    event = db.session.get(Event, event.id)
    event.title = "Closed Hydrogen Summit"
    event.description = "About **electrolysers**"
    db.session.commit()
    assert listed(F(q="hydrogen electrolysers")) == [event.slug]
    assert listed(F(q="science")) == []
    assert listed(F(q="plain")) == []

    speaker.name = "Grace Hopper"
    db.session.commit()
    assert listed(F(q="hopper")) == [event.slug]
    assert listed(F(q="lovelace")) == []
    _fts_is_consistent(backend)


def test_deleted_events_disappear_from_search(make_event, backend: str) -> None:
    kept = make_event(title="Hydrogen valley", summary="", description="")
    gone = make_event(title="Hydrogen island", summary="", description="")
    assert listed(F(q="hydrogen")) == [kept.slug, gone.slug]

    db.session.delete(gone)
    db.session.commit()
    assert listed(F(q="hydrogen")) == [kept.slug]
    assert listed(F(q="island")) == []
    _fts_is_consistent(backend)


def test_rows_written_without_the_orm_are_searchable(make_event, backend: str) -> None:
    """Bulk Core inserts (demo data, the benchmark) are indexed by the database itself."""
    template = make_event(title="Template", summary="", description="")
    starts_at = NOW + timedelta(days=3)
    rows = [
        {
            "slug": f"bulk-{n}",
            "title": f"Bulk {n}",
            "kind": template.kind,
            "summary": "",
            "description": "",
            "description_text": "",
            "starts_at": starts_at + timedelta(hours=n),
            "ends_at": starts_at + timedelta(hours=n + 1),
            "timezone": "UTC",
            "is_all_day": False,
            "venue_name": "",
            "venue_address": "",
            "city": "",
            "format": template.format,
            "status": EventStatus.PUBLISHED,
            "cancellation_reason": "",
            "has_waiting_list": False,
            "requires_approval": False,
            "organisation_id": template.organisation_id,
            "search_text": f"bulk {n} {'geothermal' if n % 2 else 'tidal'}",
            "revision": 0,
            "created_at": NOW,
            "updated_at": NOW,
        }
        for n in range(6)
    ]
    db.session.execute(insert(Event), rows)
    db.session.commit()
    assert listed(F(q="geothermal")) == ["bulk-1", "bulk-3", "bulk-5"]

    db.session.execute(
        Event.__table__.update()
        .where(Event.slug == "bulk-0")
        .values(search_text="bulk 0 geothermal")
    )
    db.session.commit()
    assert listed(F(q="geothermal")) == ["bulk-0", "bulk-1", "bulk-3", "bulk-5"]
    _fts_is_consistent(backend)


@pytest.mark.parametrize("q", ["ai", "a_", "%%", "🌍"])
def test_short_words_fall_back_to_a_plain_scan(make_event, q: str) -> None:
    make_event(slug="x", title="AI a_ %% 🌍", summary="", description="")
    make_event(slug="y", title="nothing here", summary="", description="")
    assert listed(F(q=q)) == ["x"]


# --- where and who ------------------------------------------------------------------------------


@pytest.fixture
def places(make_event, make_organisation) -> dict[str, Event]:
    water = make_organisation(name="Alpine Water Council", slug="alpine-water")
    return {
        "nairobi": make_event(
            slug="nairobi", title="Soil health", summary="", description="",
            venue_name="Lakeside Pavilion", city="Nairobi", country="KE",
            timezone="Africa/Nairobi",
        ),
        "geneva": make_event(
            slug="geneva", title="Glaciers", summary="", description="",
            venue_name="Palais des Nations", city="Geneva", country="CH", organisation=water,
        ),
        "online": make_event(
            slug="online", title="Data", summary="", description="",
            venue_name="", city="", country=None, format="online",
        ),
    }  # fmt: skip


@pytest.mark.parametrize(
    ("q", "found"),
    [
        ("Kenya", ["nairobi"]),  # the country's English name, from the code KE
        ("Kenia", ["nairobi"]),  # …and in other languages (German, Spanish)
        ("Suisse", ["geneva"]),  # Switzerland in French
        ("Geneva", ["geneva"]),  # the city
        ("Lakeside", ["nairobi"]),  # the venue
        ("palais nations", ["geneva"]),
        ("alpine water", ["geneva"]),  # the organisation
        ("Nairobi soil", ["nairobi"]),  # a place and a subject together
        ("Kenya glaciers", []),
    ],
)
def test_search_finds_events_by_place_venue_and_organisation(
    client, places, q: str, found: list[str]
) -> None:
    assert listed(F(q=q)) == found
    html = client.get("/events/", query_string={"q": q}).get_data(as_text=True)
    for slug, event in places.items():
        assert (f'href="/events/{event.slug}"' in html) == (slug in found), (q, slug)


def test_a_search_by_place_uses_the_trigram_index(places, backend: str) -> None:
    index = "INDEX 0:M" if backend == "sqlite" else "ix_events_search_text_trgm"
    for q in ("kenya", "lakeside", "alpine water"):
        assert index in _plan(q), q
    db.session.rollback()


def test_renamed_organisations_and_moved_events_are_found_where_they_are_now(
    client, login, places, make_user, backend: str
) -> None:
    from eventsite.organisations.models import JoinedVia, Membership

    geneva = places["geneva"]
    member = make_user(name="Member")
    db.session.add(
        Membership(user=member, organisation=geneva.organisation, joined_via=JoinedVia.INVITATION)
    )
    db.session.commit()
    login(member)
    # Renamed on the workspace's organisation page (organisations.services.update_profile).
    response = client.post(
        f"/manage/organisations/{geneva.organisation.id}",
        data={"name": "Glacier Trust", "description": "", "website": ""},
    )
    assert response.status_code == 302
    assert listed(F(q="glacier trust")) == ["geneva"]
    assert listed(F(q="alpine")) == []

    # The event moves: found by its new place only.
    nairobi = db.session.get(Event, places["nairobi"].id)
    nairobi.city, nairobi.country, nairobi.venue_name = "Accra", "GH", "Harbour Hall"
    db.session.commit()
    assert listed(F(q="ghana")) == ["nairobi"]
    assert listed(F(q="harbour accra")) == ["nairobi"]
    assert listed(F(q="kenya")) == listed(F(q="lakeside")) == []
    _fts_is_consistent(backend)
