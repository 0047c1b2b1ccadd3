"""Sending fuzzed requests and checking what they left behind.

Every example: prepare what the endpoint needs (a fresh user, a token...), fingerprint
every table, send the request from a fresh client, roll the session back (as the end of a
real request does), fingerprint again. Then:
- no 5xx (the app runs with TESTING, so an unhandled exception surfaces here with its
  own traceback);
- a refusal (4xx) changed no table at all, except those the target names;
- an answer that may have acted (2xx, 3xx) changed only the tables the target names, the
  page it redirects to renders, and the target's own check finds the objects whole.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import Phase, example, given, settings
from sqlalchemy import select
from werkzeug.test import TestResponse

from eventsite.extensions import db
from eventsite.models import OrganisationInvitation, OutboxMessage, User
from eventsite.organisations.models import hash_invitation_secret, new_invitation_secret
from eventsite.timeutil import utcnow

from ..mail.written import written
from .plans import (
    FormPlan,
    QueryPlan,
    canonical_plans,
    canonical_queries,
    file_plans,
    form_plans,
    query_plans,
)
from .strategies import Values


@dataclass
class Site:
    """The app and the objects the examples aim at."""

    app: Flask
    backend: str
    world: Any
    topic: Any
    questions: list[Any]
    make_user: Callable[..., Any]
    make_event: Callable[..., Any]
    make_session: Callable[..., Any]
    serial: int = 0

    def next(self) -> int:
        self.serial += 1
        return self.serial

    def fresh_user(self, **overrides: Any) -> User:
        n = self.next()
        return self.make_user(email=f"fuzz-{n}@example.org", name=f"Fuzz {n}", **overrides)

    def invite(self, email: str) -> tuple[OrganisationInvitation, str]:
        """A pending invitation of `email` to the world's organisation, and its secret."""
        secret = new_invitation_secret()
        invitation = OrganisationInvitation(
            organisation_id=self.world.organisation.id,
            email=email,
            token_hash=hash_invitation_secret(secret),
            created_at=utcnow(),
            sent_at=utcnow(),
        )
        db.session.add(invitation)
        db.session.commit()
        return invitation, secret

    def client(self, user: User | None) -> FlaskClient:
        client = self.app.test_client()
        if user is not None:
            with client.session_transaction() as session:
                session["_user_id"] = user.get_id()
                session["_fresh"] = True
        return client


@dataclass
class Prepared:
    """One example's request before the fuzzed fields: where, as whom, and valid values."""

    url: str
    base: dict[str, Any] = field(default_factory=dict)
    user: User | None = None
    objects: dict[str, Any] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)


@dataclass
class Outcome:
    prepared: Prepared
    response: TestResponse
    changed: set[str]
    sent: Any  # the FormBody or query string sent

    @property
    def acted(self) -> bool:
        return bool(self.changed)


Check = Callable[[Site, Outcome], None]


@dataclass(frozen=True)
class FormTarget:
    """A POST endpoint and how to fuzz it."""

    endpoint: str
    prepare: Callable[[Site], Prepared]
    fields: Mapping[str, Values] = field(default_factory=dict)
    # Tables an answer other than a refusal may change ("*": any).
    writes: frozenset[str] = frozenset()
    # Tables a refusal may change too (a failed log-in is counted on the account).
    refusal_writes: frozenset[str] = frozenset()
    check: Check | None = None
    budget: float = 1.0  # share of the profile's max_examples
    max_text: int = 200_000

    def __str__(self) -> str:
        return self.endpoint


@dataclass(frozen=True)
class QueryTarget:
    """A GET endpoint and the query parameters it reads."""

    endpoint: str
    prepare: Callable[[Site], Prepared]
    params: Mapping[str, Values] = field(default_factory=dict)
    # The slug or token in the path, fuzzed too: `prepare` puts "{path}" in the URL and the
    # valid value in base["path"].
    path: Values | None = None
    # Tables a GET may change (following a link from an email confirms something).
    writes: frozenset[str] = frozenset()
    budget: float = 1.0
    max_text: int = 200_000

    def __str__(self) -> str:
        return self.endpoint


def with_known_bugs(
    targets: Sequence[FormTarget | QueryTarget], bugs: Mapping[str, str]
) -> list[Any]:
    """pytest params, one per target; those failing because of a bug waiting for its fix
    are marked (not strictly: a run that misses the bug passes). The reason says
    "known: …" for a bug being fixed, "new: …" for one this suite found."""
    return [
        pytest.param(
            target,
            id=target.endpoint,
            marks=[pytest.mark.xfail(strict=False, reason=bugs[target.endpoint])]
            if target.endpoint in bugs
            else [],
        )
        for target in targets
    ]


# The Hypothesis profile the suite runs with (tests/fuzz/conftest.py registers them).
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "fuzz")
# The random examples with files, as a share of a target's budget.
FILE_SHARE = 0.4


def examples(budget: float) -> int:
    """Random examples for a target: its share of the profile's max_examples."""
    return max(2, round(settings().max_examples * budget))


# --- the state of the database ----------------------------------------------------------------


# Columns the database derives from other tables' rows (the places the event's row counts,
# kept by triggers on registrations): a change there is the registrations' change, which is
# compared on its own; tests/registration/test_place_counters.py checks they agree.
DERIVED_COLUMNS = frozenset(
    {"places_confirmed", "places_pending", "places_waitlisted", "places_held"}
)
# The confirmation a registration carries until it is moved to the outbox (`registrations.
# pending_notice`): whichever request next emails about the registration, or the event, moves
# it first, an outbox write (declared) rather than a change of the registration.
MAIL_COLUMNS = frozenset({"pending_notice"})
UNCOMPARED_COLUMNS = DERIVED_COLUMNS | MAIL_COLUMNS


def fingerprints() -> dict[str, str]:
    """A digest of every row of every table, by table name (UNCOMPARED_COLUMNS left out)."""
    digests = {}
    for table in db.metadata.sorted_tables:
        order = list(table.primary_key.columns) or list(table.columns)
        columns = [c for c in table.columns if c.key not in UNCOMPARED_COLUMNS]
        rows = db.session.execute(select(*columns).order_by(*order)).all()
        digests[table.name] = hashlib.sha256(repr(rows).encode()).hexdigest()
    db.session.rollback()
    return digests


def changed_tables(before: dict[str, str], after: dict[str, str]) -> set[str]:
    return {name for name, digest in after.items() if before.get(name) != digest}


def _local_path(location: str) -> str | None:
    parts = urlsplit(location)
    if parts.netloc not in ("", "localhost"):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


# Tables whose changes the organisations' webhook endpoints are told of (a delivery queued in
# the same transaction).
WEBHOOK_SOURCES = frozenset({"registrations", "events"})


def check_outcome(
    site: Site,
    outcome: Outcome,
    client: FlaskClient,
    *,
    writes: frozenset[str],
    refusal_writes: frozenset[str],
) -> None:
    status = outcome.response.status_code
    assert status < 500, f"{status} from {outcome.prepared.url}"
    if status >= 400:
        unexpected = outcome.changed - refusal_writes
        assert not unexpected, f"refused with {status} but wrote to {sorted(unexpected)}"
        return
    if writes & WEBHOOK_SOURCES:  # the organisation's webhooks hear of the change
        writes = writes | {"webhook_deliveries"}
    if "*" not in writes:
        unexpected = outcome.changed - writes
        assert not unexpected, f"answered {status} and wrote to {sorted(unexpected)}"
    location = outcome.response.headers.get("Location")
    path = _local_path(location) if location else None
    if path is not None:
        followed = client.get(path)
        db.session.rollback()
        assert followed.status_code < 500, f"{followed.status_code} from {path}"


def _with_examples(
    test: Callable[..., None], plans: list[Any], **options: Any
) -> Callable[..., None]:
    """`test` with `plans` as explicit examples (run first, every time) and `options`."""
    for plan in plans:
        test = example(plan=plan)(test)
    return settings(**options)(test)


def send_form(site: Site, target: FormTarget, plan: FormPlan) -> None:
    """One example against a POST endpoint, and every check."""
    prepared = target.prepare(site)
    body = plan.apply(prepared.base, prepared.aliases)
    data, content_type = body.encode()
    before = fingerprints()
    last_message = last_id(OutboxMessage)
    client = site.client(prepared.user)
    try:
        response = client.post(prepared.url, data=data, content_type=content_type)
    finally:
        db.session.rollback()  # what the end of a real request does
    outcome = Outcome(prepared, response, changed_tables(before, fingerprints()), body)
    check_outcome(site, outcome, client, writes=target.writes, refusal_writes=target.refusal_writes)
    if response.status_code < 400:
        for message in rows_after(OutboxMessage, last_message):
            # What a person typed never becomes a header.
            assert_one_line(written(message).subject, "an email's subject")
            assert_one_line(message.to_address, "an email's recipient")
            assert_one_line(message.reply_to, "an email's Reply-To")
        if target.check is not None:
            target.check(site, outcome)


def _phases(site: Site) -> list[Phase]:
    """PostgreSQL runs the canonical examples only, unless a profile other than the
    default asks for more: the bugs only it shows (NUL, integer ranges, lengths) are what
    those examples aim at, and the random ones cost as much again."""
    if site.backend == "postgresql" and PROFILE == "fuzz":
        return [Phase.explicit]
    return list(settings().phases)


def run_form_target(site: Site, target: FormTarget) -> None:
    """The canonical plans, then random ones (files in text fields apart: see below)."""

    @given(plan=form_plans(target.fields, max_text=target.max_text))
    def one(plan: FormPlan) -> None:
        try:
            send_form(site, target, plan)
        finally:
            db.session.rollback()  # a failed example leaves the next one a usable session

    plans = canonical_plans(target.fields, target.max_text)
    _with_examples(one, plans, max_examples=examples(target.budget), phases=_phases(site))()


def run_file_target(site: Site, target: FormTarget) -> None:
    """Every field sent as a file part (a robot, or a form tampered with), then random
    plans where some are: the same checks as any other example."""

    @given(plan=form_plans(target.fields, max_text=target.max_text, files=True))
    def one(plan: FormPlan) -> None:
        try:
            send_form(site, target, plan)
        finally:
            db.session.rollback()

    budget = examples(target.budget * FILE_SHARE)
    _with_examples(one, file_plans(target.fields), max_examples=budget)()


def send_query(site: Site, target: QueryTarget, plan: QueryPlan) -> None:
    """One example against a GET endpoint: no 5xx, and no writing."""
    prepared = target.prepare(site)
    query = plan.encode()
    url = prepared.url
    if target.path is not None:
        url = url.format(path=plan.path_segment(prepared.base["path"]))
    url = f"{url}?{query}" if query else url
    before = fingerprints()
    client = site.client(prepared.user)
    try:
        response = client.get(url)
        response.get_data()  # the exports stream: run them to the end
    finally:
        db.session.rollback()
    assert response.status_code < 500, f"{response.status_code} from {url}"
    writes = target.writes | ({"webhook_deliveries"} if target.writes & WEBHOOK_SOURCES else set())
    unexpected = changed_tables(before, fingerprints()) - writes
    assert not unexpected, f"GET {url} wrote to {sorted(unexpected)}"


def run_query_target(site: Site, target: QueryTarget) -> None:
    @given(plan=query_plans(target.params, target.path, max_text=target.max_text))
    def one(plan: QueryPlan) -> None:
        try:
            send_query(site, target, plan)
        finally:
            db.session.rollback()

    plans = canonical_queries(target.params, target.path)
    _with_examples(one, plans, max_examples=examples(target.budget), phases=_phases(site))()


def _summary(error: BaseException) -> str:
    """The error, and the example Hypothesis found it with (its notes)."""
    if isinstance(error, BaseExceptionGroup):
        return "\n".join(_summary(inner) for inner in error.exceptions)
    lines = [f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"]
    lines += getattr(error, "__notes__", [])
    return "\n".join(lines)


def run_all(site: Site, targets: Sequence[Any], run: Callable[[Site, Any], None]) -> None:
    """Every target on one app (a test per target would build an app each time): each
    runs even after another failed, and the failure lists them all."""
    failures = []
    for target in targets:
        try:
            run(site, target)
        except Exception as error:  # every target runs; the assertion below reports them
            db.session.rollback()
            failures.append(f"--- {target.endpoint}\n{_summary(error)}")
    assert not failures, "\n".join(["", *failures])


# --- what "whole" means for what was written ------------------------------------------------


def last_id(model: Any) -> int:
    return db.session.scalar(select(db.func.max(model.id))) or 0


def rows_after(model: Any, last: int) -> list[Any]:
    """Rows of `model` created since `last_id` said `last`."""
    return list(db.session.scalars(select(model).where(model.id > last).order_by(model.id)))


def control_characters(value: str | None, allowed: str = "") -> list[str]:
    """C0, DEL and C1 characters in `value` (but those `allowed`)."""
    return [
        ch for ch in value or "" if (ord(ch) < 32 or 127 <= ord(ch) < 160) and ch not in allowed
    ]


def assert_one_line(value: str | None, what: str) -> None:
    found = control_characters(value)
    assert not found, f"{what} was stored with control characters {found!r}"


def assert_plain_text(value: str | None, what: str, allowed: str = "\t\n") -> None:
    found = control_characters(value, allowed=allowed)
    assert not found, f"{what} was stored with control characters {found!r}"


def assert_exports(site: Site, event: Any) -> None:
    """The event's registrants still export: what was stored reaches the CSV and the
    spreadsheet (which refuses control characters)."""
    client = site.client(site.world.member)
    for kind in ("csv", "xlsx"):
        response = client.get(f"/manage/events/{event.id}/registrants.{kind}")
        response.get_data()  # streamed: run to the end
        assert response.status_code == 200, f"the {kind} export answered {response.status_code}"
    db.session.rollback()
