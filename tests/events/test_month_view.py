"""The month view of the listing: the grid, its filters, moving between months, and the
`month=` values it cannot show."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime, timedelta

import pytest

from eventsite.events import month, services
from eventsite.events.models import EventFormat, EventStatus
from eventsite.timeutil import utcnow


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def days_with(response) -> dict[str, list[str]]:
    """{"2027-01-04": [titles of the events shown that day]} for the days with events."""
    body = response.get_data(as_text=True)
    found: dict[str, list[str]] = {}
    for day, cell in re.findall(
        r'<li class="month-day[^"]*">\s*<h2 class="month-day-heading">'
        r'<time datetime="([\d-]+)">(.*?)</li>\s*(?=<li class="month-day|</ol>)',
        body,
        flags=re.S,
    ):
        titles = [
            html.unescape(t) for t in re.findall(r'<a href="/events/[^"]+">([^<]+)</a>', cell)
        ]
        if titles:
            found[day] = titles
    return found


def at(day: int, hour: int = 9, month_: int = 1, year: int = 2027) -> datetime:
    return datetime(year, month_, day, hour, 0, tzinfo=UTC)


def test_month_grid_shows_each_event_on_its_days(client, make_event) -> None:
    make_event(title="One day", starts_at=at(4), ends_at=at(4, 17))
    make_event(title="Three days", starts_at=at(12), ends_at=at(14, 16))
    make_event(title="Across months", starts_at=at(30, 9, 1), ends_at=at(2, 17, 2))
    make_event(title="February", starts_at=at(10, 9, 2))
    make_event(title="Draft", starts_at=at(4), status=EventStatus.DRAFT, published_at=None)

    response = client.get("/events/calendar?month=2027-01")
    assert response.status_code == 200
    page = text(response)
    assert '<h1 id="month-heading">January 2027</h1>' in page
    assert "4 events this month" not in page and "3 events this month" in page
    assert days_with(response) == {
        "2027-01-04": ["One day"],
        "2027-01-12": ["Three days"],
        "2027-01-13": ["Three days"],
        "2027-01-14": ["Three days"],
        "2027-01-30": ["Across months"],
        "2027-01-31": ["Across months"],
    }
    # Every week is whole: the grid starts on the Monday (English: Sunday) before the 1st.
    cells = re.findall(r'<li class="month-day', page)
    assert len(cells) % 7 == 0
    assert 'href="/events/calendar?month=2026-12" rel="prev"' in page
    assert 'href="/events/calendar?month=2027-02" rel="next"' in page


def test_month_view_uses_the_listings_filters(client, make_event, make_topic) -> None:
    water = make_topic("Water", "water")
    make_event(title="Online water", starts_at=at(5), format=EventFormat.ONLINE, topics=[water])
    make_event(title="Hall water", starts_at=at(6), topics=[water])
    make_event(title="Online other", starts_at=at(7), format=EventFormat.ONLINE)

    response = client.get("/events/calendar?month=2027-01&topic=water&format=online")
    assert response.status_code == 200
    assert days_with(response) == {"2027-01-05": ["Online water"]}
    page = text(response)
    # The filters travel with the months, and the form keeps the month.
    assert 'href="/events/calendar?topic=water&format=online&month=2027-02"' in page
    assert '<input type="hidden" name="month" value="2027-01">' in page
    assert '<option value="water" selected>' in page
    assert re.search(r'class="filters-in-use">Water · Online<', page)
    assert '<meta name="robots" content="noindex, follow">' in page

    searched = client.get("/events/calendar?month=2027-01&q=hall")
    assert days_with(searched) == {"2027-01-06": ["Hall water"]}


def test_listing_links_to_the_month_view_with_its_filters(client, make_event) -> None:
    make_event()
    page = text(client.get("/events/?format=online"))
    assert '<a href="/events/calendar?format=online">Month view</a>' in page


def test_month_view_defaults_to_this_month(client, make_event) -> None:
    today = utcnow().date()
    make_event(
        title="Soon",
        starts_at=datetime.combine(today, datetime.min.time(), UTC) + timedelta(hours=12),
    )
    response = client.get("/events/calendar")
    assert response.status_code == 200
    assert f'<time datetime="{today.isoformat()}">' in response.get_data(as_text=True)
    assert days_with(response)[today.isoformat()] == ["Soon"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2027-13", "There is no month 13: months go from 01 to 12."),
        ("2027-00", "There is no month 0: months go from 01 to 12."),
        ("abc", "“abc” is not a month: use the form YYYY-MM, e.g. 2027-01."),
        ("99999-01", "“99999-01” is not a month: use the form YYYY-MM, e.g. 2027-01."),
        ("0001-01", "The calendar shows the years 1900 to 2200."),
        ("2027-1", "“2027-1” is not a month: use the form YYYY-MM, e.g. 2027-01."),
        ("\x00", "is not a month"),
        ("x" * 5000, "is not a month"),
    ],
)
def test_a_bad_month_says_why_with_a_400(client, value: str, message: str) -> None:
    response = client.get("/events/calendar", query_string={"month": value})
    assert response.status_code == 400
    page = text(response)
    assert message in page
    assert "private" in response.headers["Cache-Control"]
    # ...over this month's grid.
    assert f'<time datetime="{utcnow().date().isoformat()}">' in page


def test_calendar_is_never_an_events_address(app, make_organisation) -> None:
    organisation = make_organisation()
    start = utcnow() + timedelta(days=10)
    times = {"starts_at": start, "ends_at": start + timedelta(hours=2), "timezone": "UTC"}
    event = services.create_event(organisation, {"title": "Calendar", **times}, utcnow())
    assert event.slug == "calendar-2"
    with pytest.raises(services.rules.EventError, match="Another event already uses"):
        services.create_event(organisation, {"title": "Cal", "slug": "calendar", **times}, utcnow())


def test_weeks_start_on_the_locales_first_day(app) -> None:
    with app.test_request_context("/"):
        weeks = month.weeks(date(2027, 2, 1), [])
    assert len(weeks) in (4, 5, 6)
    assert all(len(week) == 7 for week in weeks)
    assert weeks[0][0].day <= date(2027, 2, 1) <= weeks[0][-1].day
    assert [d.day for d in weeks[0]] == sorted(d.day for d in weeks[0])


@pytest.mark.parametrize("value", ["２０２７-０１", "٢٠٢٧-٠١", "2027-01-01", "-2027-01", "2027--1"])
def test_only_plain_digits_make_a_month(value: str) -> None:
    with pytest.raises(month.BadMonth):
        month.parse_month(value, date(2026, 12, 3))
