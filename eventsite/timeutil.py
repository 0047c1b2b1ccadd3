"""Time in one place: aware UTC everywhere inside, the event's own zone at the edges."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlalchemy import DateTime, literal_column
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso_or_none(value: datetime | None) -> str | None:
    """ISO 8601, or None for no moment (the personal-data export's sections)."""
    return value.isoformat() if value else None


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in Python; naive UTC on SQLite, timestamptz on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; attach a timezone first")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class database_time_ago(FunctionElement[datetime]):
    """The database's clock `seconds` ago, in SQL: a moment every server reading it agrees
    on, whatever its own clock says."""

    type = UTCDateTime()
    inherit_cache = True

    def __init__(self, seconds: int) -> None:
        # Written into the SQL, not bound: a prepared statement's generic plan then still
        # knows the range is short and reads it from the index.
        super().__init__(literal_column(str(int(seconds))))


@compiles(database_time_ago)
def _time_ago_postgresql(element: database_time_ago, compiler: SQLCompiler, **kw: object) -> str:
    return f"(CURRENT_TIMESTAMP - make_interval(secs => {compiler.process(element.clauses, **kw)}))"


@compiles(database_time_ago, "sqlite")
def _time_ago_sqlite(element: database_time_ago, compiler: SQLCompiler, **kw: object) -> str:
    # The text SQLite stores UTCDateTime as ("YYYY-MM-DD HH:MM:SS.ffffff") compares in order.
    seconds = compiler.process(element.clauses, **kw)
    return f"datetime('now', '-' || {seconds} || ' seconds')"


def _zone_table() -> str:
    """tzdata's zone.tab, from where zoneinfo reads the zones (the system's TZPATH first,
    then the tzdata package)."""
    for folder in zoneinfo.TZPATH:
        path = Path(folder) / "zone.tab"
        if path.is_file():
            return path.read_text(encoding="utf-8")
    return resources.files("tzdata.zoneinfo").joinpath("zone.tab").read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def timezone_names() -> tuple[str, ...]:
    """IANA zone names offered to organisers: the canonical zones of tzdata's zone.tab
    (Asia/Kolkata, America/Sao_Paulo; never the legacy aliases Asia/Calcutta or
    Brazil/East, which some calendar clients do not know) plus UTC."""
    listed = {
        line.split("\t")[2]
        for line in _zone_table().splitlines()
        if line and not line.startswith("#")
    }
    return tuple(sorted((listed & available_timezones()) | {"UTC"}))


# Zones many events are held in, offered after the organisation's own (canonical names).
COMMON_TIMEZONES = (
    "UTC",
    "Europe/London",
    "Europe/Paris",
    "Europe/Berlin",
    "Europe/Zurich",
    "Africa/Nairobi",
    "Africa/Lagos",
    "Africa/Johannesburg",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "Asia/Dubai",
    "Asia/Kolkata",
    "Asia/Singapore",
    "Asia/Shanghai",
    "Asia/Tokyo",
    "Australia/Sydney",
)


def is_valid_timezone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def to_local(value: datetime, tz_name: str) -> datetime:
    return value.astimezone(zone(tz_name))


def local_to_utc(value: datetime, tz_name: str) -> datetime:
    """A wall-clock time in the given zone to aware UTC.

    Times that fall in a DST gap are moved forward by PEP 495 rules (fold=0);
    ambiguous times take the first occurrence.
    """
    if value.tzinfo is not None:
        return value.astimezone(UTC)
    return value.replace(tzinfo=zone(tz_name)).astimezone(UTC)


def local_day_start(day: date, tz_name: str) -> datetime:
    return local_to_utc(datetime.combine(day, time.min), tz_name)


def all_day_bounds(first: date, last: date, tz_name: str) -> tuple[datetime, datetime]:
    """UTC instants for an all-day event: local midnight of the first day to the
    local midnight after the last day (exclusive end, as in iCalendar)."""
    return local_day_start(first, tz_name), local_day_start(last + timedelta(days=1), tz_name)
