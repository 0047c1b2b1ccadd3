"""An event's registration statistics, and the geometry of a small server-drawn SVG chart."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select

from eventsite import timeutil
from eventsite.accounts.models import User
from eventsite.events.models import Event
from eventsite.extensions import db
from eventsite.registration.models import Registration

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 44, 44, 16, 36
MAX_DAILY_BUCKETS = 120


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    day: date
    count: int


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    line: str  # polyline points of the running total
    left_ticks: list[tuple[float, int]]  # (y, new registrations per bucket)
    right_ticks: list[tuple[float, int]]  # (y, running total)
    x_labels: list[tuple[float, date]]
    weekly: bool
    total: int
    baseline: float


def registrations_per_day(event: Event) -> list[tuple[date, int]]:
    """New registrations (any status) per day in the event's zone, gaps filled with 0."""
    created = db.session.scalars(
        select(Registration.created_at).where(Registration.event_id == event.id)
    )
    per_day = Counter(timeutil.to_local(value, event.timezone).date() for value in created)
    if not per_day:
        return []
    first, last = min(per_day), max(per_day)
    return [
        (first + timedelta(days=n), per_day.get(first + timedelta(days=n), 0))
        for n in range((last - first).days + 1)
    ]


def _weekly(days: list[tuple[date, int]]) -> list[tuple[date, int]]:
    weeks: Counter[date] = Counter()
    for day, n in days:
        weeks[day - timedelta(days=day.weekday())] += n
    return sorted(weeks.items())


def _ticks(maximum: int) -> list[int]:
    if maximum <= 0:
        return [0]
    step = max(1, -(-maximum // 4))
    return list(range(0, maximum + step, step))[:6]


def chart(days: list[tuple[date, int]]) -> Chart | None:
    if not days:
        return None
    weekly = len(days) > MAX_DAILY_BUCKETS
    buckets = _weekly(days) if weekly else days
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    baseline = TOP + plot_h
    slot = plot_w / len(buckets)
    bar_w = max(slot * 0.7, 1.0)
    left_max = _ticks(max(n for _d, n in buckets))[-1] or 1
    totals = []
    running = 0
    for _day, n in buckets:
        running += n
        totals.append(running)
    right_max = _ticks(running)[-1] or 1
    bars = []
    points = []
    for i, ((day, n), total) in enumerate(zip(buckets, totals, strict=True)):
        height = plot_h * n / left_max
        x = LEFT + i * slot + (slot - bar_w) / 2
        bars.append(Bar(round(x, 1), round(baseline - height, 1), round(bar_w, 1),
                        round(height, 1), day, n))  # fmt: skip
        cx = LEFT + i * slot + slot / 2
        points.append(f"{cx:.1f},{baseline - plot_h * total / right_max:.1f}")
    every = max(1, len(buckets) // 6)
    x_labels = [
        (round(LEFT + i * slot + slot / 2, 1), day)
        for i, (day, _n) in enumerate(buckets)
        if i % every == 0
    ]
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        bars=bars,
        line=" ".join(points),
        left_ticks=[(round(baseline - plot_h * t / left_max, 1), t) for t in _ticks(left_max)],
        right_ticks=[(round(baseline - plot_h * t / right_max, 1), t) for t in _ticks(right_max)],
        x_labels=x_labels,
        weekly=weekly,
        total=running,
        baseline=baseline,
    )


def by_country(event: Event) -> list[tuple[str | None, int]]:
    """Registrations per country of the person's account, most first."""
    rows = db.session.execute(
        select(User.country, func.count())
        .join(Registration, Registration.user_id == User.id)
        .where(Registration.event_id == event.id)
        .group_by(User.country)
        .order_by(func.count().desc(), User.country)
    )
    return [(country, int(n)) for country, n in rows]
