"""Registrants as CSV or XLSX, streamed row by row: one column per question (removed
questions included), no cell that a spreadsheet would run as a formula, and no character
that XLSX (XML) cannot hold. Times are in the event's zone, named in their column's header;
the XLSX file holds typed cells (numbers, dates, booleans) under a frozen, filterable header."""

from __future__ import annotations

import csv
import io
import re
import tempfile
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils import get_column_letter
from sqlalchemy import Row, func, select

from eventsite import timeutil
from eventsite.accounts.models import User
from eventsite.events.models import Event
from eventsite.extensions import db
from eventsite.i18n import gettext as _
from eventsite.organiser import registrants
from eventsite.registration import answers as registration_answers
from eventsite.registration import notifications as registration_notifications
from eventsite.registration import queries as registration_queries
from eventsite.registration.models import Question, QuestionKind, Registration
from eventsite.timeutil import utcnow

# Cells starting with these are formulas (or DDE) to Excel, LibreOffice and Sheets.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# What XML 1.0 cannot hold: the control characters openpyxl refuses (it raises mid-stream),
# plus lone surrogates and U+FFFE/U+FFFF, which it writes into a file nothing can open.
UNSTORABLE_RE = re.compile(ILLEGAL_CHARACTERS_RE.pattern + r"|[\ud800-\udfff\ufffe\uffff]")
REPLACEMENT = "\ufffd"
BATCH = 500
CHUNK = 64 * 1024
# How the XLSX file shows its (naive, event-zone) date-time cells.
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"


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


def header(event: Event, questions: list[Question]) -> list[str]:
    """The column titles; the time columns name the event's zone ("Registered at
    (Europe/Zurich)"), the zone their cells are in."""
    zone = event.timezone
    fixed = [
        _("Registration"),
        _("Name"),
        _("Email"),
        _("Affiliation"),
        _("Country"),
        _("Status"),
        _("Registered at (%(zone)s)", zone=zone),
        _("Checked in at (%(zone)s)", zone=zone),
    ]
    labels = [
        q.label if q.is_active else _("%(label)s (removed)", label=q.label) for q in questions
    ]
    return [cell(v) for v in fixed + labels]


def _local(value: datetime | None, tz_name: str) -> datetime | None:
    """The moment as a naive wall-clock time in the event's zone (spreadsheets have no
    zones: the header names it)."""
    if value is None:
        return None
    return timeutil.to_local(value, tz_name).replace(tzinfo=None)


def _typed_answer(answer: Any) -> Any:
    """An answer as a typed value: a number, a boolean for a checkbox, else its words."""
    if not answer:
        return None
    value = answer.get("value")
    kind = answer.get("kind")
    if kind == QuestionKind.CHECKBOX:
        return bool(value)
    if kind == QuestionKind.NUMBER and isinstance(value, int | float):
        return value
    return registration_answers.format_answer(answer)


def typed_row(registration: Row[Any], event: Event, questions: list[Question]) -> list[Any]:
    """One registration (a row of EXPORT_COLUMNS) as typed values: the id and number
    answers as numbers, the times as naive datetimes in the event's zone, checkboxes as
    booleans, None for nothing; text made storable and inert."""
    answers = registration.answers or {}
    values: list[Any] = [
        registration.id,
        registration.name,
        registration.email,
        registration.affiliation,
        registration.country or "",
        _status_cell(registration, event),
        _local(registration.created_at, event.timezone),
        _local(registration.checked_in_at, event.timezone),
    ]
    values.extend(_typed_answer(answers.get(str(question.id))) for question in questions)
    return [cell(value) for value in values]


def _text(value: Any) -> Any:
    """A typed value as the CSV writes it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return value


def row(registration: Row[Any], event: Event, questions: list[Question]) -> list[Any]:
    """One registration as CSV cells: the typed values written as text."""
    return [_text(value) for value in typed_row(registration, event, questions)]


def _status_cell(registration: Row[Any], event: Event) -> str:
    label = registration_notifications.status_label(registration.status)
    note = registration_notifications.hold_note(
        registration.status,
        registration.hold_expires_at,
        registration.is_hold_expired,
        _text(_local(registration.hold_expires_at, event.timezone)),
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
    writer.writerow(header(event, questions))
    for n, registration in enumerate(iter_registrations(event, status), start=1):
        writer.writerow(row(registration, event, questions))
        if n % 100 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _xlsx_cells(sheet: Any, values: list[Any]) -> list[Any]:
    """Date-time values as cells with a date-time number format; the rest as they are."""
    cells = []
    for value in values:
        if isinstance(value, datetime):
            value = WriteOnlyCell(sheet, value=value)
            value.number_format = DATETIME_FORMAT
        cells.append(value)
    return cells


def xlsx_chunks(event: Event, status: str = "all") -> Iterator[bytes]:
    """An XLSX workbook written in openpyxl's write-only mode (rows go to disk as they
    come), then read back in chunks. The header row stays in view (frozen) and carries
    an autofilter over the whole table."""
    questions = registration_queries.questions_for_event(event, include_removed=True)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=_("Registrants")[:31])
    titles = header(event, questions)
    # Both are written around the rows (views before, the filter after): set the pane now,
    # the filter's range once the last row is known.
    sheet.freeze_panes = "A2"
    sheet.append(titles)
    rows = 1
    for registration in iter_registrations(event, status):
        sheet.append(_xlsx_cells(sheet, typed_row(registration, event, questions)))
        rows += 1
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(titles))}{rows}"
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
