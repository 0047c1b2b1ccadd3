"""What the registrant exports hold when the data is awkward: characters a spreadsheet file
cannot store, and questions edited after people answered them."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from eventsite.extensions import db
from eventsite.models import Question, QuestionKind, Registration, RegistrationStatus
from eventsite.organiser import exports
from eventsite.timeutil import utcnow

NAME, EMAIL, AFFILIATION = 1, 2, 3
FIRST_QUESTION = 8  # the fixed columns come first


def _csv(client, event) -> list[list[str]]:
    response = client.get(f"/manage/events/{event.id}/registrants.csv")
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))


def _xlsx(client, event) -> tuple[list[list], set[str]]:
    """The rows as openpyxl reads them back, and the data types of all cells."""
    response = client.get(f"/manage/events/{event.id}/registrants.xlsx")
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.get_data()))
    sheet = workbook.worksheets[0]
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    types = {cell.data_type for row in sheet.iter_rows() for cell in row}
    workbook.close()
    return rows, types


def _by_email(rows: list[list]) -> dict[str, list]:
    return {row[EMAIL]: row for row in rows[1:]}


# --- characters XLSX cannot hold ------------------------------------------------------------


@pytest.fixture
def control_characters(as_member, make_user):
    """Answers stored before the registration form refused control characters: written
    straight to the database, as old data would be."""
    event = as_member.event
    question = as_member.question  # "Affiliation", short text
    question.label = "Affiliation\x0c(current)"
    person = make_user(name="Vera\x1fTab", affiliation="Lab\x08 of things")
    answers = {
        str(question.id): {
            "label": "Affiliation",
            "kind": "short_text",
            "position": 0,
            "value": "Line one\x0bLine two\x00",
        }
    }
    db.session.add(
        Registration(event=event, user=person, status=RegistrationStatus.CONFIRMED, answers=answers)
    )
    formula = make_user(name="Formula Person")
    hidden = {str(question.id): answers[str(question.id)] | {"value": "\x01=HYPERLINK(1)"}}
    db.session.add(
        Registration(event=event, user=formula, status=RegistrationStatus.CONFIRMED, answers=hidden)
    )
    db.session.commit()
    return event, person, formula


def test_xlsx_with_control_characters_downloads_and_reads_back(client, control_characters):
    event, person, formula = control_characters
    rows, types = _xlsx(client, event)
    assert rows[0][FIRST_QUESTION] == "Affiliation\ufffd(current)"
    row = _by_email(rows)[person.email]
    assert row[NAME] == "Vera\ufffdTab"
    assert row[AFFILIATION] == "Lab\ufffd of things"
    assert row[FIRST_QUESTION] == "Line one\ufffdLine two\ufffd"
    # The replaced character does not uncover a formula; nothing in the file is one.
    assert _by_email(rows)[formula.email][FIRST_QUESTION] == "\ufffd=HYPERLINK(1)"
    assert "f" not in types
    assert len(rows) == 4  # the header, the world's pending registration and these two


def test_csv_holds_the_same_cells_as_the_xlsx(client, control_characters):
    event, person, _formula = control_characters
    rows = _csv(client, event)
    row = _by_email(rows)[person.email]
    assert row[FIRST_QUESTION] == "Line one\ufffdLine two\ufffd"
    assert row[NAME] == "Vera\ufffdTab"


def test_cells_keep_line_breaks_and_lose_only_what_xml_cannot_hold() -> None:
    assert exports.cell("one\ntwo\r\nthree\tfour") == "one\ntwo\r\nthree\tfour"
    for bad in ("\x00", "\x08", "\x0b", "\x0c", "\x0e", "\x1f", "\ufffe", "\uffff", "\ud800"):
        assert exports.cell(f"a{bad}b") == "a\ufffdb"
    assert exports.cell("=1+1") == "'=1+1"
    assert exports.cell("\x0b=1+1") == "\ufffd=1+1"
    assert exports.cell(42) == 42
    assert exports.cell(None) is None


# --- questions edited after people answered -------------------------------------------------


def _add_question(client, event, **data) -> Question:
    response = client.post(
        f"/manage/events/{event.id}/questions", data={"submit": "Save question", **data}
    )
    assert response.status_code == 302
    return db.session.scalar(
        select(Question).where(Question.event_id == event.id, Question.label == data["label"])
    )


def _edit_question(client, event, question, **data) -> None:
    response = client.post(
        f"/manage/events/{event.id}/questions/{question.id}",
        data={"submit": "Save question", **data},
    )
    assert response.status_code == 302


def test_answers_stay_readable_after_their_question_is_edited(
    client, login, make_world, make_event, make_user
) -> None:
    world = make_world()
    start = utcnow() + timedelta(days=40)
    event = make_event(
        organisation=world.organisation,
        title="Water Summit",
        slug="water-summit",
        starts_at=start,
        ends_at=start + timedelta(days=1),
    )
    login(world.member)
    diet = _add_question(
        client, event, label="Dietary needs", kind="single_choice",
        options="Vegetarian\nVegan\nNone", is_required="y",
    )  # fmt: skip
    sessions = _add_question(
        client, event, label="Sessions", kind="multiple_choice", options="Opening\nPanel\nClosing"
    )
    consent = _add_question(client, event, label="Photos are fine", kind="checkbox")
    guests = _add_question(client, event, label="Guests", kind="number")

    early = make_user(name="Early Bird")
    login(early)
    response = client.post(
        f"/events/{event.slug}/register",
        data={
            diet.field_name: "Vegetarian",
            sessions.field_name: ["Opening", "Closing"],
            consent.field_name: "y",
            guests.field_name: "2",
        },
    )
    assert response.status_code == 302

    # The organiser rewords, renames the choices and changes kinds.
    login(world.member)
    _edit_question(
        client, event, diet, label="Meal preference", kind="single_choice",
        options="Veggie\nPlant-based\nAnything", is_required="y",
    )  # fmt: skip
    _edit_question(client, event, sessions, label="Sessions you plan to attend", kind="long_text")
    _edit_question(
        client, event, consent, label="Photo consent", kind="single_choice", options="Yes\nNo"
    )
    _edit_question(client, event, guests, label="Guests (adults)", kind="short_text")

    late = make_user(name="Late Comer")
    login(late)
    response = client.post(
        f"/events/{event.slug}/register",
        data={
            diet.field_name: "Plant-based",
            sessions.field_name: "Only the panel",
            consent.field_name: "No",
            guests.field_name: "none",
        },
    )
    assert response.status_code == 302

    login(world.member)
    page = client.get(f"/manage/events/{event.id}/registrants")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Early Bird" in html and "Late Comer" in html

    labels = ["Meal preference", "Sessions you plan to attend", "Photo consent", "Guests (adults)"]
    # Each answer as it was given: the old choice, the list, Yes for the ticked box, the number.
    early_cells = ["Vegetarian", "Opening, Closing", "Yes", "2"]
    late_cells = ["Plant-based", "Only the panel", "No", "none"]
    rows = _csv(client, event)
    assert rows[0][FIRST_QUESTION:] == labels
    by_email = _by_email(rows)
    assert by_email[early.email][FIRST_QUESTION:] == early_cells
    assert by_email[late.email][FIRST_QUESTION:] == late_cells

    rows, _types = _xlsx(client, event)
    assert rows[0][FIRST_QUESTION:] == labels
    by_email = _by_email(rows)
    # The XLSX types what it can: the ticked box a boolean, the number a number.
    assert by_email[early.email][FIRST_QUESTION:] == ["Vegetarian", "Opening, Closing", True, 2]
    assert by_email[late.email][FIRST_QUESTION:] == late_cells

    # The person who answered sees the wording they answered.
    registration = db.session.scalar(select(Registration).where(Registration.user_id == early.id))
    login(early)
    mine = client.get(f"/registrations/{registration.public_id}").get_data(as_text=True)
    assert "Dietary needs" in mine and "Vegetarian" in mine and "Opening, Closing" in mine


def test_a_removed_question_keeps_its_column_and_answers(client, as_member, make_user) -> None:
    event = as_member.event
    question = as_member.question
    person = make_user(name="Answered Before")
    db.session.add(
        Registration(
            event=event,
            user=person,
            status=RegistrationStatus.CONFIRMED,
            answers={
                str(question.id): {
                    "label": "Affiliation",
                    "kind": QuestionKind.SHORT_TEXT.value,
                    "position": 0,
                    "value": "CERN",
                }
            },
        )
    )
    db.session.commit()
    response = client.post(f"/manage/events/{event.id}/questions/{question.id}/remove")
    assert response.status_code == 302
    rows = _csv(client, event)
    assert rows[0][FIRST_QUESTION] == "Affiliation (removed)"
    assert _by_email(rows)[person.email][FIRST_QUESTION] == "CERN"
    rows, _types = _xlsx(client, event)
    assert rows[0][FIRST_QUESTION] == "Affiliation (removed)"
    assert _by_email(rows)[person.email][FIRST_QUESTION] == "CERN"


# --- typed cells, zones in the headers, a frozen and filterable header ------------------------


def test_xlsx_cells_are_typed_with_a_frozen_filterable_header(client, as_member, make_user) -> None:
    event = as_member.event  # Europe/Zurich
    question = as_member.question
    guests = Question(event=event, label="Guests", kind=QuestionKind.NUMBER, position=1)
    photos = Question(event=event, label="Photos", kind=QuestionKind.CHECKBOX, position=2)
    db.session.add_all([guests, photos])
    db.session.flush()

    def answers(affiliation: str, n: int | float, ticked: bool) -> dict:
        return {
            str(q.id): {"label": q.label, "kind": str(q.kind), "position": q.position, "value": v}
            for q, v in ((question, affiliation), (guests, n), (photos, ticked))
        }

    winter = datetime(2027, 1, 15, 8, 30, tzinfo=UTC)  # 09:30 CET
    summer = datetime(2027, 7, 1, 8, 30, tzinfo=UTC)  # 10:30 CEST
    ada = make_user(name="Ada", email="ada@example.org")
    bob = make_user(name="Bob", email="bob@example.org")
    db.session.add_all(
        [
            Registration(event=event, user=ada, status=RegistrationStatus.CONFIRMED,
                         answers=answers("CERN", 2, True), created_at=winter,
                         checked_in_at=summer),
            Registration(event=event, user=bob, status=RegistrationStatus.CONFIRMED,
                         answers=answers("EPFL", 1.5, False), created_at=summer),
        ]
    )  # fmt: skip
    db.session.commit()

    response = client.get(f"/manage/events/{event.id}/registrants.xlsx")
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.get_data()))
    sheet = workbook.worksheets[0]
    titles = [c.value for c in sheet[1]]
    assert titles[6:8] == [
        "Registered at (Europe/Zurich)",
        "Checked in at (Europe/Zurich)",
    ]
    assert titles[FIRST_QUESTION:] == ["Affiliation", "Guests", "Photos"]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:K{sheet.max_row}"
    assert sheet.max_row == 4  # the header, the world's pending registration and these two

    by_email = {row[EMAIL].value: row for row in sheet.iter_rows(min_row=2)}
    ada_row, bob_row = by_email["ada@example.org"], by_email["bob@example.org"]
    assert isinstance(ada_row[0].value, int) and ada_row[0].data_type == "n"
    # Wall-clock times in the event's zone, naive, shown as dates by their number format.
    assert ada_row[6].value == datetime(2027, 1, 15, 9, 30)
    assert ada_row[6].is_date and ada_row[6].number_format == exports.DATETIME_FORMAT
    assert ada_row[7].value == datetime(2027, 7, 1, 10, 30) and ada_row[7].is_date
    assert bob_row[6].value == datetime(2027, 7, 1, 10, 30)
    assert bob_row[7].value is None
    assert [c.value for c in ada_row[FIRST_QUESTION:]] == ["CERN", 2, True]
    assert [c.value for c in bob_row[FIRST_QUESTION:]] == ["EPFL", 1.5, False]
    assert ada_row[FIRST_QUESTION + 1].data_type == "n"
    assert ada_row[FIRST_QUESTION + 2].data_type == "b"
    workbook.close()

    # The CSV holds the same moments and answers, as text, with the same headers.
    rows = _csv(client, event)
    assert rows[0][6:8] == titles[6:8]
    csv_ada = _by_email(rows)["ada@example.org"]
    assert csv_ada[6:8] == ["2027-01-15 09:30:00", "2027-07-01 10:30:00"]
    assert csv_ada[FIRST_QUESTION:] == ["CERN", "2", "Yes"]
    assert _by_email(rows)["bob@example.org"][FIRST_QUESTION:] == ["EPFL", "1.5", "No"]
