"""The public pages as a visitor sees them: home, listing, event, topic and organisation pages."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from eventsite.events import services
from eventsite.events.models import EventFormat, EventKind, EventStatus
from eventsite.extensions import db
from eventsite.timeutil import utcnow

PLACEHOLDER = "Our forums and conferences will be announced here soon."


def page_text(response) -> str:
    """The page with entities decoded and Babel's thin and narrow spaces made plain."""
    text = html.unescape(response.get_data(as_text=True))
    return text.replace("\u2009", " ").replace("\u202f", " ")


def listed_titles(response) -> list[str]:
    body = response.get_data(as_text=True)
    return [
        html.unescape(t)
        for t in re.findall(r'class="event-card-title"><a href="[^"]+">([^<]+)</a>', body)
    ]


def soon(days: float) -> datetime:
    return utcnow() + timedelta(days=days)


def last_sunday_of_march(year: int) -> date:
    day = date(year, 3, 31)
    return day - timedelta(days=(day.weekday() + 1) % 7)


# --- home ------------------------------------------------------------------------------------


def test_home_is_the_placeholder_on_an_empty_site(client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    text = page_text(response)
    assert PLACEHOLDER in text
    assert "eventsite" in text
    assert "public health" in text and "digital economy" in text


def test_home_is_still_the_placeholder_with_only_drafts(client, make_event) -> None:
    make_event(title="Secret Summit", status=EventStatus.DRAFT, published_at=None)
    text = page_text(client.get("/"))
    assert PLACEHOLDER in text
    assert "Secret Summit" not in text


def test_home_becomes_the_listing_once_an_event_is_published(client, make_event) -> None:
    event = make_event(title="World Forum", status=EventStatus.DRAFT, published_at=None)
    assert PLACEHOLDER in page_text(client.get("/"))

    services.publish_event(event, utcnow())
    db.session.commit()

    response = client.get("/")
    assert response.status_code == 200
    assert PLACEHOLDER not in page_text(response)
    assert listed_titles(response) == ["World Forum"]
    assert listed_titles(client.get("/events/")) == ["World Forum"]


# --- the listing -----------------------------------------------------------------------------


def test_listing_shows_upcoming_soonest_first_without_drafts_or_past(client, make_event) -> None:
    make_event(title="Later", starts_at=soon(20))
    make_event(title="Sooner", starts_at=soon(2))
    make_event(title="Draft", starts_at=soon(1), status=EventStatus.DRAFT)
    make_event(title="Gone", starts_at=soon(-10))
    response = client.get("/events/")
    assert response.status_code == 200
    assert listed_titles(response) == ["Sooner", "Later"]
    assert "2 upcoming events" in page_text(response)


def test_past_listing_is_most_recent_first(client, make_event) -> None:
    make_event(title="Long ago", starts_at=soon(-400))
    make_event(title="Last month", starts_at=soon(-30))
    make_event(title="Ahead", starts_at=soon(30))
    make_event(title="Old draft", starts_at=soon(-5), status=EventStatus.DRAFT)
    response = client.get("/events/?when=past")
    assert listed_titles(response) == ["Last month", "Long ago"]
    assert "<h1>Past events</h1>" in response.get_data(as_text=True)


def test_listing_entry_shows_the_essentials(
    client, make_event, make_topic, make_organisation
) -> None:
    org = make_organisation(name="World Science Forum", slug="wsf")
    start = datetime(2027, 5, 12, 7, 0, tzinfo=UTC)  # 09:00 in Zurich (CEST)
    make_event(
        title="Open Science",
        kind=EventKind.FORUM,
        organisation=org,
        topics=[make_topic("Climate", "climate"), make_topic("Public health", "health")],
        starts_at=start,
        ends_at=start + timedelta(days=2, hours=8),
        city="Geneva",
        country="CH",
    )
    make_event(title="Webinar", format=EventFormat.ONLINE, country=None, city="")
    make_event(title="Called off", status=EventStatus.CANCELLED)
    text = page_text(client.get("/events/"))
    assert "Forum" in text
    assert "World Science Forum" in text
    assert "12 – 14 May 2027" in text
    assert "09:00 – 17:00 CEST" in text
    assert "Geneva, Switzerland" in text
    assert "Online" in text
    assert 'href="/topics/climate"' in client.get("/events/").get_data(as_text=True)
    assert "Public health" in text
    assert "Cancelled" in text
    assert 'href="/organisations/wsf"' in client.get("/events/").get_data(as_text=True)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("topic=climate", ["Alpha", "Beta"]),
        ("kind=forum", ["Alpha", "Gamma"]),
        ("format=online", ["Beta"]),
        ("country=KE", ["Gamma"]),
        ("q=okonjo", ["Beta"]),
        ("q=HYDROGEN", ["Gamma"]),
        ("topic=climate&kind=forum", ["Alpha"]),
        ("topic=health&country=KE&kind=forum&q=hydrogen", ["Gamma"]),
        ("from=2027-06-05&to=2027-06-12", ["Beta"]),
        ("from=2027-06-05", ["Beta", "Gamma"]),
        ("to=2027-06-01", ["Alpha"]),
    ],
)
def test_filters_narrow_the_listing_and_combine(
    client, make_event, make_topic, make_session, make_speaker, query, expected
) -> None:
    climate, health = make_topic("Climate", "climate"), make_topic("Health", "health")
    make_event(
        title="Alpha",
        kind=EventKind.FORUM,
        topics=[climate],
        country="CH",
        starts_at=datetime(2027, 6, 1, 8, tzinfo=UTC),
    )
    beta = make_event(
        title="Beta",
        kind=EventKind.CONFERENCE,
        format=EventFormat.ONLINE,
        country=None,
        topics=[climate, health],
        starts_at=datetime(2027, 6, 10, 8, tzinfo=UTC),
    )
    make_session(beta, speakers=[make_speaker("Ngozi Okonjo")])
    make_event(
        title="Gamma",
        kind=EventKind.FORUM,
        topics=[health],
        country="KE",
        summary="Green hydrogen for East Africa",
        starts_at=datetime(2027, 6, 20, 8, tzinfo=UTC),
    )
    response = client.get(f"/events/?{query}")
    assert response.status_code == 200
    assert listed_titles(response) == expected


def test_the_filter_form_has_labelled_controls(client, make_event, make_topic) -> None:
    make_topic("Climate", "climate")
    make_event(country="CH")
    make_event(country="KE")
    make_event(country="BR", status=EventStatus.DRAFT)
    body = client.get("/events/?country=KE").get_data(as_text=True)
    for name, label in [
        ("q", "Search"),
        ("topic", "Topic"),
        ("kind", "Kind"),
        ("format", "Format"),
        ("country", "Country"),
        ("from", "From"),
        ("to", "To"),
    ]:
        assert f'<label for="{name}">{label}</label>' in body
        assert f'name="{name}"' in body
    assert 'role="search"' in body
    assert 'method="get"' in body
    assert '<option value="KE" selected>Kenya</option>' in body
    assert '<option value="CH">Switzerland</option>' in body
    assert "Brazil" not in body  # only countries with public events
    assert '<option value="climate">Climate</option>' in body


def test_paging_shows_20_and_keeps_the_filters(client, make_event, make_topic) -> None:
    climate = make_topic("Climate", "climate")
    for n in range(25):
        make_event(title=f"Climate {n:02d}", topics=[climate], starts_at=soon(10 + n))
    make_event(title="Other", starts_at=soon(1))

    first = client.get("/events/?topic=climate")
    assert len(listed_titles(first)) == 20
    assert listed_titles(first)[0] == "Climate 00"
    body = first.get_data(as_text=True)
    next_links = re.findall(r'href="([^"]+)" rel="next"', body)
    assert len(next_links) == 1
    args = parse_qs(urlsplit(html.unescape(next_links[0])).query)
    assert args == {"topic": ["climate"], "page": ["2"]}

    second = client.get(html.unescape(next_links[0]))
    assert listed_titles(second) == [f"Climate {n}" for n in range(20, 25)]
    assert "page 2 of 2" in page_text(second)


def test_a_page_past_the_end_is_empty_with_a_message(client, make_event) -> None:
    make_event(title="Only one")
    for page in ("2", "999999", "9" * 50):
        response = client.get(f"/events/?page={page}")
        assert response.status_code == 200
        assert listed_titles(response) == []
        text = page_text(response)
        assert "the results end at page 1" in text
        assert "Go to the last page" in text


def test_an_empty_result_says_so_and_offers_to_clear(client, make_event, make_topic) -> None:
    make_topic("Climate", "climate")
    make_event(title="Not about climate")
    response = client.get("/events/?topic=climate&kind=summit")
    assert response.status_code == 200
    text = page_text(response)
    assert "No events match these filters." in text
    assert re.search(r'<a class="button secondary" href="/events/">Clear filters</a>', text)


@pytest.mark.parametrize(
    "query",
    [
        "topic=nope",
        "kind=party&format=x&country=ZZ",
        "country=%F0%9F%8C%8D",
        "from=2027-02-30&to=not-a-date",
        "from=2027-05-01&to=2027-01-01",
        "from=99999-01-01",
        "from=0001-01-01",
        "page=-1",
        "page=abc",
        "page=1e9",
        "page=" + "9" * 500,
        "when=yesterday",
        "q=%25",
        "q=_",
        "q=%27%22%3Cscript%3E",
        "q=%F0%9F%A6%84%20%E2%9C%A8",
        "q=a%00b",
        "topic=a%00b&organisation=%00",
        "q=" + "x" * 5000,
        "topic=" + "t" * 500,
        "q=%5C",
        "q=%ff%fe",
    ],
)
def test_bad_input_gives_a_sensible_page(client, make_event, make_topic, query) -> None:
    make_topic("Climate", "climate")
    make_event(title="Still here")
    response = client.get(f"/events/?{query}")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "<script>" not in body.split("</head>", 1)[1]


def test_ignored_values_are_named_on_the_page(client, make_event) -> None:
    make_event(title="Listed anyway")
    response = client.get("/events/?topic=unicorns&from=31/12/2027")
    text = page_text(response)
    assert "Unknown topic 'unicorns' was ignored." in text
    assert "The 'from' date '31/12/2027' was ignored" in text
    assert listed_titles(response) == ["Listed anyway"]


def test_search_with_odd_characters_finds_literal_text(client, make_event) -> None:
    make_event(title="100% renewable")
    make_event(title="Quotes \"and\" 'apostrophes' 🌍")
    make_event(title="Nothing special")
    assert listed_titles(client.get("/events/?q=%25")) == ["100% renewable"]
    assert listed_titles(client.get("/events/?q=%F0%9F%8C%8D")) == [
        "Quotes \"and\" 'apostrophes' 🌍"
    ]
    assert listed_titles(client.get("/events/?q=%27apostrophes%27")) == [
        "Quotes \"and\" 'apostrophes' 🌍"
    ]


def test_drafts_are_not_listed_anywhere(client, make_event, make_topic, make_organisation) -> None:
    topic, org = make_topic("Climate", "climate"), make_organisation(slug="wsf")
    make_event(title="Public one", topics=[topic], organisation=org)
    make_event(title="Hidden draft", topics=[topic], organisation=org, status=EventStatus.DRAFT)
    for url in ("/", "/events/", "/events/?when=past", "/topics/climate", "/organisations/wsf"):
        assert "Hidden draft" not in page_text(client.get(url)), url
    assert "Hidden draft" not in page_text(client.get("/events/?q=hidden"))


# --- topic and organisation pages ------------------------------------------------------------


def test_topic_page_lists_its_events_with_its_description(client, make_event, make_topic) -> None:
    climate = make_topic(
        "Climate and green development", "climate", description="Cutting **emissions**."
    )
    other = make_topic("Ethics", "ethics")
    make_event(title="On climate", topics=[climate], kind=EventKind.FORUM)
    make_event(title="On climate too", topics=[climate], kind=EventKind.LECTURE)
    make_event(title="On ethics", topics=[other])
    response = client.get("/topics/climate")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "<h1>Climate and green development</h1>" in body
    assert "<strong>emissions</strong>" in body
    assert listed_titles(response) == ["On climate", "On climate too"]
    assert 'name="topic"' not in body  # the topic is the page itself
    assert listed_titles(client.get("/topics/climate?kind=lecture")) == ["On climate too"]
    assert client.get("/topics/nope").status_code == 404


def test_organisation_page_lists_its_events_and_links_its_website(
    client, make_event, make_organisation
) -> None:
    org = make_organisation(
        name="World Science Forum",
        slug="wsf",
        description="A forum on science.",
        website="https://forum.example.org",
    )
    make_event(title="Ours", organisation=org)
    make_event(title="Theirs")
    response = client.get("/organisations/wsf")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "<h1>World Science Forum</h1>" in body
    assert "A forum on science." in body
    assert 'href="https://forum.example.org"' in body
    assert listed_titles(response) == ["Ours"]
    assert client.get("/organisations/nobody").status_code == 404


def test_a_javascript_website_is_not_linked(client, make_organisation) -> None:
    make_organisation(slug="bad", website="javascript:alert(1)")
    body = client.get("/organisations/bad").get_data(as_text=True)
    assert "javascript:" not in body


# --- the event page --------------------------------------------------------------------------


@pytest.fixture
def flagship(make_event, make_topic, make_organisation, make_session, make_speaker):
    org = make_organisation(name="World Science Forum", slug="wsf")
    start = datetime(2027, 5, 12, 7, 0, tzinfo=UTC)  # 09:00 CEST
    event = make_event(
        title="Openness, Trust and Cooperation",
        slug="openness",
        kind=EventKind.FORUM,
        organisation=org,
        summary="The world forum on science and technology.",
        description="# Programme\n\nTwo days of **debate**.\n\n<script>alert('x')</script>",
        starts_at=start,
        ends_at=start + timedelta(days=1, hours=8),
        timezone="Europe/Zurich",
        venue_name="Congress Centre",
        venue_address="Rue du Lac 1",
        city="Geneva",
        country="CH",
        latitude=46.2044,
        longitude=6.1432,
        capacity=120,
        topics=[make_topic("Climate", "climate"), make_topic("Public health", "health")],
    )
    laureate = make_speaker(
        "Ada Example", affiliation="Example University", country="GB", honours="Nobel laureate"
    )
    second = make_speaker("Ben Second", affiliation="Institute of Things", country="KE")
    make_session(
        event,
        title="Opening",
        speakers=[laureate, second],
        room="Hall A",
        starts_at=start,
        ends_at=start + timedelta(hours=1),
    )
    make_session(
        event,
        title="Vaccines",
        speakers=[second],
        starts_at=start + timedelta(days=1),
        ends_at=start + timedelta(days=1, hours=2),
    )
    return event


def test_event_page_shows_everything(client, flagship) -> None:
    response = client.get("/events/openness")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    text = page_text(response)
    assert '<h1 id="event-title" dir="auto">Openness, Trust and Cooperation</h1>' in body
    assert "Forum" in text
    assert 'href="/organisations/wsf">World Science Forum</a>' in body
    assert "12 – 13 May 2027" in text
    assert "Starts Wed, 12 May 2027, 09:00 (CEST, UTC+2)" in text
    assert "Ends Thu, 13 May 2027, 17:00 (CEST, UTC+2)" in text
    assert '<time datetime="2027-05-12T07:00:00Z">' in body
    assert 'data-zone="Europe/Zurich"' in body
    assert "local-time.js" in body
    # Venue with a map link.
    assert "Congress Centre" in text and "Rue du Lac 1" in text and "Geneva, Switzerland" in text
    assert "https://www.openstreetmap.org/?mlat=46.20440&amp;mlon=6.14320" in body
    # Description as sanitised Markdown.
    assert "<strong>debate</strong>" in body
    assert "<h3>Programme</h3>" in body
    # Topics link to their pages.
    assert 'href="/topics/climate">Climate</a>' in body
    # Agenda by day, sessions with time, room and speakers in order.
    assert "Wednesday, 12 May 2027" in text
    assert "Thursday, 13 May 2027" in text
    assert (
        text.index("Wednesday, 12 May 2027")
        < text.index("Opening")
        < text.index("Thursday, 13 May 2027")
        < text.index("Vaccines")
    )
    assert "Room: Hall A" in text
    opening = text[text.index("Opening") : text.index("Thursday, 13 May 2027")]
    assert opening.index("Ada Example") < opening.index("Ben Second")
    # Speakers once each, with affiliation, country and honours.
    speakers = text[text.index('id="speakers-heading"') :]
    assert speakers.count("Ada Example") == 1 and speakers.count("Ben Second") == 1
    assert "Nobel laureate" in speakers
    assert "Example University · United Kingdom" in speakers
    assert "Institute of Things · Kenya" in speakers
    # Registration state in words (the registration package's box may replace them).
    assert "Registration" in text


def test_event_page_description_is_sanitised(client, flagship) -> None:
    body = client.get("/events/openness").get_data(as_text=True)
    assert "<script>alert" not in body
    # Only the JSON-LD and our own static scripts; nothing from the description.
    for tag in re.findall(r"<script[^>]*>", body):
        assert 'type="application/ld+json"' in tag or 'src="/static/' in tag, tag


def test_event_page_json_ld_and_open_graph(client, flagship) -> None:
    flagship.summary = "Trust </script><script>alert(1)</script> & more"
    db.session.commit()
    body = client.get("/events/openness").get_data(as_text=True)
    match = re.search(r'<script type="application/ld\+json">(.*?)</script>', body, re.S)
    assert match is not None
    raw = match.group(1)
    assert "<" not in raw and ">" not in raw and "&" not in raw
    data = json.loads(raw)
    assert data["@type"] == "Event"
    assert data["name"] == "Openness, Trust and Cooperation"
    assert data["startDate"] == "2027-05-12T09:00:00+02:00"
    assert data["endDate"] == "2027-05-13T17:00:00+02:00"
    assert data["eventStatus"] == "https://schema.org/EventScheduled"
    assert data["eventAttendanceMode"] == "https://schema.org/OfflineEventAttendanceMode"
    assert data["location"]["@type"] == "Place"
    assert data["location"]["address"]["addressCountry"] == "CH"
    assert data["organizer"]["name"] == "World Science Forum"
    assert data["description"].startswith("Trust </script>")
    assert '<meta property="og:title" content="Openness, Trust and Cooperation">' in body
    assert '<meta property="og:url" content="http://localhost/events/openness">' in body


def test_cancelled_online_event_page(client, make_event) -> None:
    event = make_event(
        title="Called off",
        slug="called-off",
        format=EventFormat.ONLINE,
        online_url="https://meet.example.org/room",
        country=None,
    )
    services.cancel_event(event, "The speakers could not travel.", utcnow())
    db.session.commit()
    response = client.get("/events/called-off")
    assert response.status_code == 200
    text = page_text(response)
    assert "This event was cancelled" in text
    assert "The speakers could not travel." in text
    assert "This event takes place online." in text
    assert "meet.example.org" not in response.get_data(as_text=True)  # the link is private
    data = json.loads(
        re.search(r'ld\+json">(.*?)</script>', response.get_data(as_text=True), re.S).group(1)
    )
    assert data["eventStatus"] == "https://schema.org/EventCancelled"
    assert data["location"] == {
        "@type": "VirtualLocation",
        "url": "http://localhost/events/called-off",
    }
    assert data["eventAttendanceMode"] == "https://schema.org/OnlineEventAttendanceMode"
    assert "Cancelled" in page_text(client.get("/events/"))


def test_event_page_across_the_spring_dst_change(client, make_event, make_session) -> None:
    """Zurich moves from CET (UTC+1) to CEST (UTC+2) on the last Sunday of March: a 09:00
    session on each side of the change is 09:00 local, an hour apart in UTC."""
    sunday = last_sunday_of_march(utcnow().year + 1)
    saturday = sunday - timedelta(days=1)
    saturday_nine = datetime(saturday.year, 3, saturday.day, 8, 0, tzinfo=UTC)  # 09:00 CET
    sunday_nine = datetime(sunday.year, 3, sunday.day, 7, 0, tzinfo=UTC)  # 09:00 CEST
    event = make_event(
        slug="dst",
        timezone="Europe/Zurich",
        starts_at=saturday_nine,
        ends_at=sunday_nine + timedelta(hours=8),
    )
    make_session(event, title="Saturday talk", starts_at=saturday_nine)
    make_session(event, title="Sunday talk", starts_at=sunday_nine)
    text = page_text(client.get("/events/dst"))
    assert "(CET, UTC+1)" in text and "(CEST, UTC+2)" in text
    saturday_part = text[text.index("Saturday talk") - 300 : text.index("Saturday talk")]
    sunday_part = text[text.index("Sunday talk") - 300 : text.index("Sunday talk")]
    assert "09:00" in saturday_part and "10:00" in saturday_part and "CET" in saturday_part
    assert "09:00" in sunday_part and "10:00" in sunday_part and "CEST" in sunday_part
    assert f"Sunday, {sunday.day} March {sunday.year}" in text
    assert f"Saturday, {saturday.day} March {saturday.year}" in text


@pytest.mark.parametrize("slug", ["draft-one", "no-such-event", "a%00b", "x" * 300])
def test_drafts_and_unknown_events_are_404(client, make_event, slug) -> None:
    make_event(slug="draft-one", status=EventStatus.DRAFT)
    response = client.get(f"/events/{slug}")
    assert response.status_code == 404
    assert "Page not found" in page_text(response)


def test_the_500_page_is_friendly(app, client) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False

    def boom() -> str:
        raise RuntimeError("kaput")

    app.add_url_rule("/boom-for-test", "boom_for_test", boom)
    response = client.get("/boom-for-test")
    assert response.status_code == 500
    text = page_text(response)
    assert "Something went wrong" in text
    assert "kaput" not in text
    assert "<main" in text


# --- no N+1 ----------------------------------------------------------------------------------


def test_listing_runs_the_same_queries_for_2_or_15_events(
    client, make_event, make_topic, make_organisation, count_queries
) -> None:
    topics = [make_topic(f"Topic {n}", f"topic-{n}") for n in range(3)]

    def add(n: int) -> None:
        for _ in range(n):
            make_event(organisation=make_organisation(), topics=topics[:2])

    add(2)
    db.session.expire_all()
    with count_queries() as few:
        assert client.get("/events/?kind=conference").status_code == 200
    add(13)
    db.session.expire_all()
    with count_queries() as many:
        response = client.get("/events/?kind=conference")
    assert len(listed_titles(response)) == 15
    assert many.count == few.count, many.statements
    with count_queries() as home:
        client.get("/")
    # The EXISTS that decides placeholder or listing, and neither the filter form's topics
    # and countries nor the cards' events and topics: they are kept while the catalogue
    # stays the same.
    assert home.count == few.count + 1 - 4
    assert few.count <= 8


def test_event_page_runs_the_same_queries_for_1_or_10_sessions(
    client, make_event, make_session, make_speaker, make_topic, count_queries
) -> None:
    def build(slug: str, sessions: int):
        event = make_event(slug=slug, topics=[make_topic(f"T {slug}", f"t-{slug}")])
        for n in range(sessions):
            speakers = [make_speaker(f"{slug} speaker {n}.{k}") for k in range(3)]
            make_session(event, speakers=speakers, starts_at=event.starts_at + timedelta(hours=n))
        return event

    build("small", 1)
    build("large", 10)
    db.session.expire_all()
    with count_queries() as small:
        assert client.get("/events/small").status_code == 200
    with count_queries() as large:
        response = client.get("/events/large")
    assert page_text(response).count("large speaker") >= 30
    assert large.count == small.count, large.statements
    # With the catalogue's stamp, which says whether the agenda kept from an earlier render
    # still holds (fragments.py).
    assert small.count <= 7
