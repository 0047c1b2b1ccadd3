"""Jinja filters and globals: Markdown, countries, and dates in the event's own zone."""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode, urlsplit

import pyuca
from babel import Locale
from babel.core import get_global
from babel.dates import (
    format_date,
    format_interval,
    format_skeleton,
    format_time,
    get_datetime_format,
    get_timezone_location,
)
from flask import Flask, current_app, request, url_for
from flask.templating import Environment
from flask_babel import get_locale
from markupsafe import Markup

from eventsite import i18n, markup, timeutil
from eventsite.i18n import gettext as _
from eventsite.i18n import lazy_gettext as _l

# Bare English is written the international way ("3 March 2027", "12 – 14 May 2027",
# 24-hour "09:00"): the audience is worldwide, and CLDR's plain "en" means US conventions.
_WORLD_ENGLISH_NAME = "en_GB"


def _locale() -> Locale:
    """The reader's locale for Babel's dates, numbers and names: world English for English."""
    return _for_locale_name(_locale_name())


def _locale_name() -> str:
    code = i18n.current_code()  # found once per request and language
    return _WORLD_ENGLISH_NAME if code == i18n.DEFAULT else code


@lru_cache(maxsize=16)
def _for_locale_name(name: str) -> Locale:
    return Locale.parse(name)


def _addresses() -> dict[str | None, tuple[str, str]]:
    """This page's address in each language (None: with no language said, the English
    canonical address and what `x-default` names), relative and absolute."""
    rule = request.url_rule
    if rule is not None and "GET" not in (rule.methods or ()):
        # A page answering a form whose address takes no GET (the account page's sections):
        # the home page, in that language.
        home = url_for("events.home")
        return _addresses_of(home, request.host_url.rstrip("/") + home, ())
    args = tuple((k, v) for k, v in request.args.items(multi=True) if k != i18n.QUERY)
    return _addresses_of(request.path, request.base_url, args)


@lru_cache(maxsize=256)
def _addresses_of(
    path: str, base_url: str, args: tuple[tuple[str, str], ...]
) -> dict[str | None, tuple[str, str]]:
    """Worked out once per address: every page shows them twice (the switcher and the
    alternates) for seven languages."""

    def with_args(base: str, code: str | None) -> str:
        query = [*args, (i18n.QUERY, code)] if code is not None else list(args)
        return f"{base}?{urlencode(query)}" if query else base

    return {
        code: (with_args(path, code), with_args(base_url, code)) for code in (None, *i18n.LANGUAGES)
    }


def language_links() -> list[dict[str, Any]]:
    """The switcher: this page in each language, named in itself (`?lang=xx`, which the
    browser then remembers)."""
    current = i18n.current_code()
    addresses = _addresses()
    return [
        {
            "code": code,
            "tag": i18n.html_lang(code),
            "name": name,
            "dir": i18n.direction(code),
            "href": addresses[code][0],
            "is_current": code == current,
        }
        for code, name in i18n.LANGUAGES.items()
    ]


def language_alternates() -> list[tuple[str, str]]:
    """(hreflang, address) of this page in every language, and `x-default`: for search
    engines. English is the address without `lang`."""
    addresses = _addresses()
    pairs = [
        (i18n.html_lang(code), addresses[None if code == i18n.DEFAULT else code][1])
        for code in i18n.LANGUAGES
    ]
    return [*pairs, ("x-default", addresses[None][1])]


def canonical_in_language(url: str) -> str:
    """A page's canonical address in the page's language: `url` itself for English,
    `url?lang=xx` for the others."""
    code = i18n.current_code()
    if code == i18n.DEFAULT:
        return url
    return f"{url}{'&' if '?' in url else '?'}{urlencode({i18n.QUERY: code})}"


def safe_url(url: str | None) -> str | None:
    """The URL when it is an absolute http(s) address, else None (never a javascript: link)."""
    if not url:
        return None
    parts = urlsplit(url.strip())
    if parts.scheme.lower() in ("http", "https") and parts.netloc:
        return url.strip()
    return None


def url_host(url: str | None) -> str:
    """The host of a URL, for showing where a link leads without its whole length."""
    return urlsplit(url or "").netloc


def country_name(code: str | None) -> str:
    if not code:
        return ""
    return _locale().territories.get(code.upper(), code.upper())


# CLDR names codes that are not places anyone lives in: pseudo-locales (XA, XB), the
# unknown region (ZZ), groupings (EU, EZ, UN, QO) and ISO's exceptionally reserved
# sub-territories (AC, CP, CQ, DG, EA, IC, TA), which belong to a country on the list.
# Kosovo (XK) is not in ISO 3166-1 but is the code people and CLDR use: it stays.
_NOT_COUNTRIES = frozenset(
    {"XA", "XB", "ZZ", "EU", "EZ", "UN", "QO", "AC", "CP", "CQ", "DG", "EA", "IC", "TA"}
)

# Babel has no collator; pyuca is the Unicode Collation Algorithm with the root (DUCET)
# order, so "Côte d'Ivoire" sorts before "Croatia" and "Åland" among the As.
_COLLATOR = pyuca.Collator()

COUNTRY_CODES = frozenset(
    code
    for code in Locale.parse("en").territories
    if len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES
)


def collation_key(text: str) -> tuple[int, ...]:
    """The sort key of a name in the order a reader looks names up (the UCA's root order:
    "Émile" among the Es, "Åsa" among the As)."""
    return _COLLATOR.sort_key(text)


def sort_by_name(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """(code, name) pairs in the order a reader looks them up: by name, collated."""
    return sorted(pairs, key=lambda pair: collation_key(pair[1]))


def country_choices(kept: str | None = None) -> list[tuple[str, str]]:
    """Real countries and territories (two-letter codes) named in the reader's language,
    by name. A stored code no longer on the list (kept) stays a choice, so editing a
    record never silently drops it."""
    locale = _locale()
    if not kept or kept.upper() in COUNTRY_CODES:
        return list(_countries_in(locale))
    names = locale.territories
    return sort_by_name([*_countries_in(locale), (kept.upper(), names.get(kept.upper(), kept))])


@lru_cache(maxsize=32)
def _countries_in(locale: Locale) -> tuple[tuple[str, str], ...]:
    # Collating 250 names costs ~20 ms (pyuca, pure Python): every form with a country
    # field paid it on each request, the registration POST included (issue #16 profile).
    names = locale.territories
    return tuple(sort_by_name((code, names.get(code, code)) for code in COUNTRY_CODES))


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


def utc_offset(value: datetime, tz_name: str) -> str:
    """ "UTC+2", "UTC-3", "UTC+5:30" for the zone at that instant."""
    offset = timeutil.to_local(value, tz_name).utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset else 0
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def zone_description(value: datetime, tz_name: str) -> str:
    """ "CEST, UTC+2" where the zone has letters, else just "UTC+8"."""
    label = zone_label(value, tz_name)
    offset = utc_offset(value, tz_name)
    if label == "UTC":
        return label
    if label == offset:
        return offset
    return f"{label}, {offset}"


@lru_cache(maxsize=4096)
def _zone_place(tz_name: str, locale_name: str) -> str:
    """ "Zurich, Switzerland": the zone's city and country in the reader's language."""
    locale = Locale.parse(locale_name)
    city = get_timezone_location(tz_name, locale=locale, return_city=True)
    territory = get_global("zone_territories").get(tz_name, "")
    country = locale.territories.get(territory) if territory in COUNTRY_CODES else None
    return f"{city}, {country}" if country else city


def timezone_label(tz_name: str, now: datetime) -> str:
    """ "Zurich, Switzerland (UTC+1)": city, country and the offset in force now."""
    if tz_name == "UTC":
        return _("UTC (Coordinated Universal Time)")
    return f"{_zone_place(tz_name, _locale_name())} ({utc_offset(now, tz_name)})"


def timezone_choices(
    now: datetime, first: Iterable[str] = (), kept: str | None = None
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The zones an organiser picks from (timeutil.timezone_names: canonical names only),
    as (name, label) pairs in two groups: `first` (the organisation's own zones, most
    recent first), then timeutil.COMMON_TIMEZONES; then every other zone by label. A stored
    name no longer on the list (kept: a legacy alias) stays a choice, first."""
    names = set(timeutil.timezone_names())
    front = list(dict.fromkeys([*first, *timeutil.COMMON_TIMEZONES]))
    if kept and kept not in names:
        names.add(kept)
        front.insert(0, kept)
    front = [name for name in front if name in names]
    rest = sort_by_name((name, timezone_label(name, now)) for name in names.difference(front))
    return [(name, timezone_label(name, now)) for name in front], rest


def utc_iso(value: datetime | None) -> str:
    """Machine-readable instant for <time datetime>: "2027-03-27T08:00:00Z"."""
    if value is None:
        return ""
    return value.astimezone(timeutil.zone("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ")


def local_datetime(value: datetime | None, tz_name: str, fmt: str = "medium") -> str:
    """A moment in the given zone with the zone said: "14 Mar 2027, 09:00 CET" (medium),
    "14/03/2027, 09:00 CET" (short), "14 March 2027 at 09:00 CET" (long). `fmt` is the
    date's length; the time is always hours and minutes, as the locale writes them."""
    if value is None:
        return ""
    locale = _locale()
    day = format_date(timeutil.to_local(value, tz_name).date(), fmt, locale=locale)
    clock = format_time(value, "short", tzinfo=timeutil.zone(tz_name), locale=locale)
    pattern = str(get_datetime_format(fmt, locale=locale)).replace("'", "")
    moment = pattern.replace("{0}", clock).replace("{1}", day)
    return f"{moment} {zone_label(value, tz_name)}"


def local_date(value: datetime | None, tz_name: str, fmt: str = "medium") -> str:
    """The day of a moment in the given zone ("14 Mar 2027")."""
    if value is None:
        return ""
    return format_date(timeutil.to_local(value, tz_name).date(), fmt, locale=_locale())


def local_time(value: datetime | None, tz_name: str, fmt: str = "short") -> str:
    """The wall-clock time alone ("09:00"): for ranges, which say their zone once after
    the end (`zone_label`)."""
    if value is None:
        return ""
    return format_time(value, fmt, tzinfo=timeutil.zone(tz_name), locale=_locale())


def local_time_range(start: datetime, end: datetime, tz_name: str) -> str:
    """ "Sat 27 Mar 2027, 09:00 – 10:30 CET": a session's day, hours and zone."""
    locale = _locale()
    day = format_skeleton("yMMMEd", timeutil.to_local(start, tz_name), locale=locale)
    return f"{day}, {local_time(start, tz_name)} – {local_time(end, tz_name)} " + zone_label(
        start, tz_name
    )


def short_day(day: date) -> str:
    """ "14 Mar": a day on a chart's axis."""
    return format_skeleton("MMMd", day, locale=_locale())


def medium_day(day: date) -> str:
    """ "14 Mar 2027": a calendar day (already in the event's zone)."""
    return format_date(day, "medium", locale=_locale())


def day_heading(day: Any) -> str:
    """ "Saturday, 27 March 2027" for an agenda day (a date already in the event's zone)."""
    return format_date(day, "full", locale=_locale())


def event_dates(event: Any) -> str:
    """'12–14 May 2027' style dates of an event in its own zone."""
    return _event_dates(
        event.starts_at, event.ends_at, event.timezone, event.is_all_day, _locale_name()
    )


def event_times(event: Any) -> str:
    """'09:00 – 17:30 CST' in the event's zone, empty for all-day events."""
    if event.is_all_day:
        return ""
    return _event_times(event.starts_at, event.ends_at, event.timezone, _locale_name())


# Babel's formatting is the costliest part of a listing page, and the same events are
# shown again and again: remember the strings (the arguments are immutable values).
@lru_cache(maxsize=4096)
def _event_dates(
    starts_at: datetime, ends_at: datetime, tz_name: str, is_all_day: bool, locale_name: str
) -> str:
    start = timeutil.to_local(starts_at, tz_name)
    end = timeutil.to_local(ends_at, tz_name)
    # An all-day event's stored end is the exclusive midnight after its last day.
    last_day = (end - timedelta(seconds=1)).date() if is_all_day else end.date()
    locale = Locale.parse(locale_name)
    if start.date() == last_day:
        return format_date(start.date(), "medium", locale=locale)
    return format_interval(start.date(), last_day, "yMMMd", locale=locale)


@lru_cache(maxsize=4096)
def _event_times(starts_at: datetime, ends_at: datetime, tz_name: str, locale_name: str) -> str:
    locale = Locale.parse(locale_name)
    zone = timeutil.zone(tz_name)
    start = format_time(starts_at, "short", tzinfo=zone, locale=locale)
    end = format_time(ends_at, "short", tzinfo=zone, locale=locale)
    return f"{start} – {end} {zone_label(starts_at, tz_name)}"


def event_schedule(event: Any) -> list[str]:
    """The event's hours in its own zone with the zone named, one line per fact:
    ["09:00 – 17:30 (CET, UTC+1)"] for a one-day event, "Starts …"/"Ends …" otherwise."""
    if event.is_all_day:
        return [_("All day (%(zone)s)", zone=event.timezone)]
    start = timeutil.to_local(event.starts_at, event.timezone)
    end = timeutil.to_local(event.ends_at, event.timezone)
    start_zone = zone_description(event.starts_at, event.timezone)
    end_zone = zone_description(event.ends_at, event.timezone)
    if start.date() == end.date():
        zone_text = start_zone if start_zone == end_zone else f"{start_zone} / {end_zone}"
        return [
            f"{local_time(event.starts_at, event.timezone)} – "
            f"{local_time(event.ends_at, event.timezone)} ({zone_text})"
        ]
    locale = _locale()

    def moment(local: datetime, value: datetime) -> str:
        day = format_skeleton("yMMMEd", local, locale=locale)
        return f"{day}, {local_time(value, event.timezone)}"

    return [
        _("Starts %(when)s (%(zone)s)", when=moment(start, event.starts_at), zone=start_zone),
        _("Ends %(when)s (%(zone)s)", when=moment(end, event.ends_at), zone=end_zone),
    ]


def map_url(event: Any) -> str | None:
    """An OpenStreetMap link to the venue: its coordinates, else a search for its address."""
    if event.latitude is not None and event.longitude is not None:
        lat, lon = f"{event.latitude:.5f}", f"{event.longitude:.5f}"
        return f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=16/{lat}/{lon}"
    parts = [event.venue_name, event.venue_address, event.city, country_name(event.country)]
    query = ", ".join(part for part in parts if part)
    if not query:
        return None
    return "https://www.openstreetmap.org/search?" + urlencode({"query": query})


def bdi(value: Any) -> Markup:
    """`value` (escaped) in a <bdi>: a name, an email address or a code put into a translated
    sentence keeps its own direction and leaves the words around it in place (a Latin name
    inside Arabic text). Only for element content, never an attribute or the <title>."""
    return Markup("<bdi>%s</bdi>") % value


_TAGLINE = _l("Forums and conferences on science, technology and society")


def site_tagline() -> str:
    """The operator's SITE_TAGLINE as they wrote it, else ours in the visitor's language."""
    return current_app.config["SITE_TAGLINE"] or str(_TAGLINE)


class SharedGlobalsEnvironment(Environment):
    """Flask's Jinja environment, where a template without globals of its own shares the
    environment's dict rather than a `ChainMap` over it. Every render, include and import
    copies its template's globals into a new context: from a ChainMap that is a Python-level
    lookup per global (44 of them, ~10 µs a copy, several copies a page), from a dict one C
    call. The globals are all set while the app is built, before any template is loaded,
    and nothing writes to a template's globals afterwards."""

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        return self.globals if not d else super().make_globals(d)


def register_template_helpers(app: Flask) -> None:
    app.jinja_env.filters.update(
        markdown=markup.render_markdown,
        country_name=country_name,
        local_datetime=local_datetime,
        local_date=local_date,
        local_time=local_time,
        short_day=short_day,
        medium_day=medium_day,
        zone_label=zone_label,
        day_heading=day_heading,
        utc_offset=utc_offset,
        zone_description=zone_description,
        utc_iso=utc_iso,
        safe_url=safe_url,
        url_host=url_host,
        bdi=bdi,
    )
    app.jinja_env.globals.update(
        event_dates=event_dates,
        event_times=event_times,
        event_schedule=event_schedule,
        local_time_range=local_time_range,
        map_url=map_url,
        country_choices=country_choices,
        get_locale=get_locale,
        language_links=language_links,
        language_alternates=language_alternates,
        canonical_in_language=canonical_in_language,
    )

    @app.context_processor
    def _site() -> dict[str, Any]:
        return {
            "site_name": current_app.config["SITE_NAME"],
            # Translated where a page shows it (most keep it in their layout's kept footer).
            "site_tagline": current_app.config["SITE_TAGLINE"] or _TAGLINE,
        }
