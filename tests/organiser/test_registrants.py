"""Registration management: form builder, registrants table, decisions, check-in,
exports, messages and statistics."""

from __future__ import annotations

import csv
import email
import email.policy
import io
import re
import types
from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import insert, select

from eventsite.errors import DomainError
from eventsite.extensions import db
from eventsite.mail.sender import deliver_due
from eventsite.models import (
    AuditEntry,
    Question,
    QuestionKind,
    Registration,
    RegistrationStatus,
    User,
)
from eventsite.organiser import exports
from eventsite.registration import rules
from eventsite.registration import services as registration_services

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
CONFIRM = {"confirm": "Yes"}  # the Confirm button of a confirmation page


def _status(registration_id: int) -> str:
    db.session.expire_all()
    return db.session.get(Registration, registration_id).status


def _register(event, user, status="confirmed", answers=None, created_at=None) -> Registration:
    registration = Registration(
        event=event,
        user=user,
        status=status,
        answers=answers or {},
        created_at=created_at or NOW,
    )
    db.session.add(registration)
    db.session.commit()
    return registration


def _answer(question: Question, value) -> dict:
    return {str(question.id): {"label": question.label, "kind": str(question.kind),
                               "position": question.position, "value": value}}  # fmt: skip


# --- the form builder ----------------------------------------------------------------------


def test_building_the_form_add_edit_reorder_remove(client, as_member) -> None:
    event = as_member.event
    url = f"/manage/events/{event.id}/questions"
    response = client.post(
        url,
        data={"label": "Dietary needs", "kind": "single_choice", "options": "None\nVegetarian\n"},
    )
    assert response.status_code == 302
    diet = db.session.scalar(select(Question).where(Question.label == "Dietary needs"))
    assert diet.options == ["None", "Vegetarian"] and diet.position == 1
    # A choice question needs choices.
    response = client.post(url, data={"label": "Pick", "kind": "multiple_choice", "options": "x"})
    assert response.status_code == 422
    assert "at least two choices" in response.get_data(as_text=True)
    # Edit.
    response = client.post(
        f"{url}/{diet.id}",
        data={
            "label": "Diet",
            "kind": "single_choice",
            "options": "None\nVegan",
            "is_required": "y",
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    diet = db.session.get(Question, diet.id)
    assert diet.label == "Diet" and diet.is_required and diet.options == ["None", "Vegan"]
    # Reorder: the diet question first.
    assert client.post(f"{url}/{diet.id}/move", data={"direction": "up"}).status_code == 302
    db.session.expire_all()
    labels = db.session.scalars(
        select(Question.label).where(Question.event_id == event.id).order_by(Question.position)
    ).all()
    assert labels == ["Diet", "Affiliation"]
    # Remove: deactivated, not deleted.
    assert client.post(f"{url}/{diet.id}/remove").status_code == 302
    db.session.expire_all()
    assert db.session.get(Question, diet.id).is_active is False
    html = client.get(url).get_data(as_text=True)
    assert "Removed questions" in html
    assert client.post(f"{url}/{diet.id}/restore").status_code == 302
    assert db.session.get(Question, diet.id).is_active is True
    # Restoring again changes nothing and logs nothing.
    assert client.post(f"{url}/{diet.id}/restore").status_code == 302
    logged = db.session.scalars(
        select(AuditEntry).where(AuditEntry.event_id == event.id).order_by(AuditEntry.id)
    ).all()
    assert [e.action for e in logged] == [
        "question_add", "question_edit", "question_move", "question_remove", "question_restore"
    ]  # fmt: skip
    assert logged[1].details["changes"]["label"] == {"old": "Dietary needs", "new": "Diet"}


# --- the table -----------------------------------------------------------------------------


def test_the_table_filters_searches_sorts_and_pages(app, client, as_member, make_user) -> None:
    event = as_member.event
    ada = make_user(name="Ada Lovelace", affiliation="Analytical Society")
    bob = make_user(name="Bob Builder", email="bob@builders.example")
    _register(event, ada, "confirmed")
    _register(event, bob, "waitlisted")
    url = f"/manage/events/{event.id}/registrants"
    html = client.get(url).get_data(as_text=True)
    assert "Ada Lovelace" in html and "Bob Builder" in html and as_member.attendee.name in html
    html = client.get(url, query_string={"status": "waitlisted"}).get_data(as_text=True)
    assert "Bob Builder" in html and "Ada Lovelace" not in html
    html = client.get(url, query_string={"q": "analytical"}).get_data(as_text=True)
    assert "Ada Lovelace" in html and "Bob Builder" not in html
    html = client.get(url, query_string={"q": "builders.example"}).get_data(as_text=True)
    assert "Bob Builder" in html and "Ada Lovelace" not in html
    html = client.get(url, query_string={"q": "100%_"}).get_data(as_text=True)
    assert "Nobody here yet" in html
    html = client.get(url, query_string={"sort": "-name"}).get_data(as_text=True)
    assert html.index("Bob Builder") < html.index("Ada Lovelace")
    app.config["ORGANISER_REGISTRANTS_PER_PAGE"] = 2
    html = client.get(url, query_string={"sort": "name"}).get_data(as_text=True)
    assert "Page 1 of 2" in html
    assert "Ada Lovelace" in html and "Attendee" in html and "Bob Builder" not in html
    assert f'href="{url}?page=2&amp;sort=name">Next</a>' in html  # the sort stays
    html = client.get(url, query_string={"sort": "name", "page": 2}).get_data(as_text=True)
    assert "Bob Builder" in html and "Ada Lovelace" not in html
    assert f'href="{url}?page=1&amp;sort=name">Previous</a>' in html


def test_the_table_runs_a_fixed_number_of_queries(client, as_member, make_user, count_queries):
    event = as_member.event
    _register(event, make_user(), "waitlisted")  # ranks are one more query, once
    client.get(f"/manage/events/{event.id}/registrants")
    with count_queries() as few:
        client.get(f"/manage/events/{event.id}/registrants")
    for n in range(15):
        _register(event, make_user(), "waitlisted" if n % 2 else "confirmed")
    client.get(f"/manage/events/{event.id}/registrants")
    with count_queries() as many:
        client.get(f"/manage/events/{event.id}/registrants")
    assert many.count == few.count


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ({}, 6),
        ({"status": "active"}, 5),
        ({"status": "confirmed"}, 2),
        ({"status": "waitlisted"}, 2),
        ({"status": "cancelled"}, 1),
        ({"status": "pending"}, 1),
        ({"status": "rejected"}, 0),
        ({"status": "confirmed", "q": "lovelace"}, 1),
    ],
)
def test_the_pager_counts_from_the_status_tabs_unless_a_search_narrows_it(
    app, client, as_member, make_user, count_queries, query, found
) -> None:
    event = as_member.event  # its attendee's registration is pending already
    _register(event, make_user(name="Ada Lovelace"), "confirmed")
    _register(event, make_user(), "confirmed")
    for status in ("waitlisted", "waitlisted", "cancelled"):
        _register(event, make_user(), status)
    app.config["ORGANISER_REGISTRANTS_PER_PAGE"] = 1
    with count_queries() as queries:
        html = client.get(f"/manage/events/{event.id}/registrants", query_string=query)
    text = html.get_data(as_text=True)
    assert html.status_code == 200
    if found > 1:
        assert f"Page 1 of {found}" in text
    else:
        assert "Page 1 of" not in text
    counts_over_rows = [s for s in queries.statements if "count(*)" in s and "(SELECT" in s]
    assert len(counts_over_rows) == (1 if query.get("q") else 0), queries.statements


# --- decisions -----------------------------------------------------------------------------


def test_approving_and_rejecting_pending_registrations_emails_them(
    smtp_sink, app, client, world, login, make_user
) -> None:
    _controller, handler = smtp_sink
    login(world.member)
    base = f"/manage/events/{world.event.id}/registrants"
    response = client.post(f"{base}/{world.registration.id}/approve", data={"status": "pending"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"status=pending#r-{world.registration.id}")
    assert _status(world.registration.id) == "confirmed"
    other = _register(world.event, make_user(), "pending")
    assert client.post(f"{base}/{other.id}/reject", data=CONFIRM).status_code == 302
    assert _status(other.id) == "rejected"
    # Approving twice explains itself and changes nothing.
    response = client.post(f"{base}/{other.id}/approve", follow_redirects=True)
    assert "Only a registration awaiting approval" in response.get_data(as_text=True)
    deliver_due()
    recipients = sorted(m.rcpt_tos[0] for m in handler.messages)
    assert recipients == sorted([world.attendee.email, other.user.email])
    actions = db.session.scalars(
        select(AuditEntry.action).where(AuditEntry.event_id == world.event.id)
    ).all()
    assert "approve" in actions and "reject" in actions


def test_promoting_from_the_waiting_list_needs_a_free_place(client, as_member, make_user) -> None:
    event = as_member.event
    event.capacity = 2
    event.requires_approval = False
    db.session.commit()
    as_member.registration.status = RegistrationStatus.CONFIRMED
    second = _register(event, make_user(), "confirmed")
    waiting = _register(event, make_user(), "waitlisted")
    base = f"/manage/events/{event.id}/registrants"
    response = client.post(f"{base}/{waiting.id}/promote", follow_redirects=True)
    assert "No place is free" in response.get_data(as_text=True)
    assert _status(waiting.id) == "waitlisted"
    # Cancelling someone on their behalf frees the place; the waiting list moves up.
    assert client.post(f"{base}/{second.id}/cancel", data=CONFIRM).status_code == 302
    assert _status(second.id) == "cancelled"
    assert _status(waiting.id) == "confirmed"


def test_promoting_after_registration_closed(client, as_member, make_user) -> None:
    event = as_member.event
    event.capacity = 5
    event.requires_approval = False
    event.registration_closes_at = NOW - timedelta(days=1)
    db.session.commit()
    waiting = _register(event, make_user(), "waitlisted")
    base = f"/manage/events/{event.id}/registrants"
    assert client.post(f"{base}/{waiting.id}/promote").status_code == 302
    assert _status(waiting.id) == "confirmed"


def test_checking_in_at_the_door_and_undoing_it(client, as_member) -> None:
    registration = as_member.registration
    base = f"/manage/events/{as_member.event.id}/registrants/{registration.id}/check-in"
    response = client.post(base, follow_redirects=True)
    assert "still awaits the organiser" in response.get_data(as_text=True)
    registration.status = RegistrationStatus.CONFIRMED
    db.session.commit()
    assert client.post(base).status_code == 302
    db.session.expire_all()
    assert db.session.get(Registration, registration.id).checked_in_at is not None
    html = client.get(f"/manage/events/{as_member.event.id}/registrants").get_data(as_text=True)
    assert "Undo check-in" in html
    # A second click (a double submit) does not undo it.
    response = client.post(base, follow_redirects=True)
    assert "Already checked in at" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Registration, registration.id).checked_in_at is not None
    assert client.post(f"{base}/undo").status_code == 302
    db.session.expire_all()
    assert db.session.get(Registration, registration.id).checked_in_at is None
    actions = db.session.scalars(
        select(AuditEntry.action)
        .where(AuditEntry.event_id == as_member.event.id)
        .order_by(AuditEntry.id)
    ).all()
    assert actions[-2:] == ["check_in", "check_in_undo"]


# --- one transition table: the buttons shown are the actions the services take -----------

ENDPOINT_ACTIONS = {
    "approve": rules.Action.APPROVE,
    "reject": rules.Action.REJECT,
    "promote": rules.Action.PROMOTE,
    "check-in": rules.Action.CHECK_IN,
    "check-in/undo": rules.Action.UNDO_CHECK_IN,
    "cancel": rules.Action.CANCEL,
    "restore": rules.Action.RESTORE,
}
SERVICES = {
    rules.Action.APPROVE: registration_services.approve_registration,
    rules.Action.REJECT: registration_services.reject_registration,
    rules.Action.PROMOTE: registration_services.promote_registration,
    rules.Action.CHECK_IN: registration_services.check_in,
    rules.Action.UNDO_CHECK_IN: registration_services.undo_check_in,
    rules.Action.CANCEL: registration_services.cancel_registration,
    rules.Action.RESTORE: registration_services.restore_registration,
}


def _buttons(client, event, registration) -> set[rules.Action]:
    """The actions of the buttons in the registration's row of the table (a form that
    acts, or a link to the confirmation page of a destructive action)."""
    page = client.get(f"/manage/events/{event.id}/registrants").get_data(as_text=True)
    row = re.search(rf'<tr id="r-{registration.id}">.*?</tr>', page, flags=re.S)
    assert row, "the registration has no row"
    prefix = f"/manage/events/{event.id}/registrants/{registration.id}/"
    actions = re.findall(rf'(?:action|href)="{re.escape(prefix)}([a-z/-]+)', row.group(0))
    return {ENDPOINT_ACTIONS[a] for a in actions}


def _accepted(registration_id: int) -> set[rules.Action]:
    """The actions the services take for this registration, each tried on its own."""
    accepted = set()
    for action, service in SERVICES.items():
        registration = db.session.get(Registration, registration_id)
        try:
            service(registration, NOW)
        except DomainError:
            pass
        else:
            accepted.add(action)
        db.session.rollback()
    return accepted


@pytest.mark.parametrize(
    ("status", "checked_in", "by_organiser"),
    [(status, False, False) for status in RegistrationStatus]
    + [
        (RegistrationStatus.CONFIRMED, True, False),
        (RegistrationStatus.CANCELLED, True, False),
        (RegistrationStatus.CANCELLED, False, True),
    ],
)
def test_the_buttons_of_a_row_are_the_actions_the_services_accept(
    client, as_member, make_user, status, checked_in, by_organiser
) -> None:
    event = as_member.event
    event.capacity = None  # promoting needs a free place: that is counted, not a status rule
    db.session.commit()
    registration = _register(event, make_user(), status)
    registration.checked_in_at = NOW if checked_in else None
    registration.cancelled_by_organiser = by_organiser
    db.session.commit()

    shown = _buttons(client, event, registration)

    assert shown == rules.allowed_actions(registration)
    assert shown == _accepted(registration.id)


# --- exports -------------------------------------------------------------------------------


@pytest.fixture
def answered(as_member, make_user):
    """Registrations answering an active and a removed question, with hostile values."""
    event = as_member.event
    affiliation = as_member.question
    removed = Question(event=event, label="T-shirt", kind=QuestionKind.SINGLE_CHOICE,
                       options=["S", "M"], position=1, is_active=False)  # fmt: skip
    country = Question(event=event, label="Country of work", kind=QuestionKind.COUNTRY,
                       position=2)  # fmt: skip
    db.session.add_all([removed, country])
    db.session.commit()
    evil = make_user(name='=HYPERLINK("http://evil","x")', affiliation="+cmd|' /C calc'!A0")
    _register(
        event,
        evil,
        "confirmed",
        answers=_answer(affiliation, "@SUM(1+1)") | _answer(removed, "M") | _answer(country, "KE"),
    )
    plain = make_user(name="Zoë Ñandú")
    _register(
        event, plain, "waitlisted", answers=_answer(affiliation, "-2") | _answer(country, "FR")
    )
    return types.SimpleNamespace(world=as_member, evil=evil, plain=plain)


def _rows_by_email(rows: list[list]) -> dict[str, list]:
    return {row[2]: list(row) for row in rows[1:]}


# Fixed columns, then one per question in form order.
NAME, EMAIL, AFFILIATION, STATUS = 1, 2, 3, 5
Q_AFFILIATION, Q_TSHIRT, Q_COUNTRY = 8, 9, 10


def test_csv_export_has_a_column_per_question_and_inert_cells(client, answered) -> None:
    event = answered.world.event
    response = client.get(f"/manage/events/{event.id}/registrants.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    header = rows[0]
    assert header[:3] == ["Registration", "Name", "Email"]
    assert header[Q_AFFILIATION:] == ["Affiliation", "T-shirt (removed)", "Country of work"]
    by_email = _rows_by_email(rows)
    evil = by_email[answered.evil.email]
    assert evil[NAME] == '\'=HYPERLINK("http://evil","x")'
    assert evil[AFFILIATION] == "'+cmd|' /C calc'!A0"
    assert evil[Q_AFFILIATION] == "'@SUM(1+1)"
    assert evil[Q_TSHIRT] == "M"  # the removed question's answer stays readable
    assert evil[Q_COUNTRY] == "Kenya"
    plain = by_email[answered.plain.email]
    assert plain[NAME] == "Zoë Ñandú"
    assert plain[STATUS] == "On the waiting list"
    assert plain[Q_AFFILIATION] == "'-2"
    assert plain[Q_TSHIRT] == ""
    assert len(rows) == 4  # header + the world's pending registration + two
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "export"))
    assert entry.details == {"format": "csv", "status": "all", "rows": 3}


def test_xlsx_export_opens_in_openpyxl_with_inert_cells(client, answered) -> None:
    event = answered.world.event
    response = client.get(
        f"/manage/events/{event.id}/registrants.xlsx", query_string={"status": "confirmed"}
    )
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.get_data()), read_only=True)
    sheet = workbook.worksheets[0]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert len(rows) == 2  # the header and the one confirmed registration
    evil = _rows_by_email(rows)[answered.evil.email]
    assert evil[NAME].startswith("'=HYPERLINK")
    assert evil[Q_TSHIRT] == "M"
    # No cell is a formula.
    for row in sheet.iter_rows():
        for cell in row:
            assert cell.data_type != "f"
    workbook.close()


def test_neutralise_covers_every_formula_prefix() -> None:
    for value in ("=1", "+1", "-1", "@A1", "\tx", "\rx"):
        assert exports.neutralise(value) == "'" + value
    assert exports.neutralise("plain") == "plain"
    assert exports.neutralise(42) == 42


@pytest.mark.slow
def test_ten_thousand_registrants_stream_without_building_a_list(client, as_member) -> None:
    event = as_member.event
    users = [
        {"email": f"bulk{n}@example.org", "name": f"Bulk {n}", "password_hash": "x",
         "session_token": f"s{n}", "calendar_token_hash": f"c{n}"}
        for n in range(10_000)
    ]  # fmt: skip
    db.session.execute(insert(User), users)
    ids = db.session.scalars(select(User.id).where(User.email.like("bulk%"))).all()
    db.session.execute(
        insert(Registration),
        [
            {
                "event_id": event.id,
                "user_id": uid,
                "status": "confirmed",
                "answers": {},
                "created_at": NOW,
                "updated_at": NOW,
            }
            for uid in ids
        ],
    )
    db.session.commit()
    response = client.get(f"/manage/events/{event.id}/registrants.csv")
    assert response.is_streamed
    # The body is a generator, consumed chunk by chunk; never one string or list.
    assert not isinstance(response.response, list | str | bytes)
    chunks = 0
    lines = 0
    for chunk in response.response:
        chunks += 1
        lines += chunk.count(b"\n") if isinstance(chunk, bytes) else chunk.count("\n")
    response.close()
    assert lines == 10_002  # header + 10,000 + the world's pending registration
    assert chunks > 50
    response = client.get(f"/manage/events/{event.id}/registrants.xlsx")
    assert response.is_streamed
    data = response.get_data()
    workbook = load_workbook(io.BytesIO(data), read_only=True)
    assert sum(1 for _row in workbook.worksheets[0].iter_rows(values_only=True)) == 10_002
    workbook.close()


# --- messages ------------------------------------------------------------------------------


def test_emailing_registrants_with_preview_and_count(
    smtp_sink, app, client, world, login, make_user
) -> None:
    _controller, handler = smtp_sink
    _register(world.event, make_user(email="one@example.org"), "confirmed")
    _register(world.event, make_user(email="two@example.org"), "confirmed")
    _register(world.event, make_user(email="gone@example.org"), "cancelled")
    login(world.member)
    url = f"/manage/events/{world.event.id}/email"
    data = {"status": "confirmed", "subject": "Room change", "body": "We meet in <Room 2>."}
    response = client.post(url, data=data | {"preview": "Preview"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "2 people will receive it." in html
    assert "We meet in &lt;Room 2&gt;." in html
    deliver_due()
    assert handler.messages == []  # a preview sends nothing
    response = client.post(url, data=data | {"send": "Send"})
    assert "Send to 2 people?" in response.get_data(as_text=True)
    deliver_due()
    assert handler.messages == []  # asking for confirmation sends nothing
    response = client.post(url, data=data | {"confirm": "Yes"})
    assert response.status_code == 302
    deliver_due()
    assert sorted(m.rcpt_tos[0] for m in handler.messages) == ["one@example.org", "two@example.org"]
    message = email.message_from_bytes(handler.messages[0].content, policy=email.policy.default)
    assert message["Subject"] == f"Room change — {world.event.title}"
    assert message["Reply-To"] == world.member.email
    assert "We meet in <Room 2>." in message.get_body(("plain",)).get_content()
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "email_registrants"))
    assert entry.details["count"] == 2


@pytest.fixture
def email_limit_on(app_config) -> None:
    app_config.update({"RATELIMIT_ENABLED": True, "RATELIMIT_ORGANISER_EMAIL": "2/hour"})


@pytest.mark.usefixtures("email_limit_on")
def test_emailing_registrants_is_rate_limited(make_world, client, login) -> None:
    world = make_world()
    login(world.member)
    url = f"/manage/events/{world.event.id}/email"
    data = {"status": "confirmed", "subject": "Hello", "body": "Hi."}
    # Previews do not count.
    for _ in range(3):
        assert client.post(url, data=data | {"preview": "Preview"}).status_code == 200
    # Neither does the confirmation page.
    assert client.post(url, data=data | {"send": "Send"}).status_code == 200
    assert client.post(url, data=data | {"confirm": "Yes"}).status_code == 302
    assert client.post(url, data=data | {"confirm": "Yes"}).status_code == 302
    assert client.post(url, data=data | {"confirm": "Yes"}).status_code == 429


# --- statistics ----------------------------------------------------------------------------


def test_statistics_draw_registrations_over_time_by_status_and_country(
    client, as_member, make_user
) -> None:
    event = as_member.event
    for n, country in enumerate(["KE", "KE", "FR"]):
        _register(event, make_user(country=country), "confirmed",
                  created_at=NOW - timedelta(days=3 - n))  # fmt: skip
    html = client.get(f"/manage/events/{event.id}/statistics").get_data(as_text=True)
    assert "<svg" in html and "<polyline" in html
    assert html.count("<rect") >= 3
    assert "Kenya</th><td>2" in html
    assert "France</th><td>1" in html
    assert "Confirmed</th><td>3" in html


def _question(event, label: str, kind: QuestionKind, position: int, options=()) -> Question:
    question = Question(
        event=event, label=label, kind=kind, position=position, options=list(options)
    )
    db.session.add(question)
    db.session.commit()
    return question


def _answers(*pairs) -> dict:
    answers: dict = {}
    for question, value in pairs:
        answers |= _answer(question, value)
    return answers


def test_statistics_show_capacity_and_answers_per_choice_without_n_plus_one(
    client, as_member, make_user, count_queries
) -> None:
    event = as_member.event  # capacity 100; the world's attendee is awaiting approval
    diet = _question(event, "Dietary needs", QuestionKind.SINGLE_CHOICE, 1,
                     ["Vegetarian", "Vegan", "None"])  # fmt: skip
    days = _question(event, "Days", QuestionKind.MULTIPLE_CHOICE, 2, ["Monday", "Tuesday"])
    photos = _question(event, "Photos are fine", QuestionKind.CHECKBOX, 3)
    origin = _question(event, "Travelling from", QuestionKind.COUNTRY, 4)
    _question(event, "Comments", QuestionKind.LONG_TEXT, 5)  # not counted

    given = [
        ("confirmed", "Vegetarian", ["Monday", "Tuesday"], True, "KE"),
        ("confirmed", "Vegetarian", ["Monday"], False, "KE"),
        ("waitlisted", "Vegan", ["Tuesday"], True, "CH"),
        ("cancelled", "Vegan", ["Monday"], True, "FR"),  # left: not counted
        ("confirmed", "Pescatarian", [], True, "KE"),  # a choice since renamed
    ]
    for status, meal, chosen, ticked, country in given:
        answers = _answers((diet, meal), (days, chosen), (photos, ticked), (origin, country))
        _register(event, make_user(), status, answers=answers)

    url = f"/manage/events/{event.id}/statistics"
    db.session.expire_all()
    with count_queries() as few:
        html = client.get(url).get_data(as_text=True)
    # More registrations and questions answered cost no more queries.
    for _n in range(5):
        answers = _answers((diet, "Vegan"), (days, ["Monday"]), (photos, False), (origin, "FR"))
        _register(event, make_user(), "confirmed", answers=answers)
    _question(event, "Shirt size", QuestionKind.SINGLE_CHOICE, 6, ["S", "M"])
    db.session.expire_all()
    with count_queries() as more:
        client.get(url)
    assert more.count == few.count, "\n".join(more.statements)

    assert "3 confirmed, 1 awaiting approval, 1 on the waiting list; 96 of 100 places free." in html
    row = r'<tr(?: class="muted")?><th scope="row">([^<]+)</th><td>(\d+)</td>'
    table = r'<h3 id="answers-q\d+">([^<]+)</h3>(.*?)</table>'
    tables = {label: dict(re.findall(row, body)) for label, body in re.findall(table, html, re.S)}
    assert list(tables) == ["Dietary needs", "Days", "Photos are fine", "Travelling from"]
    # Four active registrations with answers and the attendee without any.
    assert tables["Dietary needs"] == {
        "Vegetarian": "2", "Vegan": "1", "None": "0", "Pescatarian": "1", "No answer": "1"
    }  # fmt: skip
    assert tables["Days"] == {"Monday": "2", "Tuesday": "2", "No answer": "2"}
    assert tables["Photos are fine"] == {"Yes": "3", "No": "1", "No answer": "1"}
    assert tables["Travelling from"] == {"Kenya": "3", "Switzerland": "1", "No answer": "1"}


def test_statistics_say_no_limit_without_a_capacity(client, as_member) -> None:
    event = as_member.event
    event.capacity = None
    db.session.commit()
    html = client.get(f"/manage/events/{event.id}/statistics").get_data(as_text=True)
    assert "No limit: 0 confirmed, 1 awaiting approval, 0 on the waiting list." in html
    assert 'id="answers-title"' not in html  # no question to count
