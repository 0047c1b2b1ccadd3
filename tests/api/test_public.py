"""The public read API over HTTP: what it lists and shows, its headers, and bad input."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from eventsite.models import EventFormat, EventStatus, RegistrationStatus

from ..conftest import NOW


def test_events_lists_upcoming_public_events_soonest_first(client, make_event) -> None:
    later = make_event(title="Later forum", starts_at=NOW + timedelta(days=60))
    sooner = make_event(title="Sooner summit", starts_at=NOW + timedelta(days=40))
    make_event(title="Draft", status=EventStatus.DRAFT)
    make_event(title="Over", starts_at=NOW - timedelta(days=400))

    body = client.get("/api/v1/events").get_json()

    assert [e["slug"] for e in body["items"]] == [sooner.slug, later.slug]
    assert body["total"] == 2
    assert body["page"] == 1
    assert body["next"] is None


def test_past_events_are_listed_latest_first(client, make_event) -> None:
    make_event(title="Future")
    old = make_event(starts_at=NOW - timedelta(days=400))
    older = make_event(starts_at=NOW - timedelta(days=500))

    body = client.get("/api/v1/events?when=past").get_json()

    assert [e["slug"] for e in body["items"]] == [old.slug, older.slug]


def test_event_fields_are_iso_times_in_the_events_zone_with_links(client, make_event) -> None:
    event = make_event(
        starts_at=datetime.fromisoformat("2027-03-01T08:00:00+00:00"),
        timezone="Europe/Zurich",
        capacity=10,
        online_url="https://meet.example.org/secret-room",
        format=EventFormat.HYBRID,
    )

    item = client.get("/api/v1/events").get_json()["items"][0]

    assert item["starts_at"] == "2027-03-01T09:00:00+01:00"
    assert item["ends_at"] == "2027-03-01T17:00:00+01:00"
    assert item["timezone"] == "Europe/Zurich"
    assert item["url"] == f"http://localhost/events/{event.slug}"
    assert item["ics_url"] == f"http://localhost/events/{event.slug}.ics"
    assert item["registration"]["capacity"] == 10
    assert item["registration"]["places_left"] == 10
    assert "secret-room" not in str(item)


def test_filters_and_search_match_the_html_listing(client, make_event, make_topic) -> None:
    topic = make_topic("Oceans")
    match = make_event(title="Deep sea mapping", topics=[topic], format=EventFormat.ONLINE)
    make_event(title="Deep sea mapping in person", topics=[topic])
    make_event(title="Something else", format=EventFormat.ONLINE)

    body = client.get("/api/v1/events?topic=oceans&format=online&q=deep+SEA").get_json()

    assert [e["slug"] for e in body["items"]] == [match.slug]
    assert body["items"][0]["topics"] == [{"slug": "oceans", "name": "Oceans"}]
    html = client.get("/events/?topic=oceans&format=online&q=deep+SEA").get_data(as_text=True)
    assert "Deep sea mapping" in html
    assert "Deep sea mapping in person" not in html


def test_paging_links_carry_the_filters(client, make_event) -> None:
    for _ in range(3):
        make_event(format=EventFormat.ONLINE)

    first = client.get("/api/v1/events?format=online&per_page=2").get_json()
    second = client.get(first["next"].removeprefix("http://localhost")).get_json()

    assert first["pages"] == 2
    assert "format=online" in first["next"]
    assert len(second["items"]) == 1
    assert "page=1" in second["previous"]


def test_event_detail_has_agenda_speakers_and_places(
    client, make_event, make_session, make_speaker, make_user, make_registration
) -> None:
    event = make_event(capacity=3, online_url="https://meet.example.org/secret-room")
    ada = make_speaker("Ada Example", affiliation="Example University")
    make_session(event, speakers=[ada], title="Opening", room="Hall A")
    make_registration(make_user(), event)
    make_registration(make_user(), event, status=RegistrationStatus.PENDING)

    response = client.get(f"/api/v1/events/{event.slug}")
    body = response.get_json()

    assert response.status_code == 200
    assert body["agenda"][0]["title"] == "Opening"
    assert body["agenda"][0]["room"] == "Hall A"
    assert body["agenda"][0]["speaker_ids"] == [ada.id]
    assert body["speakers"] == [
        {
            "id": ada.id,
            "name": "Ada Example",
            "affiliation": "Example University",
            "country": None,
            "honours": "",
            "bio": "",
        }
    ]
    assert (body["registration"]["confirmed"], body["registration"]["pending"]) == (1, 1)
    assert body["registration"]["places_left"] == 1
    assert body["registration"]["state"] == "open"
    assert body["description"] == event.description
    assert "secret-room" not in response.get_data(as_text=True)


def test_drafts_and_unknown_events_are_json_404(client, make_event) -> None:
    draft = make_event(status=EventStatus.DRAFT)

    for path in (f"/api/v1/events/{draft.slug}", "/api/v1/events/nothing-here", "/api/v1/nope"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.mimetype == "application/json"
        assert response.get_json()["code"] == 404


def test_topics_and_organisations(client, make_topic, make_organisation) -> None:
    make_topic("Oceans", description="Seas")
    make_organisation(name="Beta", slug="beta", website="https://beta.example.org")
    make_organisation(name="Alpha", slug="alpha")

    topics = client.get("/api/v1/topics").get_json()
    organisations = client.get("/api/v1/organisations?per_page=1").get_json()

    assert topics["items"] == [
        {
            "slug": "oceans",
            "name": "Oceans",
            "description": "Seas",
            "url": "http://localhost/topics/oceans",
        }
    ]
    assert organisations["items"][0]["slug"] == "alpha"
    assert organisations["total"] == 2
    assert organisations["next"] is not None


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("bogus=1", "bogus"),
        ("page=0", "page"),
        ("page=abc", "page"),
        ("page=99999999999999999999", "page"),
        ("per_page=101", "per_page"),
        ("kind=party", "kind"),
        ("from=2026-13-01", "from"),
        ("from=0001-01-01", "from"),
        ("country=Switzerland", "country"),
        ("q=a%00b", "q"),
        ("topic=Not%20A%20Slug", "topic"),
        ("when=someday", "when"),
    ],
)
def test_bad_query_is_a_json_400_naming_the_field(client, query, field) -> None:
    response = client.get(f"/api/v1/events?{query}")

    assert response.status_code == 400
    body = response.get_json()
    assert body["message"]
    assert field in body["errors"]["query"]


def test_unknown_topic_or_organisation_is_a_404_saying_so(client) -> None:
    topic = client.get("/api/v1/events?topic=nothing")
    organisation = client.get("/api/v1/events?organisation=nobody")

    assert topic.status_code == organisation.status_code == 404
    assert topic.get_json()["message"] == "There is no topic 'nothing'."
    assert organisation.get_json()["message"] == "There is no organisation 'nobody'."


def test_dates_in_the_wrong_order_are_refused(client) -> None:
    response = client.get("/api/v1/events?from=2027-02-01&to=2027-01-01")

    assert response.status_code == 400
    assert "to" in response.get_json()["errors"]["query"]


def test_a_page_past_the_end_is_a_404_saying_where_it_ends(client, make_event) -> None:
    make_event()

    response = client.get("/api/v1/events?page=5")

    assert response.status_code == 404
    assert "end at page 1" in response.get_json()["message"]


def test_writing_to_the_public_api_is_a_json_405(client) -> None:
    response = client.post("/api/v1/events", json={})

    assert response.status_code == 405
    assert response.get_json()["code"] == 405
    assert "GET" in response.headers["Allow"]


def test_public_responses_allow_any_origin_and_are_cacheable(client, make_event) -> None:
    event = make_event()

    response = client.get(f"/api/v1/events/{event.slug}", headers={"Origin": "https://x.example"})

    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Cache-Control"] == "public, max-age=60"
    etag = response.headers["ETag"]
    again = client.get(f"/api/v1/events/{event.slug}", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.get_data() == b""


def test_etag_changes_when_a_place_is_taken(client, make_event, make_user, make_registration):
    event = make_event(capacity=5)
    etag = client.get(f"/api/v1/events/{event.slug}").headers["ETag"]

    make_registration(make_user(), event)
    response = client.get(f"/api/v1/events/{event.slug}", headers={"If-None-Match": etag})

    assert response.status_code == 200
    assert response.get_json()["registration"]["places_left"] == 4


def test_listing_runs_a_fixed_number_of_queries(
    client, make_event, make_topic, make_organisation, count_queries
) -> None:
    topic = make_topic("Oceans")
    organisation = make_organisation()
    make_event(topics=[topic], organisation=organisation)
    client.get("/api/v1/events")  # warm up: first request loads what every request shares
    with count_queries() as few:
        client.get("/api/v1/events")
    for _ in range(15):
        make_event(topics=[topic], organisation=make_organisation())
    client.get("/api/v1/events")  # the new catalogue's count and page ids, read once
    with count_queries() as many:
        body = client.get("/api/v1/events").get_json()

    assert len(body["items"]) == 16
    assert many.count == few.count


@pytest.mark.usefixtures("rate_limits_on")
def test_api_is_rate_limited_with_a_json_429(client) -> None:
    codes = [client.get("/api/v1/topics").status_code for _ in range(3)]
    response = client.get("/api/v1/events")

    assert codes == [200, 200, 429]
    assert response.status_code == 429, "every address of the API counts together"
    assert response.get_json()["code"] == 429
