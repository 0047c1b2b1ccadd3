"""What pages keep between renders while the catalogue stays the same (the listing's cards
and filter choices, the event page's agenda and speakers): every change shows on the next
request, with the page cache off as for someone logged in."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any

import pytest

from eventsite import catalogue, fragments
from eventsite.events import cards, listing
from eventsite.extensions import db
from eventsite.models import EventStatus
from eventsite.registration.models import RegistrationStatus
from eventsite.timeutil import utcnow


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {**app_config, "PAGE_CACHE_ENABLED": False}


@pytest.fixture(autouse=True)
def _nothing_kept_from_other_tests() -> None:
    # Each test's database starts again at an empty catalogue; the stamp's time tells them
    # apart, but a test that measures queries should not depend on that.
    cards.clear()
    listing._choices.clear()
    fragments.clear()


def cards_of(client, path: str = "/events/") -> list[str]:
    response = client.get(path)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    return re.findall(r'<article class="event-card.*?</article>', body, flags=re.S)


def nav_links(client, path: str, nav_class: str) -> list[str]:
    """The addresses a page's `<nav class="...">` links to, in order."""
    body = client.get(path).get_data(as_text=True)
    nav = re.search(rf'<nav class="{nav_class}".*?</nav>', body, flags=re.S)
    assert nav is not None, body
    return [html.unescape(link) for link in re.findall(r'href="([^"]+)"', nav.group(0))]


def text(fragment: str) -> str:
    return html.unescape(" ".join(re.sub(r"<[^>]+>", " ", fragment).split()))


def test_a_kept_card_is_the_card_a_render_gives(client, make_event, make_registration, make_user):
    event = make_event(title="Same either way", capacity=5)
    make_registration(make_user(), event)
    first = client.get("/events/").get_data(as_text=True)  # renders and keeps
    again = client.get("/events/").get_data(as_text=True)  # from what was kept
    assert first == again
    assert "4 places left" in again


def test_an_edited_event_shows_on_the_next_listing(client, make_event) -> None:
    event = make_event(title="Before the edit", city="Geneva")
    assert "Before the edit" in text(cards_of(client)[0])
    event.title = "After the edit"
    event.city = "Nairobi"
    db.session.commit()
    (card,) = cards_of(client)
    assert "After the edit" in text(card) and "Nairobi" in text(card)
    assert "Before the edit" not in text(card)


def test_a_renamed_organisation_or_topic_shows_on_the_next_listing(
    client, make_event, make_organisation, make_topic
) -> None:
    organisation = make_organisation(name="Old Institute")
    topic = make_topic("Old topic", "old-topic")
    make_event(organisation=organisation, topics=[topic])
    assert "Old Institute" in text(cards_of(client)[0])
    organisation.name = "New Institute"
    topic.name = "New topic"
    db.session.commit()
    (card,) = cards_of(client)
    assert "New Institute" in text(card) and "New topic" in text(card)


def test_a_cancelled_event_shows_on_the_next_listing(client, make_event) -> None:
    event = make_event(title="Going ahead", capacity=10)
    assert "10 places left" in text(cards_of(client)[0])
    event.status = EventStatus.CANCELLED
    db.session.commit()
    (card,) = cards_of(client)
    assert "Cancelled" in text(card)
    assert "places left" not in text(card)


def test_registrations_show_on_a_kept_card(
    client, make_event, make_user, make_registration, count_queries
) -> None:
    event = make_event(title="Filling up", capacity=3, has_waiting_list=True)
    assert "3 places left" in text(cards_of(client)[0])
    make_registration(make_user(), event)
    make_registration(make_user(), event, status=RegistrationStatus.PENDING)
    stamp = catalogue.current(db.session)
    assert "1 place left" in text(cards_of(client)[0])
    assert catalogue.current(db.session) == stamp  # registrations do not move the catalogue
    make_registration(make_user(), event)
    assert "Waiting list" in text(cards_of(client)[0])


def test_a_kept_card_follows_the_clock(client, make_event, monkeypatch) -> None:
    closes = utcnow() + timedelta(hours=1)
    make_event(title="Closing soon", capacity=10, registration_closes_at=closes)
    assert "10 places left" in text(cards_of(client)[0])
    stamp = catalogue.current(db.session)
    later = closes + timedelta(minutes=1)
    monkeypatch.setattr("eventsite.registration.views.utcnow", lambda: later)
    (card,) = cards_of(client)
    assert "Registration closed" in text(card) and "places left" not in text(card)
    assert catalogue.current(db.session) == stamp  # the same kept card, other words


def test_a_new_capacity_shows_on_the_next_listing(client, make_event) -> None:
    event = make_event(title="Growing", capacity=10)
    assert "10 places left" in text(cards_of(client)[0])
    event.capacity = 25
    db.session.commit()
    assert "25 places left" in text(cards_of(client)[0])


def test_a_past_events_card_is_kept_without_words(client, make_event, count_queries) -> None:
    ended = utcnow() - timedelta(days=2)
    make_event(title="Long ago", capacity=10, starts_at=ended - timedelta(hours=8))
    first = client.get("/events/?when=past").get_data(as_text=True)
    with count_queries() as warm:
        again = client.get("/events/?when=past").get_data(as_text=True)
    assert first == again
    (card,) = re.findall(r'<article class="event-card.*?</article>', again, flags=re.S)
    assert "Long ago" in text(card) and "places" not in text(card)
    assert not any("FROM events" in s for s in warm.statements)


def test_a_new_topic_or_country_shows_in_the_filters_on_the_next_listing(
    client, make_event, make_topic
) -> None:
    make_event(country="CH")
    page = client.get("/events/").get_data(as_text=True)
    assert 'value="brand-new"' not in page and 'value="KE"' not in page
    make_topic("Brand new", "brand-new")
    make_event(country="KE", city="Nairobi")
    page = client.get("/events/").get_data(as_text=True)
    assert '<option value="brand-new">Brand new</option>' in page
    assert '<option value="KE">Kenya</option>' in page


def test_a_country_filter_without_events_stays_a_choice(client, make_event) -> None:
    make_event(country="CH")
    client.get("/events/")  # the choices are kept
    page = client.get("/events/?country=JP").get_data(as_text=True)
    assert '<option value="JP" selected>Japan</option>' in page
    assert '<option value="JP"' not in client.get("/events/").get_data(as_text=True)


def _filter_form(page: str) -> str:
    return re.search(r'<details class="filters-panel">.*?</details>', page, flags=re.S).group(0)


def test_the_filter_form_is_kept_per_address_query_string_and_language(
    client, make_event, make_topic
) -> None:
    topic = make_topic("Climate", "climate")
    make_event(country="CH", topics=[topic])
    english = _filter_form(client.get("/events/").get_data(as_text=True))
    french = _filter_form(
        client.get("/events/", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    )
    on_topic = _filter_form(client.get("/topics/climate").get_data(as_text=True))
    assert "All topics" in english and "Tous les thèmes" in french
    assert 'action="/events/"' in english and 'action="/topics/climate"' in on_topic
    assert 'name="topic"' not in on_topic  # the topic is the page's, not a choice
    # The same, kept, on the next requests.
    assert _filter_form(client.get("/events/").get_data(as_text=True)) == english
    assert _filter_form(client.get("/").get_data(as_text=True)) == english
    assert _filter_form(client.get("/topics/climate").get_data(as_text=True)) == on_topic
    # A query string has its own form, kept as well; the page number is not in it.
    filtered = _filter_form(client.get("/events/?country=CH").get_data(as_text=True))
    assert '<option value="CH" selected>Switzerland</option>' in filtered
    assert _filter_form(client.get("/events/?country=CH").get_data(as_text=True)) == filtered
    assert _filter_form(client.get("/events/?page=2&country=CH").get_data(as_text=True)) == (
        filtered
    )
    searched = _filter_form(client.get("/events/?q=water&country=CH").get_data(as_text=True))
    assert 'value="water"' in searched and "“water” · Switzerland" in searched
    assert 'value="CH" selected' not in _filter_form(client.get("/events/").get_data(as_text=True))


def test_a_query_string_is_read_in_each_language(client, make_event) -> None:
    """Its reading is kept per query string and language: what was ignored is said in the
    page's language, whichever language asked first."""
    make_event()
    english = client.get("/events/?kind=gala&page=x").get_data(as_text=True)
    french = client.get("/events/?page=x&kind=gala", headers={"Accept-Language": "fr"}).get_data(
        as_text=True
    )
    assert "Unknown kind of event &#39;gala&#39; was ignored." in english
    assert "Page number &#39;x&#39; was ignored." in english
    assert "gala" in french and "Unknown kind" not in french
    assert "Unknown kind of event" in client.get("/events/?page=x&kind=gala").get_data(as_text=True)


def test_a_topic_made_after_a_listing_named_it_is_a_filter_on_the_next_one(
    client, make_event, make_topic
) -> None:
    """Whether a topic exists is kept while the catalogue stays the same: a new one
    moves it."""
    make_event()
    assert "Unknown topic &#39;soil&#39; was ignored." in client.get(
        "/events/?topic=soil"
    ).get_data(as_text=True)
    make_topic("Soil", "soil")
    page = client.get("/events/?topic=soil").get_data(as_text=True)
    assert "Unknown topic" not in page
    assert "0 upcoming events" in page


def test_the_second_listing_skips_the_filter_and_topic_queries(
    client, make_event, make_topic, count_queries
) -> None:
    make_event(topics=[make_topic()], capacity=25)
    with count_queries() as cold:
        client.get("/events/")
    with count_queries() as warm:
        client.get("/events/")
    # The filter form's topics and countries, the kept cards' events and topics, and the
    # page's ids with the number of matches: the catalogue's stamp and the places are left.
    assert warm.count == cold.count - 5, warm.statements
    assert warm.count == 2
    # The events' rows are not read again: only the places they count.
    assert not any("FROM events" in s and "places_held" not in s for s in warm.statements)
    assert not any("DISTINCT events.country" in s for s in warm.statements)
    assert not any("event_topics" in s for s in warm.statements)
    assert not any("count(" in s.lower() and "registrations" not in s for s in warm.statements)


def test_the_second_filtered_listing_reads_the_stamp_and_the_places_only(
    client, make_event, make_topic, count_queries
) -> None:
    make_event(topics=[make_topic("Climate", "climate")], format="hybrid", capacity=40)
    path = "/events/?topic=climate&format=hybrid&q=event"
    client.get(path)
    with count_queries() as warm:
        page = client.get(path).get_data(as_text=True)
    assert "1 upcoming event" in page and "40 places left" in page
    assert warm.count == 2, warm.statements  # the catalogue's stamp, the places
    assert not any("FROM topics" in s for s in warm.statements)
    assert not any("FROM events" in s and "places_held" not in s for s in warm.statements)


def test_cards_that_show_no_places_left_read_no_places(
    client, make_event, make_user, make_registration, count_queries
) -> None:
    # Open without a limit, closed, not open yet: the words need no count.
    unlimited = make_event(title="Come one, come all")
    make_registration(make_user(), unlimited)
    make_event(title="Closed early", capacity=10, registration_closes_at=utcnow())
    make_event(title="Opens later", capacity=10, registration_opens_at=utcnow() + timedelta(days=3))
    client.get("/events/")
    with count_queries() as warm:
        words = [text(card) for card in cards_of(client)]
    assert "Registration open" in words[0]
    assert "Registration closed" in words[1]
    assert "Opens" in words[2]
    assert warm.count == 1, warm.statements  # the catalogue's stamp alone
    assert not any("registrations" in s for s in warm.statements)


def test_the_kept_count_and_page_follow_the_catalogue(client, make_event) -> None:
    make_event(title="First of all")
    assert "1 upcoming event" in client.get("/events/").get_data(as_text=True)
    make_event(title="Another one")  # moves the catalogue version: counted again
    page = client.get("/events/").get_data(as_text=True)
    assert "2 upcoming events" in page and "Another one" in page


def test_a_kept_pager_follows_the_pages_and_the_filters(
    app, client, make_event, make_topic
) -> None:
    """The pager is kept per address: a topic that now exists (the same address, other
    filters, as many pages) or another number of pages draws it again."""
    app.config["EVENTS_PER_PAGE"] = 1

    def pager(path: str) -> list[str]:
        return nav_links(client, path, "pagination")

    make_event(title="First")
    make_event(title="Second")
    # An unknown topic is left out: page 1 (this one), page 2, and "Next".
    assert pager("/events/?topic=soil") == ["/events/?page=1", "/events/?page=2", "/events/?page=2"]
    soil = make_topic("Soil", "soil")
    make_event(title="Third", topics=[soil])
    make_event(title="Fourth", topics=[soil])
    # The same address and as many pages, with the topic now a filter.
    assert pager("/events/?topic=soil") == [
        "/events/?topic=soil&page=1",
        "/events/?topic=soil&page=2",
        "/events/?topic=soil&page=2",
    ]
    make_event(title="Fifth", topics=[soil])
    assert "/events/?topic=soil&page=3" in pager("/events/?topic=soil")


def test_cards_gone_between_reading_the_page_and_drawing_it_are_drawn_from_their_events(
    client, make_event, monkeypatch
) -> None:
    """Another thread's request may move the kept cards to another catalogue version after
    this one took their facts (a threaded server): the page reads those events again."""
    make_event(title="Still here", capacity=12)
    make_event(title="Also here")
    first = client.get("/events/").get_data(as_text=True)
    kept_facts = cards.kept_facts

    def then_forgotten(*args, **kwargs):
        found = kept_facts(*args, **kwargs)
        assert found  # the page found its cards kept...
        cards.clear()  # ... and they are gone before they are drawn
        return found

    monkeypatch.setattr(cards, "kept_facts", then_forgotten)
    again = client.get("/events/")
    assert again.status_code == 200
    assert again.get_data(as_text=True) == first


def test_a_card_whose_event_is_deleted_before_it_is_drawn_is_left_out(
    client, make_event, monkeypatch
) -> None:
    make_event(title="Still here")
    gone = make_event(title="Deleted meanwhile")
    assert len(cards_of(client)) == 2
    kept_facts = cards.kept_facts

    def then_deleted(*args, **kwargs):
        found = kept_facts(*args, **kwargs)
        cards.clear()
        db.session.delete(gone)  # by another request, after this one read its page
        db.session.commit()
        return found

    monkeypatch.setattr(cards, "kept_facts", then_deleted)
    response = client.get("/events/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Still here" in page and "Deleted meanwhile" not in page
    assert "<li></li>" not in page


def test_the_kept_tabs_follow_a_topic_that_comes_to_exist(client, make_event, make_topic) -> None:
    def tabs(path: str) -> list[str]:
        return nav_links(client, path, "tabs")

    make_event(title="First")
    # An unknown topic is left out of the links to the other views...
    assert tabs("/events/?topic=soil") == ["/events/", "/events/?when=past", "/events/calendar"]
    make_topic("Soil", "soil")
    # ... and kept in them once it exists: the same address draws its tabs again.
    assert tabs("/events/?topic=soil") == [
        "/events/?topic=soil",
        "/events/?topic=soil&when=past",
        "/events/calendar?topic=soil",
    ]


def test_a_page_with_kept_and_new_cards_loads_the_new_ones_whole(
    client, make_event, make_topic, make_organisation, count_queries
) -> None:
    make_event(title="On both pages", topics=[make_topic("Soil", "soil")])
    make_event(
        title="Only in the listing",
        topics=[make_topic("Sea", "sea")],
        organisation=make_organisation(name="Ocean Institute"),
    )
    client.get("/topics/soil")  # keeps the first card only
    db.session.expire_all()
    with count_queries() as mixed:
        page = client.get("/events/").get_data(as_text=True)
    assert 'href="/topics/soil"' in page and 'href="/topics/sea"' in page
    assert "Ocean Institute" in page
    # Only the new card's event is read, whole.
    (events,) = [s for s in mixed.statements if "FROM events" in s and "events.id IN" in s]
    assert "event_topics" in " ".join(mixed.statements)
    assert re.search(r"events\.id IN \((\?|%\(\w+\)s(::INTEGER)?)\)", events), events  # one id


def test_a_memo_computes_once_per_stamp() -> None:
    memo: catalogue.VersionedMemo[int] = catalogue.VersionedMemo(max_entries=2)
    calls: list[str] = []

    def compute(value: int) -> Any:
        return lambda: calls.append(str(value)) or value

    first = catalogue.Stamp(1, catalogue.EMPTY)
    assert memo.get(first, "a", compute(1)) == 1
    assert memo.get(first, "a", compute(99)) == 1
    second = catalogue.Stamp(2, catalogue.EMPTY)
    assert memo.get(second, "a", compute(2)) == 2
    # A catalogue that starts again at version 1 (an emptied table) is another stamp.
    later = catalogue.Stamp(1, catalogue.EMPTY.replace(year=2030))
    assert memo.get(later, "a", compute(3)) == 3
    assert calls == ["1", "2", "3"]


def programme(client, event) -> str:
    response = client.get(f"/events/{event.slug}")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    agenda = re.search(r'<section class="agenda".*?</section>', body, flags=re.S)
    speakers = re.search(r'<section class="speakers".*?</section>', body, flags=re.S)
    return text((agenda.group(0) if agenda else "") + (speakers.group(0) if speakers else ""))


def test_a_kept_agenda_is_the_agenda_a_render_gives(
    client, make_event, make_session, make_speaker
) -> None:
    event = make_event()
    make_session(event, [make_speaker("Ada Example", affiliation="CERN")], title="Opening")
    first = client.get(f"/events/{event.slug}").get_data(as_text=True)
    fragments.clear()
    again = client.get(f"/events/{event.slug}").get_data(as_text=True)
    assert first == again
    assert client.get(f"/events/{event.slug}").get_data(as_text=True) == first


def test_the_next_event_page_reads_neither_sessions_nor_speakers(
    client, make_event, make_session, make_speaker, count_queries
) -> None:
    event = make_event(capacity=60)
    make_session(event, [make_speaker("Ada Example", affiliation="CERN")], title="Opening")
    path = f"/events/{event.slug}"
    with count_queries() as cold:
        first = client.get(path).get_data(as_text=True)
    with count_queries() as warm:
        again = client.get(path).get_data(as_text=True)
    assert again == first
    assert "Ada Example" in again and '"performer"' in again  # the agenda and the JSON-LD
    assert any("FROM agenda_sessions" in s for s in cold.statements)
    assert not any("agenda_sessions" in s or "speakers" in s for s in warm.statements)
    assert not any("event_topics" in s for s in warm.statements)
    # Left are the event's own row with the catalogue's stamp (one statement) and the
    # places; the first view read the event again with its organisation and pictures,
    # then the sessions, their speakers with their photos, and the topics.
    assert warm.count == 2, warm.statements
    assert cold.count == 6, cold.statements


def test_an_edited_agenda_or_speaker_shows_on_the_next_event_page(
    client, make_event, make_session, make_speaker
) -> None:
    event = make_event()
    speaker = make_speaker("Ada Example")
    session = make_session(event, [speaker], title="Opening plenary", room="Room 1")
    assert "Opening plenary" in programme(client, event)
    session.title = "Closing plenary"
    session.room = "Room 9"
    db.session.commit()
    words = programme(client, event)
    assert "Closing plenary" in words and "Room 9" in words
    assert "Opening plenary" not in words
    speaker.name = "Grace Example"
    db.session.commit()
    words = programme(client, event)
    assert "Grace Example" in words and "Ada Example" not in words
    make_session(event, title="Added later", starts_at=event.starts_at + timedelta(hours=3))
    assert "Added later" in programme(client, event)


def test_each_event_keeps_its_own_agenda(client, make_event, make_session) -> None:
    one, other = make_event(), make_event()
    make_session(one, title="Only at the first")
    make_session(other, title="Only at the second")
    assert "Only at the first" in programme(client, one)
    assert "Only at the second" in programme(client, other)
    assert "Only at the first" not in programme(client, other)


def test_an_edited_description_shows_on_the_next_event_page(client, make_event) -> None:
    event = make_event(description="Before **the edit**.")
    assert "<strong>the edit</strong>" in client.get(f"/events/{event.slug}").get_data(True)
    event.description = "After *the edit*."
    db.session.commit()
    page = client.get(f"/events/{event.slug}").get_data(as_text=True)
    assert "<em>the edit</em>" in page and "Before" not in page


def test_every_piece_of_the_event_page_follows_an_edit(
    client, make_event, make_organisation, make_topic
) -> None:
    organisation = make_organisation(name="Old Institute")
    topic = make_topic("Old topic", "old-topic")
    event = make_event(
        title="Old title", summary="Old summary", city="Geneva", organisation=organisation
    )
    event.topics = [topic]
    db.session.commit()
    path = f"/events/{event.slug}"
    before = client.get(path).get_data(as_text=True)
    assert client.get(path).get_data(as_text=True) == before  # from the kept pieces
    assert "Add to calendar" in before and "Send this to a friend" in before
    event.title, event.summary, event.city = "New title", "New summary", "Nairobi"
    organisation.name, topic.name = "New Institute", "New topic"
    db.session.commit()
    page = client.get(path).get_data(as_text=True)
    for old in ("Old title", "Old summary", "Geneva", "Old Institute", "Old topic"):
        assert old not in page, old
    for new in ("New title", "New summary", "Nairobi", "New Institute", "New topic"):
        assert new in page, new
    event.status = EventStatus.CANCELLED
    db.session.commit()
    page = client.get(path).get_data(as_text=True)
    assert "This event was cancelled." in page
    assert "Add to calendar" not in page and "Send this to a friend" not in page


def test_a_new_cover_and_logo_show_on_the_next_listing(client, make_event) -> None:
    from eventsite.images import services as images

    from .. import pictures

    first, second = make_event(title="First card"), make_event(title="Second card")
    [a, b] = cards_of(client)
    assert "<img" not in a + b
    second.cover_image = images.create_image(pictures.jpeg(1200, 800), "A teal square", utcnow())
    second.organisation.logo_image = images.create_image(pictures.png(400, 400), "Logo", utcnow())
    db.session.commit()
    [a, b] = cards_of(client)
    with_cover = a if "Second card" in a else b
    assert 'alt="A teal square"' in with_cover
    # only the first card of the page loads its cover at once; a kept card keeps that
    assert ('loading="lazy"' in with_cover) == (with_cover == b)
    assert first.title in (b if with_cover == a else a)


def test_the_layouts_links_are_kept_without_reading_the_catalogue(client, count_queries) -> None:
    first = client.get("/login").get_data(as_text=True)
    with count_queries() as warm:
        again = client.get("/login").get_data(as_text=True)
    assert 'rel="manifest"' in again and ">Calendar feed</a>" in again
    assert again.count('rel="stylesheet"') == first.count('rel="stylesheet"') == 1
    # Kept for the process, not per catalogue version: an error page draws them when the
    # database does not answer.
    assert not any("catalogue_versions" in s for s in warm.statements)
    french = client.get("/login?lang=fr").get_data(as_text=True)
    assert ">Flux de calendrier</a>" in french and "Calendar feed" not in french  # per language


def _switcher(page: str) -> str:
    return re.search(r'<nav class="language-switcher".*?</nav>', page, flags=re.S).group(0)


def _alternates(page: str) -> list[str]:
    return re.findall(r'<link rel="alternate" hreflang="[^"]+" href="[^"]+">', page)


def test_the_links_of_an_address_are_kept_per_address_and_language(
    client, make_event, login, make_user
) -> None:
    """The language switcher, the alternates and the log-in link are this address's:
    kept per address and language, they are the ones a render gives."""
    make_event()
    fragments.clear()
    drawn = client.get("/events/?country=CH").get_data(as_text=True)
    kept = client.get("/events/?country=CH").get_data(as_text=True)
    assert _switcher(kept) == _switcher(drawn) and _alternates(kept) == _alternates(drawn)
    assert 'href="/events/?country=CH&amp;lang=fr"' in _switcher(kept)
    assert 'hreflang="es" href="http://localhost/events/?country=CH&amp;lang=es"' in kept
    assert "/login?next=/events/?country%3DCH" in kept
    other = client.get("/events/?country=KE").get_data(as_text=True)
    assert 'href="/events/?country=KE&amp;lang=fr"' in _switcher(other)
    assert "/login?next=/events/?country%3DKE" in other and "country%3DCH" not in other
    french = client.get("/events/?country=CH", headers={"Accept-Language": "fr"}).get_data(
        as_text=True
    )
    assert 'lang="fr" hreflang="fr" dir="ltr" aria-current="true"' in _switcher(french)
    assert ">Se connecter</a>" in french
    # Someone logged in has their own links, never the kept ones for visitors.
    login(make_user(name="Ama Owusu"))
    theirs = client.get("/events/?country=CH").get_data(as_text=True)
    assert "Ama Owusu" in theirs and "/login?next=" not in theirs
    assert _switcher(theirs) == _switcher(kept)


def test_a_form_address_without_get_keeps_the_home_pages_links(client, login, make_user) -> None:
    """An address answering only POST (a section of the account page) links to the home
    page in each language; the same address asked with GET (405) links to itself."""
    refused = client.get("/account/password")
    assert refused.status_code == 405
    assert 'href="/account/password?lang=fr"' in _switcher(refused.get_data(as_text=True))
    login(make_user())
    posted = client.post("/account/password", data={"current_password": "wrong"})
    assert posted.status_code == 422, posted.status_code  # the form again, with why
    page = posted.get_data(as_text=True)
    assert 'href="/?lang=fr"' in _switcher(page)
    assert "/account/password?lang" not in page


def test_a_crawl_through_filter_combinations_leaves_the_kept_event_pages(
    client, make_event, make_session, monkeypatch, count_queries
) -> None:
    """The pieces kept per query string (the filter form, the subscribe links) have memos
    of their own: filling them never empties the one that keeps the event pages."""
    event = make_event(title="Kept page", capacity=30)
    make_session(event, title="Opening")
    path = f"/events/{event.slug}"
    client.get(path)
    for memo in ("filters", "subscribe"):
        monkeypatch.setattr(fragments._per_query[memo], "max_entries", 2)
    monkeypatch.setattr(fragments._kept, "max_entries", len(fragments._kept._values) + 2)
    for n in range(8):
        assert client.get(f"/events/?q=word{n}").status_code == 200
    with count_queries() as warm:
        page = client.get(path).get_data(as_text=True)
    assert "Kept page" in page and "Opening" in page
    assert warm.count == 2, warm.statements  # the event with the stamp, the places


def test_the_box_counts_places_only_where_it_says_how_many_are_left(
    client, make_event, make_user, make_registration, count_queries
) -> None:
    limited = make_event(capacity=5)
    make_registration(make_user(), limited)
    later = make_event(capacity=5, registration_opens_at=utcnow() + timedelta(days=2))
    unlimited = make_event(capacity=None)
    for event, words, counted in (
        (limited, "4 places", True),
        (later, "Registration opens on", False),
        (unlimited, "Registration open", False),
    ):
        client.get(f"/events/{event.slug}")  # the page's kept pieces are drawn once
        with count_queries() as counter:
            assert words in text(client.get(f"/events/{event.slug}").get_data(as_text=True))
        read_places = any("places_held" in s for s in counter.statements)
        assert read_places is counted, (words, counter.statements)
