"""Jinja filters and globals: Markdown, countries, and dates in the event's own zone."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from babel import Locale
from babel.dates import format_date, format_datetime, format_interval, format_time
from flask import Flask, current_app
from flask_babel import get_locale

from eventsite import markup, timeutil


def _locale() -> Locale:
    return get_locale() or Locale("en")


def country_name(code: str | None) -> str:
    if not code:
        return ""
    return _locale().territories.get(code.upper(), code.upper())


def country_choices() -> list[tuple[str, str]]:
    """ISO 3166-1 alpha-2 codes with their names in the current language, by name."""
    territories = _locale().territories
    pairs = [
        (code, name) for code, name in territories.items() if len(code) == 2 and code.isalpha()
    ]
    return sorted(pairs, key=lambda pair: pair[1])


def zone_label(value: datetime, tz_name: str) -> str:
    """The zone's abbreviation at that instant ("CET", "EAT"), or "UTC+8" when the zone
    has no letters for it."""
    local = timeutil.to_local(value, tz_name)
    abbrev = local.tzname() or ""
    if abbrev and abbrev[0] not in "+-":
        return abbrev
    offset = local.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset else 0
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def local_datetime(value: datetime | None, tz_name: str, fmt: str = "medium") -> str:
    if value is None:
        return ""
    return format_datetime(value, fmt, tzinfo=timeutil.zone(tz_name), locale=_locale())


def local_date(value: datetime | None, tz_name: str, fmt: str = "medium") -> str:
    if value is None:
        return ""
    return format_date(timeutil.to_local(value, tz_name).date(), fmt, locale=_locale())


def local_time(value: datetime | None, tz_name: str, fmt: str = "short") -> str:
    if value is None:
        return ""
    return format_time(value, fmt, tzinfo=timeutil.zone(tz_name), locale=_locale())


def event_dates(event: Any) -> str:
    """'12–14 May 2027' style dates of an event in its own zone."""
    start = timeutil.to_local(event.starts_at, event.timezone)
    end = timeutil.to_local(event.ends_at, event.timezone)
    # An all-day event's stored end is the exclusive midnight after its last day.
    last_day = (end - timedelta(seconds=1)).date() if event.is_all_day else end.date()
    locale = _locale()
    if start.date() == last_day:
        return format_date(start.date(), "medium", locale=locale)
    return format_interval(start.date(), last_day, "yMMMd", locale=locale)


def event_times(event: Any) -> str:
    """'09:00 – 17:30 CST' in the event's zone, empty for all-day events."""
    if event.is_all_day:
        return ""
    start = local_time(event.starts_at, event.timezone)
    end = local_time(event.ends_at, event.timezone)
    return f"{start} – {end} {zone_label(event.starts_at, event.timezone)}"


def register_template_helpers(app: Flask) -> None:
    app.jinja_env.filters.update(
        markdown=markup.render_markdown,
        country_name=country_name,
        local_datetime=local_datetime,
        local_date=local_date,
        local_time=local_time,
        zone_label=zone_label,
    )
    app.jinja_env.globals.update(
        event_dates=event_dates,
        event_times=event_times,
        country_choices=country_choices,
        has_endpoint=lambda name: name in app.view_functions,
    )

    @app.context_processor
    def _site() -> dict[str, Any]:
        return {
            "site_name": current_app.config["SITE_NAME"],
            "site_tagline": current_app.config["SITE_TAGLINE"],
        }
