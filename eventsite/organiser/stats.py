"""An event's registration statistics (places against capacity, answers per choice), and
the geometry of a small server-drawn SVG chart."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import bindparam, func, select, text

from eventsite import database, templating, timeutil
from eventsite.accounts.models import User
from eventsite.events.models import Event
from eventsite.extensions import db
from eventsite.i18n import gettext as _
from eventsite.registration import queries as registration_queries
from eventsite.registration.models import (
    ACTIVE_STATUSES,
    Question,
    QuestionKind,
    Registration,
    RegistrationStatus,
)

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
    """New registrations (any status) per day in the event's zone, gaps filled with 0.
    PostgreSQL counts them per local day itself (`timezone()` knows the IANA zones): one
    row a day, not one per registration (scale bench, 100,000 registrations)."""
    if db.session.get_bind().dialect.name == "postgresql":
        day = func.date(func.timezone(event.timezone, Registration.created_at))
        rows = db.session.execute(
            select(day, func.count()).where(Registration.event_id == event.id).group_by(day)
        )
        per_day = Counter({local_day: int(n) for local_day, n in rows})
    else:
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


# --- capacity --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Capacity:
    """The event's places: how many people hold one (confirmed, awaiting approval), wait
    for one, and how many are still free; `capacity` and `free` are None for no limit."""

    capacity: int | None
    confirmed: int
    pending: int
    waitlisted: int
    free: int | None


def capacity(event: Event, counts: Mapping[str, int]) -> Capacity:
    """The capacity line from the counts per status the page already has (no query)."""
    places = registration_queries.PlaceCounts(
        confirmed=counts.get(RegistrationStatus.CONFIRMED, 0),
        pending=counts.get(RegistrationStatus.PENDING, 0),
        waitlisted=counts.get(RegistrationStatus.WAITLISTED, 0),
    )
    return Capacity(
        capacity=event.capacity,
        confirmed=places.confirmed,
        pending=places.pending,
        waitlisted=places.waitlisted,
        free=registration_queries.places_left(event, places),
    )


# --- answers per choice ------------------------------------------------------------------------

# The questions whose answers are worth counting: a few known values each.
COUNTED_KINDS = (
    QuestionKind.SINGLE_CHOICE,
    QuestionKind.MULTIPLE_CHOICE,
    QuestionKind.CHECKBOX,
    QuestionKind.COUNTRY,
)


@dataclass(frozen=True)
class Breakdown:
    """One question's answers among the active registrations: (answer, count) rows in the
    question's order (choices as listed, then older choices; countries most first), and
    how many gave no answer."""

    question: Question
    rows: list[tuple[str, int]]
    unanswered: int


def _values(answer: Any) -> list[Any]:
    """The chosen values of one stored answer (a list for multiple choice)."""
    value = answer.get("value") if isinstance(answer, dict) else None
    if isinstance(value, list):
        return [v for v in value if v not in (None, "")]
    if value is None or value == "":
        return []
    return [value]


def _rows(question: Question, counted: Counter[Any]) -> list[tuple[str, int]]:
    if question.kind == QuestionKind.CHECKBOX:
        return [(_("Yes"), counted.get(True, 0)), (_("No"), counted.get(False, 0))]
    if question.kind == QuestionKind.COUNTRY:
        by_count = sorted(counted.items(), key=lambda kv: (-kv[1], str(kv[0])))
        return [(templating.country_name(str(code)), n) for code, n in by_count]
    listed = [(option, counted.get(option, 0)) for option in question.options]
    # Choices answered before the organiser renamed or removed them stay counted.
    older = sorted((str(value), n) for value, n in counted.items() if value not in question.options)
    return listed + older


def answer_breakdowns(event: Event) -> list[Breakdown]:
    """Counts per option of the event's choice, checkbox and country questions among the
    active registrations (confirmed, awaiting approval, waiting list): two queries, the
    questions and the answers, whatever the number of questions or registrations."""
    questions = [
        question
        for question in registration_queries.questions_for_event(event)
        if question.kind in COUNTED_KINDS
    ]
    if not questions:
        return []
    keys = [str(q.id) for q in questions]
    if db.session.get_bind().dialect.name == "postgresql":
        counters, answered, active = _counted_in_database(event, questions)
    else:
        counters, answered, active = _counted_here(event, keys)
    return [
        Breakdown(
            question=question,
            rows=_rows(question, counters.get(str(question.id), Counter())),
            unanswered=active - answered[str(question.id)],
        )
        for question in questions
    ]


Counts = tuple[dict[str, Counter[Any]], Counter[str], int]


def _counted_here(event: Event, keys: list[str]) -> Counts:
    """Per question: how often each value was chosen, how many answered; and how many
    active registrations there are, reading every active registration's answers."""
    counters: dict[str, Counter[Any]] = {key: Counter() for key in keys}
    answered: Counter[str] = Counter()
    active = 0
    rows = db.session.scalars(
        select(Registration.answers)
        .where(
            Registration.event_id == event.id,
            database.in_constants(Registration.status, ACTIVE_STATUSES),
        )
        .execution_options(yield_per=500)
    )
    for answers in rows:
        active += 1
        for key, counter in counters.items():
            values = _values((answers or {}).get(key))
            if values:
                answered[key] += 1
                counter.update(values)
    return counters, answered, active


# The same counts in one statement: each answer's value (each element of a multiple choice)
# as text, without the empty ones (`_values`). Scale bench, 100,000 registrations: the
# page no longer reads every registration's answers into Python.
_COUNT_ANSWERS = text(
    """
    WITH active AS (
        SELECT id, CASE json_typeof(answers) WHEN 'object' THEN answers ELSE '{}' END AS answers
        FROM registrations WHERE event_id = :event_id AND status IN :statuses
    ), chosen AS (
        SELECT active.id, answer.key, element.value #>> '{}' AS value
        FROM active
        CROSS JOIN LATERAL json_each(active.answers) AS answer
        CROSS JOIN LATERAL json_array_elements(
            CASE json_typeof(answer.value -> 'value')
                WHEN 'array' THEN answer.value -> 'value'
                ELSE json_build_array(answer.value -> 'value')
            END
        ) AS element
        WHERE answer.key IN :keys
    ), given AS (
        SELECT * FROM chosen WHERE value IS NOT NULL AND value <> ''
    )
    SELECT key, value, count(*) FROM given GROUP BY key, value
    UNION ALL SELECT key, NULL, count(DISTINCT id) FROM given GROUP BY key
    UNION ALL SELECT NULL, NULL, count(*) FROM active
    """
).bindparams(bindparam("statuses", expanding=True), bindparam("keys", expanding=True))


def _counted_in_database(event: Event, questions: list[Question]) -> Counts:
    """`_counted_here`, counted by PostgreSQL: a checkbox's true/false come back as text."""
    kinds = {str(q.id): q.kind for q in questions}
    counters: dict[str, Counter[Any]] = {key: Counter() for key in kinds}
    answered: Counter[str] = Counter()
    active = 0
    rows = db.session.execute(
        _COUNT_ANSWERS,
        {"event_id": event.id, "statuses": list(ACTIVE_STATUSES), "keys": list(kinds)},
    )
    for key, value, n in rows:
        if key is None:
            active = int(n)
        elif value is None:
            answered[key] = int(n)
        elif kinds[key] == QuestionKind.CHECKBOX and value in ("true", "false"):
            counters[key][value == "true"] += int(n)
        else:
            counters[key][value] += int(n)
    return counters, answered, active
