"""What people type into the registration form: numbers, control characters, and answers
that travel on into the confirmation email. All through the pages."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from eventsite.extensions import db
from eventsite.models import QuestionKind, Registration
from eventsite.registration import forms

NUMBER_RANGE = "Please enter a number between -999999999 and 999999999."
NOT_A_NUMBER = "Please enter a number, for example 3 or 2.5."
ONE_LINE = "Please keep this on one line: no line breaks, tabs or invisible control characters."
MULTI_LINE = "Please remove the invisible control characters from this text."


@pytest.fixture
def number_event(make_event, make_question):
    event = make_event(capacity=50)
    question = make_question(event, kind=QuestionKind.NUMBER, label="Guests")
    return event, question


@pytest.fixture
def text_event(make_event, make_question):
    event = make_event(capacity=50, title="Plain Text Day")
    short = make_question(event, label="Affiliation", position=0)
    long = make_question(event, kind=QuestionKind.LONG_TEXT, label="Why come?", position=1)
    return event, short, long


def registrations() -> list[Registration]:
    db.session.expire_all()
    return list(db.session.scalars(select(Registration).order_by(Registration.id)))


def post_answer(client, event, question, value: str):
    return client.post(f"/events/{event.slug}/register", data={question.field_name: value})


def stored_value(question):
    [registration] = registrations()
    return registration.answers[str(question.id)]["value"]


# --- numbers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("1e1000000", NUMBER_RANGE),  # once a 500: abs() overflowed the decimal context
        ("-1e1000000", NUMBER_RANGE),
        ("1000000000", NUMBER_RANGE),
        ("1e-1000000", "Please use at most 6 digits after the point."),
        ("0.0000001", "Please use at most 6 digits after the point."),
        # Read as English writes numbers; what could be read two ways says both readings.
        ("2,5", "Please write the number as 25 or 2.5."),
        ("1.000,5", "Please write the number as 1.0005 or 1,000.5."),
        ("2,5,0", "Please write the number as 250."),
        (",5", "Please write the number as 5 or 0.5."),
        ("1,0e99999", NUMBER_RANGE),  # sized up before Babel writes it out in full
        ("0,0e1000000", "Please write the number as 0."),
        ("NaN", NOT_A_NUMBER),
        ("Infinity", NOT_A_NUMBER),
        ("1 000", NOT_A_NUMBER),
        ("three", NOT_A_NUMBER),
        ("9" * 41, NOT_A_NUMBER),
    ],
)
def test_a_number_that_cannot_be_taken_as_typed_is_refused_with_a_message(
    client, login, make_user, number_event, typed, message
) -> None:
    event, question = number_event
    login(make_user())
    response = post_answer(client, event, question, typed)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page
    assert f'id="{question.field_name}-errors"' in page
    assert registrations() == []


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("3", 3),
        (" 1000 ", 1000),
        ("-2.5", -2.5),
        ("1,000", 1000),  # English thousands separators
        ("1,000,000.25", 1000000.25),
        ("1e3", 1000),
        ("2.50", 2.5),
        ("999999999", 999999999),
        ("0.000001", 0.000001),
        ("0e1000000", 0),
    ],
)
def test_a_number_is_stored_as_typed(client, login, make_user, number_event, typed, stored) -> None:
    event, question = number_event
    login(make_user())
    response = post_answer(client, event, question, typed)
    assert response.status_code == 302
    assert stored_value(question) == stored


def test_a_decimal_answer_is_shown_unrounded_when_the_answers_are_edited(
    client, login, make_user, number_event
) -> None:
    event, question = number_event
    login(make_user())
    post_answer(client, event, question, "2.125")
    [registration] = registrations()
    form = client.get(f"/registrations/{registration.public_id}/edit").get_data(as_text=True)
    assert 'value="2.125"' in form
    assert post_answer(client, event, question, "2.125").status_code == 302
    assert stored_value(question) == 2.125


def test_parse_number_never_raises_anything_but_value_error() -> None:
    tricky = ["1e999999999999999999999", "-0", "1e-999999999", "9" * 40, "0" * 40, "."]
    tricky += ["1,0e99999", "1,0e-99999", "0,0e1000000", "1,,0", "sNaN", "-Infinity", ",", "e"]
    for typed in tricky:
        try:
            value = forms.parse_number(typed, "en")
        except ValueError:
            continue
        assert isinstance(value, Decimal) and value.is_finite()


# --- control characters ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    ["CE\x00RN", "CERN\nEPFL", "CERN\tEPFL", "CERN\x1a[31m", "CERN\x9f", "CE\x85RN"],
)
def test_a_short_answer_with_control_characters_is_refused(
    client, login, make_user, text_event, typed
) -> None:
    event, short, _long = text_event
    login(make_user())
    response = post_answer(client, event, short, typed)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert ONE_LINE in page
    assert f'id="{short.field_name}-errors"' in page
    assert registrations() == []


@pytest.mark.parametrize("typed", ["Hello\x00there", "Hello\x0e", "Unit\x1fseparator"])
def test_a_long_answer_with_control_characters_is_refused(
    client, login, make_user, text_event, typed
) -> None:
    event, _short, long = text_event
    login(make_user())
    response = post_answer(client, event, long, typed)
    assert response.status_code == 422
    assert MULTI_LINE in response.get_data(as_text=True)
    assert registrations() == []


def test_pasted_soft_breaks_and_bells_are_mended_not_refused(client, login, make_user, text_event):
    """Word's soft line break (U+000B) is a space on one line and a line break in a text;
    BEL, BS, ESC and DEL are dropped (the shared forms layer: forms_common.Form)."""
    event, short, long = text_event
    login(make_user())
    response = client.post(
        f"/events/{event.slug}/register",
        data={short.field_name: "CE\x0bRN\x07\x7f", long.field_name: "Hello\x0bthere\x1b\x08"},
    )
    assert response.status_code == 302
    assert stored_value(short) == "CE RN"
    assert stored_value(long) == "Hello\nthere"


def test_a_long_answer_keeps_its_line_breaks_and_tabs(client, login, make_user, text_event):
    event, _short, long = text_event
    login(make_user())
    response = post_answer(client, event, long, "First line\r\n\tindented\nlast line")
    assert response.status_code == 302
    assert stored_value(long) == "First line\r\n\tindented\nlast line"


def test_editing_answers_refuses_control_characters_too(
    client, login, make_user, text_event
) -> None:
    event, short, _long = text_event
    login(make_user())
    post_answer(client, event, short, "CERN")
    [registration] = registrations()
    response = client.post(
        f"/registrations/{registration.public_id}/edit", data={short.field_name: "CE\x00RN"}
    )
    assert response.status_code == 422
    assert ONE_LINE in response.get_data(as_text=True)
    assert stored_value(short) == "CERN"


# --- answers travel on into the confirmation email ------------------------------------------------


def test_header_injection_in_a_short_answer_is_refused(
    client, login, make_user, text_event, smtp_sink, mailbox
) -> None:
    event, short, _long = text_event
    login(make_user())
    response = post_answer(client, event, short, "CERN\r\nBcc: victim@example.org")
    assert response.status_code == 422
    assert ONE_LINE in response.get_data(as_text=True)
    assert mailbox() == []


def test_header_lookalikes_in_a_long_answer_stay_in_the_body_of_the_email(
    client, login, make_user, text_event, smtp_sink, mailbox
) -> None:
    event, short, long = text_event
    user = make_user(email="ada@example.org")
    login(user)
    response = client.post(
        f"/events/{event.slug}/register",
        data={
            short.field_name: "CERN",
            long.field_name: "To learn.\r\nBcc: victim@example.org\r\n\r\nSubject: free money",
        },
    )
    assert response.status_code == 302

    [message] = mailbox()
    assert message.rcpt_tos == ["ada@example.org"]
    assert message.subject == "You are registered: Plain Text Day"
    headers = {name.lower() for name in message.message}
    assert "bcc" not in headers
    assert message.message.get_all("Subject") == ["You are registered: Plain Text Day"]
    assert message.message.get_all("To") == ["ada@example.org"]
    assert "Bcc: victim@example.org" in message.text  # shown as the answer it is
    assert db.session.scalar(select(func.count()).select_from(Registration)) == 1
