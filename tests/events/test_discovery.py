"""How people and machines find the events: icons and the manifest, the Atom feed, the
sitemap and robots.txt."""

from __future__ import annotations

import json
import re
import struct
from datetime import timedelta
from xml.etree import ElementTree

import feedparser

from eventsite import catalogue
from eventsite.events import discovery, services
from eventsite.events.models import EventStatus
from eventsite.extensions import db
from eventsite.timeutil import utcnow

SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


# --- icons and the manifest ------------------------------------------------------------------


def test_favicon_is_served(client) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.mimetype == "image/vnd.microsoft.icon"
    reserved, kind, count = struct.unpack("<HHH", response.data[:6])
    assert (reserved, kind, count) == (0, 1, 2)  # an icon file with two sizes


def test_every_page_names_its_icons_and_the_manifest(client, make_event) -> None:
    make_event()
    head = client.get("/").get_data(as_text=True).split("</head>")[0]
    assert '<link rel="icon" href="/favicon.ico" sizes="32x32">' in head
    assert '<link rel="icon" href="/static/icons/icon.svg" type="image/svg+xml">' in head
    assert '<link rel="apple-touch-icon" href="/static/icons/apple-touch-icon.png">' in head
    assert '<link rel="manifest" href="/manifest.webmanifest">' in head
    for path in re.findall(r'<link rel="(?:icon|apple-touch-icon)" href="([^"]+)"', head):
        assert client.get(path).status_code == 200, path


def test_manifest_lets_a_phone_pin_the_site(client) -> None:
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200
    assert response.mimetype == "application/manifest+json"
    manifest = json.loads(response.data)
    assert manifest["name"] == "eventsite"
    assert manifest["start_url"] == "/"
    assert manifest["display"] == "standalone"
    sizes = set()
    for icon in manifest["icons"]:
        image = client.get(icon["src"])
        assert image.status_code == 200, icon["src"]
        assert image.mimetype == icon["type"]
        if icon["type"] == "image/png":
            width, height = struct.unpack(">II", image.data[16:24])  # the PNG's IHDR
            assert icon["sizes"] == f"{width}x{height}"
            sizes.add(width)
    assert {192, 512} <= sizes


# --- the Atom feed ---------------------------------------------------------------------------


def test_atom_feed_lists_announced_and_changed_events(client, make_event) -> None:
    old = make_event(title="Old news", published_at=utcnow() - timedelta(days=20))
    new = make_event(title="Fresh <forum> & more", summary="Water & soil")
    make_event(title="Secret draft", status=EventStatus.DRAFT, published_at=None)
    called_off = make_event(title="Called off")
    services.cancel_event(called_off, "Storm", utcnow())
    db.session.commit()

    response = client.get("/events/feed.atom")
    assert response.status_code == 200
    assert response.mimetype == "application/atom+xml"
    feed = feedparser.parse(response.data)
    assert not feed.bozo, feed.bozo_exception
    assert feed.version == "atom10"
    assert feed.feed.title == "eventsite: new and changed events"
    titles = [entry.title for entry in feed.entries]
    assert "Secret draft" not in " ".join(titles)
    assert titles[0] == "Cancelled: Called off"  # the latest change first
    assert set(titles) == {"Old news", "Fresh <forum> & more", "Cancelled: Called off"}
    for entry in feed.entries:
        assert entry.title and entry.link.startswith("http://localhost/events/")
        assert entry.published_parsed and entry.updated_parsed
        assert entry.id.startswith("tag:localhost,")
        assert entry.summary
    fresh = next(e for e in feed.entries if e.title.startswith("Fresh"))
    assert fresh.link == f"http://localhost/events/{new.slug}"
    assert "Water & soil" in fresh.summary
    assert fresh.id == f"tag:localhost,{new.published_at:%Y-%m-%d}:event-{new.id}"

    # A change moves the entry to the top, under the same id, with a later `updated`.
    first_id = next(e.id for e in feed.entries if e.title == "Old news")
    services.update_event(old, {"title": "Old news, new date"}, utcnow())
    db.session.commit()
    again = feedparser.parse(client.get("/events/feed.atom").data)
    changed = again.entries[0]
    assert changed.title == "Old news, new date"
    assert changed.id == first_id
    assert changed.updated_parsed >= changed.published_parsed


def test_listing_points_feed_readers_at_the_atom_feed(client, make_event) -> None:
    make_event()
    head = client.get("/events/").get_data(as_text=True).split("</head>")[0]
    assert re.search(
        r'<link rel="alternate" type="application/atom\+xml" href="/events/feed.atom"', head
    )


def test_empty_atom_feed_is_still_valid(client) -> None:
    feed = feedparser.parse(client.get("/events/feed.atom").data)
    assert not feed.bozo, feed.bozo_exception
    assert feed.entries == []
    assert feed.feed.updated_parsed


# --- sitemap.xml and robots.txt --------------------------------------------------------------


def sitemap_urls(client, path: str = "/sitemap.xml") -> dict[str, str]:
    response = client.get(path)
    assert response.status_code == 200
    assert response.mimetype == "application/xml"
    root = ElementTree.fromstring(response.data)
    assert root.tag == f"{SITEMAP}urlset"
    return {
        url.findtext(f"{SITEMAP}loc"): url.findtext(f"{SITEMAP}lastmod")
        for url in root.findall(f"{SITEMAP}url")
    }


def test_sitemap_lists_every_public_page_and_no_draft(
    client, make_event, make_topic, make_organisation
) -> None:
    climate = make_topic("Climate", "climate")
    make_topic("Empty topic", "empty-topic")
    hosts = make_organisation()
    lonely = make_organisation()
    public = make_event(title="Public", topics=[climate], organisation=hosts)
    called_off = make_event(title="Called off", status=EventStatus.CANCELLED, organisation=hosts)
    draft = make_event(title="Draft", status=EventStatus.DRAFT, published_at=None, topics=[])
    del lonely  # an organisation with nothing public has no page worth listing

    urls = sitemap_urls(client)
    base = "http://localhost"
    assert f"{base}/" in urls
    assert f"{base}/events/" in urls
    assert f"{base}/events/calendar" in urls
    assert f"{base}/events/{public.slug}" in urls
    assert f"{base}/events/{called_off.slug}" in urls  # its page says it was cancelled
    assert f"{base}/topics/climate" in urls
    assert f"{base}/organisations/{hosts.slug}" in urls
    assert f"{base}/events/{draft.slug}" not in urls
    assert f"{base}/topics/empty-topic" not in urls
    assert f"{base}/organisations/{draft.organisation.slug}" not in urls
    assert not any("token" in url or "/manage/" in url or "/account" in url for url in urls)
    assert len(urls) == 7
    assert urls[f"{base}/events/{public.slug}"] == public.updated_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert all(
        re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", lastmod) for lastmod in urls.values()
    )


def test_sitemap_lastmod_is_the_catalogues_last_change(client, make_event) -> None:
    event = make_event()
    services.update_event(event, {"title": "A new title"}, utcnow())
    db.session.commit()
    changed_at = catalogue.current(db.session).changed_at
    urls = sitemap_urls(client)
    assert urls["http://localhost/events/"] == changed_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert urls["http://localhost/events/calendar"] == urls["http://localhost/events/"]


def test_sitemap_past_the_protocols_limit_is_an_index_of_parts(
    client, monkeypatch, make_event, make_topic, make_organisation, count_queries
) -> None:
    """sitemaps.org: at most 50,000 addresses a file (here 3): the site's pages, topics
    and organisations in part 1, then the events in parts of that many, none left out."""
    monkeypatch.setattr(discovery, "SITEMAP_LIMIT", 3)
    climate = make_topic("Climate", "climate")
    hosts = make_organisation()
    events = [
        make_event(title=f"Event {n}", topics=[climate], organisation=hosts) for n in range(5)
    ]
    make_event(title="Draft", status=EventStatus.DRAFT, published_at=None, topics=[])

    with count_queries() as counter:
        response = client.get("/sitemap.xml")
    assert response.status_code == 200
    assert response.mimetype == "application/xml"
    root = ElementTree.fromstring(response.data)
    assert root.tag == f"{SITEMAP}sitemapindex"
    parts = [entry.findtext(f"{SITEMAP}loc") for entry in root.findall(f"{SITEMAP}sitemap")]
    base = "http://localhost"
    assert parts == [f"{base}/sitemaps/1.xml", f"{base}/sitemaps/2.xml", f"{base}/sitemaps/3.xml"]
    assert counter.count <= 3, counter.statements  # the catalogue, the counts (and the cache)

    found: list[set[str]] = []
    for part in parts:
        found.append(set(sitemap_urls(client, part.removeprefix(base))))
    assert found[0] == {
        f"{base}/", f"{base}/events/", f"{base}/events/calendar",
        f"{base}/topics/climate", f"{base}/organisations/{hosts.slug}",
    }  # fmt: skip
    listed = found[1] | found[2]
    assert listed == {f"{base}/events/{event.slug}" for event in events}
    assert not found[1] & found[2]
    assert len(found[1]) == 3 and len(found[2]) == 2
    assert client.get("/sitemaps/4.xml").status_code == 404
    assert client.get("/sitemaps/0.xml").status_code == 404


def test_a_sitemap_in_one_file_has_no_parts(client, make_event) -> None:
    make_event()
    assert ElementTree.fromstring(client.get("/sitemap.xml").data).tag == f"{SITEMAP}urlset"
    assert client.get("/sitemaps/1.xml").status_code == 404


def test_robots_txt_points_at_the_sitemap_and_keeps_out_workspace_and_tokens(client) -> None:
    response = client.get("/robots.txt")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    lines = response.get_data(as_text=True).splitlines()
    assert lines[0] == "User-agent: *"
    assert "Sitemap: http://localhost/sitemap.xml" in lines
    disallowed = {line.removeprefix("Disallow: ") for line in lines if line.startswith("Disallow")}
    assert {"/manage/", "/account/", "/password/reset/", "/notify/confirm/"} <= disallowed
    assert "/organisations/feed/" in disallowed  # an organisation's secret calendar
    assert "/account/calendar/" in disallowed or "/account/" in disallowed
    assert "/" not in disallowed and "/events/" not in disallowed


def test_feed_sitemap_and_month_view_come_from_the_page_cache_as_they_are(
    client, make_event
) -> None:
    make_event()
    for path, mimetype in (
        ("/events/feed.atom", "application/atom+xml"),
        ("/sitemap.xml", "application/xml"),
        ("/events/calendar?month=2027-01", "text/html"),
    ):
        first = client.get(path)
        again = client.get(path)
        assert again.status_code == first.status_code == 200
        assert again.data == first.data
        assert again.mimetype == first.mimetype == mimetype
        assert again.headers["Cache-Control"].startswith("public")
        assert client.get(path, headers={"If-None-Match": again.headers["ETag"]}).status_code == 304
