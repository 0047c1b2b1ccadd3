"""The event form's helpers: the time-zone picker (canonical names, common ones first,
labelled with city, country and offset, defaulting to the organisation's last zone) and
the preview of the event's web address."""

from __future__ import annotations

import re
from datetime import timedelta

from eventsite import timeutil
from eventsite.extensions import db
from eventsite.models import JoinedVia, Membership

from ..conftest import NOW


def _options(page: str) -> list[str]:
    select = page[page.index('<select aria-describedby="timezone-help"') :]
    select = select[: select.index("</select>")]
    return re.findall(r'<option (?:selected )?value="([^"]+)"', select)


def _selected_zone(page: str) -> str:
    select = page[page.index('id="timezone"') :]
    return re.search(r'<option selected value="([^"]+)"', select).group(1)


def _new_event_page(client, organisation) -> str:
    response = client.get(f"/manage/organisations/{organisation.id}/events/new")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_zone_list_has_canonical_names_only_with_the_common_ones_first(
    client, as_member
) -> None:
    page = _new_event_page(client, as_member.organisation)
    options = _options(page)
    assert len(options) == len(set(options)) == len(timeutil.timezone_names())
    for alias in ("US/Eastern", "Asia/Calcutta", "Europe/Kiev", "GMT", "Etc/GMT+5"):
        assert alias not in options
    assert "Europe/Kyiv" in options and "Asia/Kolkata" in options
    # The organisation's zone first, then the widely used ones, then the rest.
    common = [z for z in timeutil.COMMON_TIMEZONES if z != "Europe/Zurich"]
    assert options[: 1 + len(common)] == ["Europe/Zurich", *common]
    assert '<optgroup label="Common time zones">' in page
    assert '<optgroup label="All time zones">' in page
    # Each with its city, country and the offset in force now.
    assert re.search(r'<option value="America/New_York">New York, United States \(UTC-[45]\)', page)
    assert '<option value="Asia/Kolkata">Kolkata, India (UTC+5:30)</option>' in page
    assert "UTC (Coordinated Universal Time)" in page
    # A filter for the script, which is served from the site (CSP: no inline script).
    assert 'data-filter-placeholder="City or country"' in page
    assert '<script src="/static/event-form.js" defer></script>' in page


def test_a_new_event_starts_in_the_organisations_last_zone(client, as_member, make_event) -> None:
    organisation = as_member.organisation
    make_event(organisation=organisation, timezone="Asia/Tokyo", created_at=timeutil.utcnow())
    make_event(
        organisation=organisation, timezone="America/Lima", created_at=NOW - timedelta(days=400)
    )
    page = _new_event_page(client, organisation)
    assert _selected_zone(page) == "Asia/Tokyo"
    options = _options(page)
    assert (
        options.index("Asia/Tokyo")
        < options.index("Europe/Zurich")
        < options.index("America/Lima")
        < options.index("UTC")
    )
    assert "data-prefer-browser" not in page


def test_an_organisations_first_event_starts_in_utc_or_the_browsers_zone(
    client, as_member, make_organisation
) -> None:
    newcomer = make_organisation(name="Newcomers")
    db.session.add(
        Membership(user=as_member.member, organisation=newcomer, joined_via=JoinedVia.INVITATION)
    )
    db.session.commit()
    page = _new_event_page(client, newcomer)
    assert _selected_zone(page) == "UTC"
    assert 'data-prefer-browser="true"' in page  # event-form.js picks the browser's zone
    assert _options(page)[: len(timeutil.COMMON_TIMEZONES)] == list(timeutil.COMMON_TIMEZONES)


def test_an_unknown_zone_is_refused_with_nothing_stored(client, as_member, event_form) -> None:
    url = f"/manage/organisations/{as_member.organisation.id}/events/new"
    for zone in ("US/Eastern", "Mars/Olympus", "x" * 5000):
        response = client.post(url, data=event_form(timezone=zone, title="Zone test"))
        assert response.status_code == 422
        assert "Not a valid choice" in response.get_data(as_text=True)
    assert "Zone test" not in client.get("/manage/").get_data(as_text=True)


def test_the_web_address_is_previewed_under_the_field(client, as_member, event_form) -> None:
    page = _new_event_page(client, as_member.organisation)
    assert "The event's web address:" in page
    assert "http://localhost/events/(made from the title)</output>" in page
    # After a refused save the preview follows what was typed: the title, or the address.
    url = f"/manage/organisations/{as_member.organisation.id}/events/new"
    refused = client.post(url, data=event_form(title="Über Forum", ends_local="bad"))
    assert refused.status_code == 422
    assert "http://localhost/events/uber-forum</output>" in refused.get_data(as_text=True)
    refused = client.post(url, data=event_form(slug="My Forum 2027", ends_local="bad"))
    assert "http://localhost/events/my-forum-2027</output>" in refused.get_data(as_text=True)
    # A published event's address is fixed: the preview shows it, the script leaves it.
    event = as_member.event
    page = client.get(f"/manage/events/{event.id}/edit").get_data(as_text=True)
    assert f'data-fixed="true">http://localhost/events/{event.slug}</output>' in page
