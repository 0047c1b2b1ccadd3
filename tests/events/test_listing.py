"""The public listing: its query string read by the filter form, filtering, searching, paging."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from werkzeug.datastructures import MultiDict

from eventsite.events import forms, listing, services
from eventsite.events.models import (
    EventFormat,
    EventKind,
    EventStatus,
)
from eventsite.extensions import db

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)  # as in tests/conftest.py


def listed(filters: listing.ListingFilters, period=listing.Period.UPCOMING, now=NOW):
    stmt = listing.list_public_events(filters, period=period, now=now)
    return [event.slug for event in db.session.scalars(stmt)]


# --- parsing ---------------------------------------------------------------------------------


def parse(args: dict[str, str]) -> tuple[listing.ListingFilters, list[str]]:
    """As the listing and the feeds read their query string."""
    form = forms.ListingFilterForm(formdata=MultiDict(args))
    form.validate()
    filters, messages = listing.known_filters(form.filters())
    return filters, form.messages() + messages


def parsed_form(args: dict[str, str]) -> forms.ListingFilterForm:
    form = forms.ListingFilterForm(formdata=MultiDict(args))
    form.validate()
    return form


def test_the_filter_form_reads_every_filter(make_topic, make_organisation) -> None:
    make_topic("Climate", "climate")
    make_organisation(slug="wsf")
    filters, messages = parse(
        {
            "topic": "climate",
            "organisation": "wsf",
            "kind": "forum",
            "format": "online",
            "country": "ch",
            "from": "2027-01-01",
            "to": "2027-02-01",
            "q": "  vaccines   and  trust ",
        }
    )
    assert messages == []
    assert filters == listing.ListingFilters(
        topic="climate",
        organisation="wsf",
        kind=EventKind.FORUM,
        format=EventFormat.ONLINE,
        country="CH",
        q="vaccines and trust",
        date_from=date(2027, 1, 1),
        date_to=date(2027, 2, 1),
    )
    assert filters.query_args() == {
        "topic": "climate",
        "organisation": "wsf",
        "kind": "forum",
        "format": "online",
        "country": "CH",
        "from": "2027-01-01",
        "to": "2027-02-01",
        "q": "vaccines and trust",
    }
    again, _ = parse(filters.query_args())
    assert again == filters


@pytest.mark.parametrize(
    ("args", "expected_message"),
    [
        ({"topic": "no-such-topic"}, "Unknown topic 'no-such-topic' was ignored."),
        ({"organisation": "nobody"}, "Unknown organisation 'nobody' was ignored."),
        ({"kind": "party"}, "Unknown kind of event 'party' was ignored."),
        ({"format": "telepathy"}, "Unknown format 'telepathy' was ignored."),
        ({"country": "XX"}, "Unknown country 'XX' was ignored."),
        ({"country": "Switzerland"}, "Unknown country 'SWITZERLAND' was ignored."),
        ({"from": "2027-13-01"}, "The 'from' date '2027-13-01' was ignored"),
        ({"to": "yesterday"}, "The 'to' date 'yesterday' was ignored"),
        ({"from": "9999-12-31"}, "The 'from' date '9999-12-31' was ignored"),
        ({"from": "2027-03-01", "to": "2027-02-01"}, "The 'from' date was after the 'to' date"),
    ],
)
def test_the_filter_form_ignores_unusable_values_and_says_so(app, args, expected_message) -> None:
    filters, messages = parse(args)
    assert filters == listing.ListingFilters()
    assert len(messages) == 1
    assert messages[0].startswith(expected_message)


def test_the_filter_form_cleans_the_search_text(app) -> None:
    filters, messages = parse({"q": "a\x00b " + "x" * 5000})
    assert filters.q is not None
    assert "\x00" not in filters.q
    assert len(filters.q) <= listing.MAX_QUERY_LENGTH
    assert messages == ["The search text was shortened to 200 characters."]
    assert parse({"q": "   "})[0].q is None
    # A pasted bell is mended away (forms_common); other control characters are refused.
    filters, messages = parse({"q": "bell \x07 rings"})
    assert filters.q is not None and filters.q.split() == ["bell", "rings"]
    assert messages == []
    filters, messages = parse({"q": "bell \x01 rings"})
    assert filters.q is None
    assert messages == [
        "Please keep this on one line: no line breaks, tabs or invisible control characters."
    ]


@pytest.mark.parametrize(
    ("raw", "number", "has_message"),
    [
        (None, 1, False),
        ("", 1, False),
        ("3", 3, False),
        ("0", 1, True),
        ("-2", 1, True),
        ("abc", 1, True),
        ("1.5", 1, True),
        ("1_000", 1, True),
        ("٣", 1, True),  # a non-ASCII digit
        ("9" * 40, listing.MAX_PAGE, False),
        ("9" * 5000, 1, True),  # past what int() reads
    ],
)
def test_the_page_number(app, raw, number, has_message) -> None:
    form = parsed_form({} if raw is None else {"page": raw})
    assert form.page_number() == number
    assert bool(form.messages()) is has_message
    if has_message:
        [message] = form.messages()
        assert message.startswith(f"Page number '{raw[:10]}") and message.endswith("ignored.")


def test_the_period(app) -> None:
    assert parsed_form({}).period() == listing.Period.UPCOMING
    assert parsed_form({"when": "PAST"}).period() == listing.Period.PAST
    form = parsed_form({"when": "tomorrow"})
    assert form.period() == listing.Period.UPCOMING
    assert form.messages() == ["Unknown period 'tomorrow' was ignored."]


# --- filtering -------------------------------------------------------------------------------


def test_each_filter_narrows_and_they_combine(make_event, make_topic, make_organisation) -> None:
    climate, health = make_topic("Climate", "climate"), make_topic("Health", "health")
    wsf = make_organisation(slug="wsf")
    day = NOW + timedelta(days=40)
    make_event(slug="a", topics=[climate], kind=EventKind.FORUM, country="CH", starts_at=day)
    make_event(
        slug="b",
        topics=[climate, health],
        kind=EventKind.CONFERENCE,
        format=EventFormat.ONLINE,
        country=None,
        organisation=wsf,
        starts_at=day + timedelta(days=10),
    )
    make_event(
        slug="c",
        topics=[health],
        kind=EventKind.FORUM,
        country="KE",
        organisation=wsf,
        starts_at=day + timedelta(days=20),
    )
    F = listing.ListingFilters

    assert sorted(listed(F(topic="climate"))) == ["a", "b"]
    assert sorted(listed(F(kind=EventKind.FORUM))) == ["a", "c"]
    assert listed(F(format=EventFormat.ONLINE)) == ["b"]
    assert listed(F(country="KE")) == ["c"]
    assert sorted(listed(F(organisation="wsf"))) == ["b", "c"]
    assert listed(F(topic="climate", kind=EventKind.FORUM)) == ["a"]
    assert listed(F(topic="health", organisation="wsf", kind=EventKind.FORUM)) == ["c"]
    assert listed(F(topic="climate", country="KE")) == []
    # Date range: any overlap with the days given.
    assert listed(F(date_from=day.date(), date_to=day.date())) == ["a"]
    assert listed(F(date_from=(day + timedelta(days=5)).date())) == ["b", "c"]
    assert listed(F(date_to=(day + timedelta(days=10)).date())) == ["a", "b"]


def test_search_matches_title_summary_description_and_speakers(
    make_event, make_session, make_speaker
) -> None:
    make_event(slug="t", title="Vaccines for Everyone")
    make_event(slug="s", summary="About green hydrogen")
    make_event(slug="d", description="We discuss **connectivity** in rural areas.")
    spoken = make_event(slug="p")
    make_session(spoken, speakers=[make_speaker("Grace Hopper-Okafor")])
    F = listing.ListingFilters

    assert listed(F(q="VACCINES")) == ["t"]
    assert listed(F(q="hydrogen")) == ["s"]
    assert listed(F(q="connectivity rural")) == ["d"]  # every word must match
    assert listed(F(q="connectivity cities")) == []
    assert listed(F(q="okafor")) == ["p"]


def test_search_treats_like_wildcards_literally(make_event) -> None:
    make_event(slug="percent", title="100% renewable")
    make_event(slug="under", title="snake_case naming")
    make_event(slug="plain", title="Nothing special")
    F = listing.ListingFilters

    assert listed(F(q="%")) == ["percent"]
    assert listed(F(q="_")) == ["under"]
    assert listed(F(q="e_c")) == ["under"]
    assert listed(F(q="\\")) == []
    assert listed(F(q="'; drop table events; --")) == []
    assert listed(F(q="🌍")) == []


def test_listing_hides_drafts_and_orders_upcoming_and_past(make_event) -> None:
    make_event(slug="later", starts_at=NOW + timedelta(days=20))
    make_event(slug="sooner", starts_at=NOW + timedelta(days=2))
    make_event(slug="draft", status=EventStatus.DRAFT, starts_at=NOW + timedelta(days=1))
    make_event(slug="cancelled", status=EventStatus.CANCELLED, starts_at=NOW + timedelta(days=5))
    make_event(slug="long-ago", starts_at=NOW - timedelta(days=300))
    make_event(slug="recently", starts_at=NOW - timedelta(days=3))
    # Started but not ended: still upcoming (you can still go).
    make_event(slug="running", starts_at=NOW - timedelta(hours=2))

    assert listed(listing.ListingFilters()) == ["running", "sooner", "cancelled", "later"]
    assert listed(listing.ListingFilters(), period=listing.Period.PAST) == [
        "recently",
        "long-ago",
    ]


def test_has_public_events_ignores_drafts(make_event) -> None:
    assert listing.has_public_events() is False
    event = make_event(status=EventStatus.DRAFT, published_at=None)
    assert listing.has_public_events() is False
    services.publish_event(event, NOW)
    db.session.commit()
    assert listing.has_public_events() is True


def test_paginate_counts_and_stops_past_the_end(make_event) -> None:
    for _ in range(5):
        make_event()
    stmt = listing.list_public_events(listing.ListingFilters(), period="upcoming", now=NOW)
    page = listing.paginate_events(lambda: stmt, 2, 2)
    assert (page.total, page.pages, len(page.items)) == (5, 3, 2)
    assert page.has_previous and page.has_next
    beyond = listing.paginate_events(lambda: stmt, listing.MAX_PAGE, 2)
    assert beyond.items == [] and beyond.is_past_end
    assert listing.Page([], 500, 10, 20).window() == [1, None, 8, 9, 10, 11, 12, None, 25]


def test_public_countries_only_those_with_public_events(make_event) -> None:
    make_event(country="CH")
    make_event(country="KE")
    make_event(country="BR", status=EventStatus.DRAFT)
    make_event(country=None, format=EventFormat.ONLINE)
    assert sorted(listing.public_countries()) == ["CH", "KE"]
