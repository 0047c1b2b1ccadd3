"""Registrants as CSV or XLSX, streamed row by row: one column per question (removed
questions included), no cell that a spreadsheet would run as a formula, and no character
that XLSX (XML) cannot hold."""

from __future__ import annotations

import csv
import io
import re
import tempfile
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from sqlalchemy import Row, func, select

from eventsite.accounts.models import User
from eventsite.events.models import Event
from eventsite.extensions import db
from eventsite.organiser import registrants
from eventsite.registration import answers as registration_answers
from eventsite.registration import notifications as registration_notifications
from eventsite.registration import queries as registration_queries
from eventsite.registration.models import Question, Registration
from eventsite.timeutil import utcnow

# Cells starting with these are formulas (or DDE) to Excel, LibreOffice and Sheets.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# What XML 1.0 cannot hold: the control characters openpyxl refuses (it raises mid-stream),
# plus lone surrogates and U+FFFE/U+FFFF, which it writes into a file nothing can open.
UNSTORABLE_RE = re.compile(ILLEGAL_CHARACTERS_RE.pattern + r"|[\ud800-\udfff\ufffe\uffff]")
REPLACEMENT = "\ufffd"
BATCH = 500
CHUNK = 64 * 1024


def neutralise(value: Any) -> Any:
    """Make a text cell inert: a leading quote shows the text as typed and runs nothing."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def cell(value: Any) -> Any:
    """A value as both exports write it: characters XLSX cannot store become U+FFFD (data
    stored before answers were checked may hold them), then the text is made inert; in this
    order, so the formula check sees the text as it is written."""
    if isinstance(value, str):
        value = UNSTORABLE_RE.sub(REPLACEMENT, value)
    return neutralise(value)


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value is not None else ""


def header(questions: list[Question]) -> list[str]:
    fixed = [
        _("Registration"),
        _("Name"),
        _("Email"),
        _("Affiliation"),
        _("Country"),
        _("Status"),
        _("Registered at"),
        _("Checked in at"),
    ]
    labels = [
        q.label if q.is_active else _("%(label)s (removed)", label=q.label) for q in questions
    ]
    return [cell(v) for v in fixed + labels]


def row(registration: Row[Any], questions: list[Question]) -> list[Any]:
    """One registration (a row of EXPORT_COLUMNS) as cells."""
    answers = registration.answers or {}
    cells: list[Any] = [
        registration.id,
        registration.name,
        registration.email,
        registration.affiliation,
        registration.country or "",
        _status_cell(registration),
        _when(registration.created_at),
        _when(registration.checked_in_at),
    ]
    for question in questions:
        answer = answers.get(str(question.id))
        cells.append(registration_answers.format_answer(answer) if answer else "")
    return [cell(value) for value in cells]


def _status_cell(registration: Row[Any]) -> str:
    label = registration_notifications.status_label(registration.status)
    note = registration_notifications.hold_note(
        registration.status,
        registration.hold_expires_at,
        registration.is_hold_expired,
        _when(registration.hold_expires_at),
        utcnow(),
    )
    return f"{label} ({note})" if note else label


EXPORT_COLUMNS = (
    Registration.id,
    Registration.status,
    Registration.hold_expires_at,
    Registration.is_hold_expired,
    Registration.answers,
    Registration.created_at,
    Registration.checked_in_at,
    User.name,
    User.email,
    User.affiliation,
    User.country,
)


def iter_registrations(event: Event, status: str = "all") -> Iterator[Row[Any]]:
    """The event's registrations as plain rows (no ORM objects piling up in the
    session), fetched in batches of BATCH: never all in memory at once."""
    stmt = (
        select(*EXPORT_COLUMNS)
        .join(User, User.id == Registration.user_id)
        .where(Registration.event_id == event.id)
        .order_by(Registration.id)
        .execution_options(yield_per=BATCH)
    )
    condition = registrants.status_condition(status)
    if condition is not None:
        stmt = stmt.where(condition)
    yield from db.session.execute(stmt)


def csv_chunks(event: Event, status: str = "all") -> Iterator[str]:
    """The CSV file piece by piece (UTF-8 with a BOM so Excel reads the accents)."""
    questions = registration_queries.questions_for_event(event, include_removed=True)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(header(questions))
    for n, registration in enumerate(iter_registrations(event, status), start=1):
        writer.writerow(row(registration, questions))
        if n % 100 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def xlsx_chunks(event: Event, status: str = "all") -> Iterator[bytes]:
    """An XLSX workbook written in openpyxl's write-only mode (rows go to disk as they
    come), then read back in chunks."""
    questions = registration_queries.questions_for_event(event, include_removed=True)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=_("Registrants")[:31])
    sheet.append(header(questions))
    for registration in iter_registrations(event, status):
        sheet.append(row(registration, questions))
    with tempfile.TemporaryFile() as spool:
        workbook.save(spool)
        spool.seek(0)
        while chunk := spool.read(CHUNK):
            yield chunk


def count(event: Event, status: str = "all") -> int:
    stmt = select(func.count()).select_from(Registration).where(Registration.event_id == event.id)
    condition = registrants.status_condition(status)
    if condition is not None:
        stmt = stmt.where(condition)
    return int(db.session.scalar(stmt) or 0)
