"""Issue #16: how far the registration POST is from the least the stack can do
(`python -m bench floor`, PostgreSQL; run only when named).

The floor is a registration with nothing but what the product's stack requires, written
the way a plain Flask app would: Flask-Login reads the person by their session token, a
Flask-WTF form with the person's fields and one field per question is bound to the
profile and validated, the event's row is locked, the places decide the status, one row
is INSERTed into the same `registrations` table (its indexes, constraints and the places'
trigger), COMMIT, 302. No ORM, no hooks, no languages, no page cache, no limiter, no
webhooks, no security headers. It is sent the same requests as the site's registration
(same accounts' cookies, same answers), under the same gunicorn settings, in rounds
alternated with the bare one-row POST (`bench_registration`) and the site.

What it answers: whether 0.40× the bare POST is within reach of this stack on this
machine, and how much of the site's cost is its own. It keeps no rule: what it decides
(confirmed while places are left, else the waiting list) is only what fills the rows.
"""

from __future__ import annotations

import contextlib
import os
import statistics
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any

from flask import Flask, abort, redirect, request
from flask_login import LoginManager, UserMixin, current_user
from flask_wtf import FlaskForm
from sqlalchemy import Connection, Engine, create_engine, insert, select
from werkzeug.wrappers import Response
from wtforms import BooleanField, Field, StringField
from wtforms.validators import AnyOf, DataRequired, Length, Optional

from bench import bench_registration, harness
from bench.harness import BenchContext, Row

ROUNDS = 3
# Flask-Login keeps the person's own get_id() in the session: their session token, a dot,
# the time they logged in (`accounts.models.User.get_id`).
TOKEN_SEPARATOR = "."

floor_app = Flask(__name__)
floor_app.config.update(SECRET_KEY=os.environ.get("SECRET_KEY"), WTF_CSRF_ENABLED=False)
login_manager = LoginManager(floor_app)


@cache
def _engine() -> Engine:
    return create_engine(os.environ["DATABASE_URL"])


@cache
def _tables() -> Any:
    from eventsite.accounts.models import User
    from eventsite.events.models import Event
    from eventsite.registration.models import Question, Registration

    return User.__table__, Event.__table__, Question.__table__, Registration.__table__


def _connection() -> Connection:
    """One connection a request, given back when the request ends."""
    if "floor.connection" not in request.environ:
        request.environ["floor.connection"] = _engine().connect()
    return request.environ["floor.connection"]


@floor_app.teardown_request
def _give_back(_error: BaseException | None = None) -> None:
    connection = request.environ.pop("floor.connection", None)
    if connection is not None:
        connection.close()


class Person(UserMixin):
    def __init__(self, id: int, name: str, affiliation: str | None, country: str | None) -> None:
        self.id, self.name, self.affiliation, self.country = id, name, affiliation, country


@login_manager.user_loader
def _person(user_id: str) -> Person | None:
    users = _tables()[0]
    token = user_id.rsplit(TOKEN_SEPARATOR, 1)[0]
    row = (
        _connection()
        .execute(
            select(users.c.id, users.c.name, users.c.affiliation, users.c.country).where(
                users.c.session_token == token
            )
        )
        .first()
    )
    return Person(*row) if row is not None else None


class PersonForm(FlaskForm):
    website = StringField("Leave this empty", validators=[Length(max=200)])
    name = StringField("Name", validators=[Length(max=200), DataRequired()])
    affiliation = StringField("Affiliation", validators=[Length(max=300), Optional()])
    country = StringField("Country", validators=[Optional(), AnyOf(["CH", "FR", "KE", "JP"])])
    update_profile = BooleanField("Also update my profile")


@cache
def _event(slug: str) -> tuple[int, type[PersonForm], dict[str, str]]:
    """The event's id, its form class (one field a question) and the questions' fields with
    the key of their answer: read once per process, as any app would keep them."""
    _users, events, questions, _registrations = _tables()
    with _engine().connect() as connection:
        event_id = connection.scalar(select(events.c.id).where(events.c.slug == slug))
        if event_id is None:
            abort(404)
        rows = connection.execute(
            select(questions.c.id, questions.c.kind, questions.c.is_required).where(
                questions.c.event_id == event_id
            )
        ).all()
    fields: dict[str, Field] = {}
    for question_id, kind, required in rows:
        check = DataRequired() if required else Optional()
        fields[f"q_{question_id}"] = (
            BooleanField("Q", validators=[check])
            if kind == "checkbox"
            else StringField("Q", validators=[Length(max=500), check])
        )
    answers = {f"q_{question_id}": str(question_id) for question_id, _kind, _required in rows}
    return event_id, type("EventForm", (PersonForm,), fields), answers


@floor_app.post("/events/<slug>/register")
def register(slug: str) -> Response | tuple[str, int]:
    person = current_user._get_current_object()
    if not person.is_authenticated:
        abort(403)
    event_id, form_class, fields = _event(slug)
    form = form_class(
        data={"name": person.name, "affiliation": person.affiliation, "country": person.country}
    )
    if not form.validate() or form.website.data:
        return "Please check the form.", 422
    _users, events, _questions, registrations = _tables()
    connection = _connection()
    capacity, confirmed = connection.execute(
        select(events.c.capacity, events.c.places_confirmed)
        .where(events.c.id == event_id)
        .with_for_update()
    ).one()
    status = "confirmed" if capacity is None or confirmed < capacity else "waitlisted"
    now = datetime.now(UTC)
    public_id = connection.execute(
        insert(registrations)
        .values(
            event_id=event_id,
            user_id=person.id,
            status=status,
            answers={key: form[name].data for name, key in fields.items()},
            created_at=now,
            updated_at=now,
            pending_notice={"template": "registration_confirmation", "status": status},
        )
        .returning(registrations.c.public_id)
    ).scalar_one()
    connection.commit()
    return redirect(f"/registrations/{public_id}?registered=now")


@floor_app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


# --- the run --------------------------------------------------------------------------------------


def measure(url: str, *, fresh: bool) -> list[Row]:
    """ROUNDS rounds of: the bare one-row POST, the floor, the site (each registration run
    on an event and accounts of its own); ratios to the round's bare POST, medians."""
    prepared = [bench_registration._prepare(url, fresh=fresh and n == 0) for n in range(2 * ROUNDS)]
    env = bench_registration._environment(url)
    workers = bench_registration.WORKERS
    ratios: dict[str, list[float]] = {"floor": [], "site": []}
    cpu: dict[str, list[str]] = {"floor": [], "site": [], "bare": []}
    rps: dict[str, list[float]] = {"floor": [], "site": [], "bare": []}
    latency: dict[str, list[tuple[float, float]]] = {"floor": [], "site": [], "bare": []}
    with contextlib.ExitStack() as stack:
        servers = {
            name: stack.enter_context(harness.Gunicorn(target, env=env, workers=workers))
            for name, target in (
                ("bare", "bench.bench_registration:bare_app"),
                ("floor", "bench.bench_floor:floor_app"),
                ("site", "wsgi:app"),
            )
        }
        _app, slug, cookies, field = prepared[0]
        path = f"/events/{slug}/register"
        bare = servers["bare"]
        bench_registration.warm_up(
            bare.host, bare.port, [("POST", "/write", "", {"who": "warm"})] * 160
        )
        for name in ("floor", "site"):
            server = servers[name]
            bench_registration.warm_up(
                server.host, server.port, [("POST", path, c, {field: ""}) for c in cookies[:160]]
            )
        for n in range(ROUNDS):
            harness.log(f"  floor, round {n + 1} of {ROUNDS}: bare POST, floor, site ...")
            bare_rps = _load(
                "bare",
                servers,
                [("/write", "", {"who": f"person {i}"}) for i in range(2500)],
                cpu,
                rps,
                latency,
            )
            for name, (_app, slug, cookies, field) in zip(
                ("floor", "site"), prepared[2 * n : 2 * n + 2], strict=True
            ):
                work = [
                    (f"/events/{slug}/register", cookie, {field: f"Institute {i}"})
                    for i, cookie in enumerate(cookies)
                ]
                ratios[name].append(_load(name, servers, work, cpu, rps, latency) / bare_rps)
            harness.log(
                f"  floor, round {n + 1}: floor {ratios['floor'][-1]:.2f}x, "
                f"site {ratios['site'][-1]:.2f}x the bare POST"
            )
    rows = [_row(name, ratios[name], rps[name], latency[name], cpu[name]) for name in ratios]
    middle = sorted(range(ROUNDS), key=lambda i: rps["bare"][i])[ROUNDS // 2]
    rows.append(
        Row(
            "bare POST writing one row, PostgreSQL, same rounds",
            *latency["bare"][middle],
            rps=rps["bare"][middle],
            target="yardstick",
            note=f"{cpu['bare'][middle]} (the median round's)",
        )
    )
    return rows


def _load(
    name: str,
    servers: dict[str, harness.Gunicorn],
    work: list[tuple[str, str, dict[str, str]]],
    cpu: dict[str, list[str]],
    rps: dict[str, list[float]],
    latency: dict[str, list[tuple[float, float]]],
) -> float:
    server = servers[name]
    with harness.CpuMeter([server]) as meter:
        stats, statuses = bench_registration.post_load(
            [(server.host, server.port)], work, bench_registration.CLIENT_THREADS
        )
    if stats.errors:
        raise RuntimeError(f"{name}: {stats.errors} errors (statuses {statuses})")
    cpu[name].append(meter.used.per_request(len(work)))
    rps[name].append(stats.rps)
    latency[name].append((stats.median_ms, stats.p95_ms))
    return stats.rps


def _row(
    name: str,
    ratios: Sequence[float],
    rps: Sequence[float],
    latency: Sequence[tuple[float, float]],
    cpu: Sequence[str],
) -> Row:
    middle = sorted(range(len(ratios)), key=lambda i: ratios[i])[len(ratios) // 2]
    label = (
        "floor: Flask-Login + Flask-WTF + SQL registration POST, PostgreSQL (gunicorn 4 workers)"
        if name == "floor"
        else "the site's registration POST, same rounds"
    )
    return Row(
        label,
        *latency[middle],
        rps=rps[middle],
        target="yardstick",
        note=(
            f"{statistics.median(ratios):.2f}x the bare one-row POST (median of the rounds' "
            f"{', '.join(f'{r:.2f}' for r in ratios)}); {cpu[middle]} (the median round's)"
        ),
    )


def run(ctx: BenchContext) -> list[Row]:
    if not ctx.http:
        return [Row("floor registration POST", note="skipped (--no-http)")]
    postgres = bench_registration.postgres_database(ctx)
    if postgres is not None:
        url, fresh = postgres
        return measure(url, fresh=fresh)
    return [
        Row(
            "floor registration POST",
            note="skipped: pass --database-url or set EVENTSITE_BENCH_POSTGRES_URL",
        )
    ]
