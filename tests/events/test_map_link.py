"""The event page's map link: the venue's coordinates when given, else an OpenStreetMap
search for its address."""

from __future__ import annotations

import html
import re


def _map_link(client, event) -> str | None:
    body = client.get(f"/events/{event.slug}").get_data(as_text=True)
    match = re.search(r'<a href="([^"]+)" rel="noopener">Map on OpenStreetMap</a>', body)
    return html.unescape(match.group(1)) if match else None


def test_without_coordinates_the_map_link_searches_for_the_address(client, make_event) -> None:
    event = make_event(
        venue_name="Palais des Nations",
        venue_address="Avenue de la Paix 14",
        city="Genève",
        country="CH",
        latitude=None,
        longitude=None,
    )
    assert _map_link(client, event) == (
        "https://www.openstreetmap.org/search?query=Palais+des+Nations%2C+"
        "Avenue+de+la+Paix+14%2C+Gen%C3%A8ve%2C+Switzerland"
    )


def test_coordinates_win_over_the_address(client, make_event) -> None:
    event = make_event(latitude=46.2266, longitude=6.1405)
    assert _map_link(client, event) == (
        "https://www.openstreetmap.org/?mlat=46.22660&mlon=6.14050#map=16/46.22660/6.14050"
    )


def test_an_online_event_without_an_address_has_no_map_link(client, make_event) -> None:
    event = make_event(
        format="online",
        online_url="https://meet.example.org/forum",
        venue_name="",
        venue_address="",
        city="",
        country=None,
    )
    assert _map_link(client, event) is None
