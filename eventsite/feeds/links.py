"""The "Add to calendar" links of an event (download, subscribe, Google Calendar, Outlook.com,
Microsoft 365), the "Subscribe" links of a feed (webcal://, Google Calendar, Outlook.com,
Microsoft 365) and the absolute addresses of the secret feeds."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, urlencode

from flask import current_app

from eventsite import links as site_links
from eventsite.events.models import Event
from eventsite.i18n import gettext as _
from eventsite.ical import content
from eventsite.markup import markdown_to_text
from eventsite.organisations.models import Organisation


def webcal_url(url: str) -> str:
    """webcal:// asks the operating system's calendar app to subscribe."""
    for scheme in ("https://", "http://"):
        if url.startswith(scheme):
            return "webcal://" + url[len(scheme) :]
    return url


@dataclass(frozen=True)
class FeedLinks:
    """Ways to subscribe to one feed. A webcal:// link does nothing for someone who only
    uses Google Calendar or Outlook on the web: each has its own "add from URL" page."""

    url: str  # the feed's https:// address
    webcal: str  # the operating system's calendar app (Apple Calendar, Outlook, Thunderbird)
    google: str
    outlook: str  # Outlook.com (personal Microsoft accounts)
    office365: str  # Outlook on the web for work or school (Microsoft 365)


def feed_links(url: str, name: str) -> FeedLinks:
    """`url` is the feed's absolute address, `name` what the calendar is called."""
    webcal = webcal_url(url)
    # Google takes the feed as `cid` (a webcal:// address is what its own "From URL" uses).
    google = "https://calendar.google.com/calendar/render?" + _query({"cid": webcal})
    add_from_web = _query({"url": url, "name": name})
    return FeedLinks(
        url=url,
        webcal=webcal,
        google=google,
        outlook=f"https://outlook.live.com/calendar/0/addfromweb?{add_from_web}",
        office365=f"https://outlook.office.com/calendar/0/addfromweb?{add_from_web}",
    )


@dataclass(frozen=True)
class CalendarLinks:
    download: str
    subscribe: FeedLinks  # the event's own feed: updates follow, named after the event
    google: str
    outlook: str
    office365: str


def _utc_stamp(value: datetime, separators: bool = False) -> str:
    # Formatted by hand: strftime's %Y drops the leading zeros of years before 1000.
    value = value.astimezone(UTC)
    if separators:
        return (
            f"{value.year:04}-{value.month:02}-{value.day:02}"
            f"T{value.hour:02}:{value.minute:02}:{value.second:02}Z"
        )
    return (
        f"{value.year:04}{value.month:02}{value.day:02}"
        f"T{value.hour:02}{value.minute:02}{value.second:02}Z"
    )


def _details(event: Event, url: str, limit: int = 1000) -> str:
    text = event.summary.strip() or event.description_text or markdown_to_text(event.description)
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return f"{text}\n\n{url}" if text else url


def _query(params: Mapping[str, str]) -> str:
    # Slashes and colons stay readable in dates and paths; everything else is escaped.
    return urlencode(params, quote_via=quote, safe="/:")


def calendar_links(event: Event) -> CalendarLinks:
    """Download, subscribe, Google Calendar, Outlook.com and Microsoft 365 links, times in
    UTC (all-day events as dates with an exclusive end); Google is also told the event's
    zone (`ctz`), so the event shows in it."""
    download = site_links.external_url("feeds.event_ics", slug=event.slug)
    feed = site_links.external_url("feeds.event_feed", slug=event.slug)
    page = content.event_url(event, current_app.config["BASE_URL"])
    title = event.title if not event.is_cancelled else f"{_('Cancelled:')} {event.title}"
    details = _details(event, page)
    location = content.event_location(event)
    # All-day events as dates (exclusive end), as in the .ics; past 31 December 9999
    # they cannot be, and like the .ics keep their instants in UTC.
    days = content.all_day_dates(event) if event.is_all_day else None
    if days is not None:
        first, end = days
        google_dates = "/".join(day.isoformat().replace("-", "") for day in days)
        outlook_times = {"startdt": first.isoformat(), "enddt": end.isoformat(), "allday": "true"}
    else:
        google_dates = f"{_utc_stamp(event.starts_at)}/{_utc_stamp(event.ends_at)}"
        outlook_times = {
            "startdt": _utc_stamp(event.starts_at, separators=True),
            "enddt": _utc_stamp(event.ends_at, separators=True),
        }
    google = "https://calendar.google.com/calendar/render?" + _query(
        {
            "action": "TEMPLATE",
            "text": title,
            "dates": google_dates,
            "details": details,
            "location": location,
            "ctz": event.timezone,
        }
    )
    # Outlook.com and Microsoft 365 (work or school accounts) take the same compose link
    # on their own hosts.
    compose = "/calendar/0/deeplink/compose?" + _query(
        {
            "path": "/calendar/action/compose",
            "rru": "addevent",
            "subject": title,
            **outlook_times,
            "body": details,
            "location": location,
        }
    )
    return CalendarLinks(
        download=download,
        subscribe=feed_links(feed, event.title),
        google=google,
        outlook=f"https://outlook.live.com{compose}",
        office365=f"https://outlook.office.com{compose}",
    )


def personal_feed_url(token: str) -> str:
    """The personal feed's address for a token just made (only its hash is stored)."""
    return site_links.external_url("feeds.personal_feed", token=token)


def organisation_feed_url(organisation: Organisation) -> str | None:
    if not organisation.calendar_token:
        return None
    return site_links.external_url(
        "feeds.organisation_private_feed", token=organisation.calendar_token
    )
