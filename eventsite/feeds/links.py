"""The "Add to calendar" links of an event (download, webcal:// subscribe, Google Calendar,
Outlook.com) and the absolute addresses of the secret feeds."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, urlencode

from flask import current_app
from flask_babel import gettext as _

from eventsite import links as site_links
from eventsite.accounts.models import User
from eventsite.events.models import Event
from eventsite.ical import builders
from eventsite.markup import markdown_to_text
from eventsite.organisations.models import Organisation


def webcal_url(url: str) -> str:
    """webcal:// asks the operating system's calendar app to subscribe."""
    for scheme in ("https://", "http://"):
        if url.startswith(scheme):
            return "webcal://" + url[len(scheme) :]
    return url


@dataclass(frozen=True)
class CalendarLinks:
    download: str
    subscribe: str
    google: str
    outlook: str


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
    """Download, subscribe, Google Calendar and Outlook.com links, times in UTC (all-day
    events as dates with an exclusive end)."""
    download = site_links.external_url("feeds.event_ics", slug=event.slug)
    page = builders.event_url(event, current_app.config["BASE_URL"])
    title = event.title if not event.is_cancelled else f"{_('Cancelled:')} {event.title}"
    details = _details(event, page)
    location = builders.event_location(event)
    # All-day events as dates (exclusive end), as in the .ics; past 31 December 9999
    # they cannot be, and like the .ics keep their instants in UTC.
    days = builders.all_day_dates(event) if event.is_all_day else None
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
        }
    )
    outlook = "https://outlook.live.com/calendar/0/deeplink/compose?" + _query(
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
        download=download, subscribe=webcal_url(download), google=google, outlook=outlook
    )


def personal_feed_url(user: User) -> str:
    return site_links.external_url("feeds.personal_feed", token=user.calendar_token)


def organisation_feed_url(organisation: Organisation) -> str | None:
    if not organisation.calendar_token:
        return None
    return site_links.external_url(
        "feeds.organisation_private_feed", token=organisation.calendar_token
    )
