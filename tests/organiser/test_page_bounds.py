"""Page numbers past any table, typed into the address: the workspace tables and the
public listings read them as the listing always did (1 up to a bound), never a 500."""

from __future__ import annotations

import pytest

HUGE_PAGES = ["100000000000000000000", "9223372036854775808", "2147483648", "-1", "x", "1e9"]


@pytest.mark.parametrize("number", HUGE_PAGES)
def test_the_workspace_tables_clamp_page_numbers(client, as_member, number) -> None:
    event = as_member.event
    response = client.get(f"/manage/events/{event.id}/registrants?page={number}")
    assert response.status_code == 200
    assert "Registrants" in response.get_data(as_text=True)
    response = client.get(f"/manage/?page={number}")
    assert response.status_code == 200
    response = client.get(f"/manage/?status=draft&page={number}&organisation={number}")
    assert response.status_code == 200


@pytest.mark.parametrize("number", HUGE_PAGES)
def test_the_public_listings_clamp_page_numbers(client, world, make_topic, number) -> None:
    topic = make_topic("Climate")
    for path in (
        "/",
        "/events/",
        "/events/?when=past",
        f"/topics/{topic.slug}",
        f"/organisations/{world.organisation.slug}",
    ):
        response = client.get(f"{path}{'&' if '?' in path else '?'}page={number}")
        assert response.status_code == 200, path
