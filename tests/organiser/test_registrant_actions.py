"""The organiser's safe actions on registrants: cancelling and rejecting are confirmed and
carry a reason to the person, a cancellation can be undone while its place is free, bulk
actions go through the same services and say what they skipped, and the message an
organiser sends is the message they previewed."""

from __future__ import annotations

import email
import email.policy
import html
import re
from datetime import UTC, datetime

import pytest
from icalendar import Calendar
from sqlalchemy import select

from eventsite.extensions import db
from eventsite.mail.sender import deliver_due
from eventsite.models import (
    AuditEntry,
    Event,
    EventStatus,
    Question,
    QuestionKind,
    Registration,
    RegistrationStatus,
)
from eventsite.registration import services as registration_services
from tests.mail.invitations import invitation

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
CONFIRM = {"confirm": "Yes"}


def _register(event, user, status="confirmed") -> Registration:
    registration = Registration(event=event, user=user, status=status, answers={}, created_at=NOW)
    db.session.add(registration)
    db.session.commit()
    return registration


def _reload(registration_id: int) -> Registration:
    db.session.expire_all()
    return db.session.get(Registration, registration_id)


def _messages(handler) -> list[email.message.EmailMessage]:
    deliver_due()
    return [
        email.message_from_bytes(m.content, policy=email.policy.default) for m in handler.messages
    ]


def _plain(message) -> str:
    return message.get_body(("plain",)).get_content()


def _as_composed(part: str) -> str:
    """A received body as it was composed: SMTP carries lines ending in CRLF, and the
    MIME text part ends its last line (RFC 5322 2.3); nothing else may differ."""
    return part.replace("\r\n", "\n").removesuffix("\n")


def _audit(event, action: str) -> list[AuditEntry]:
    return list(
        db.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.event_id == event.id, AuditEntry.action == action)
            .order_by(AuditEntry.id)
        )
    )


# --- cancel and reject: a confirmation page, a reason for the person --------------------------


def test_cancel_asks_first_naming_the_person_and_what_follows(client, as_member) -> None:
    registration = as_member.registration
    url = f"/manage/events/{as_member.event.id}/registrants/{registration.id}/cancel"
    page = client.get(url)
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f"Cancel the registration of {as_member.attendee.name}?" in text
    assert "goes to the first person on the waiting list" in text
    assert 'name="reason"' in text and "Back" in text
    # A POST without its Confirm button shows the question again and changes nothing.
    response = client.post(url, data={"reason": "Duplicate"})
    assert response.status_code == 200
    assert "Cancel the registration of" in response.get_data(as_text=True)
    assert _reload(registration.id).status == RegistrationStatus.PENDING
    assert _audit(as_member.event, "cancel_registration") == []


def test_the_row_links_destructive_actions_to_their_confirmation(client, as_member) -> None:
    event, registration = as_member.event, as_member.registration
    page = client.get(f"/manage/events/{event.id}/registrants").get_data(as_text=True)
    row = re.search(rf'<tr id="r-{registration.id}">.*?</tr>', page, flags=re.S).group(0)
    base = f"/manage/events/{event.id}/registrants/{registration.id}"
    # Approve acts at once; Reject and Cancel are links, apart, to a page that asks.
    assert f'action="{base}/approve"' in row
    destructive = re.search(r'<span class="destructive-actions">.*?</span>', row, flags=re.S)
    assert f'href="{base}/reject"' in destructive.group(0)
    assert f'href="{base}/cancel"' in destructive.group(0)
    assert f'action="{base}/cancel"' not in row and f'action="{base}/reject"' not in row


def test_an_organiser_cancellation_emails_the_reason_and_is_logged(
    smtp_sink, client, as_member
) -> None:
    _controller, handler = smtp_sink
    registration = as_member.registration
    url = f"/manage/events/{as_member.event.id}/registrants/{registration.id}/cancel"
    reason = "The workshop room holds 20 people;\nyou registered twice."
    response = client.post(url, data={"reason": reason, **CONFIRM})
    assert response.status_code == 302
    assert _reload(registration.id).status == RegistrationStatus.CANCELLED
    assert _reload(registration.id).cancelled_by_organiser
    [message] = _messages(handler)
    assert message["To"] == as_member.attendee.email
    assert message["Subject"].startswith("The organisers cancelled your registration")
    body = _as_composed(_plain(message))
    assert "The organisers have cancelled your registration" in body
    assert "Thank you for letting the organisers know" not in body
    assert reason in body
    assert "you registered twice." in message.get_body(("html",)).get_content()
    [entry] = _audit(as_member.event, "cancel_registration")
    assert entry.details["reason"] == reason
    assert entry.details["registration"] == registration.id


def test_the_person_cancelling_is_thanked_not_told_the_organisers_did_it(
    smtp_sink, client, world, login
) -> None:
    _controller, handler = smtp_sink
    login(world.attendee)
    response = client.post(f"/registrations/{world.registration.public_id}/cancel")
    assert response.status_code == 302
    [message] = _messages(handler)
    body = _plain(message)
    assert "Thank you for letting the organisers know" in body
    assert "The organisers have cancelled" not in body
    assert not _reload(world.registration.id).cancelled_by_organiser


def test_a_rejection_emails_the_reason(smtp_sink, client, as_member) -> None:
    _controller, handler = smtp_sink
    registration = as_member.registration
    url = f"/manage/events/{as_member.event.id}/registrants/{registration.id}/reject"
    assert "Reject the registration of" in client.get(url).get_data(as_text=True)
    response = client.post(url, data={"reason": "Members of the society only.", **CONFIRM})
    assert response.status_code == 302
    assert _reload(registration.id).status == RegistrationStatus.REJECTED
    [message] = _messages(handler)
    assert "could not accept your registration" in _plain(message)
    assert "Members of the society only." in _plain(message)
    [entry] = _audit(as_member.event, "reject")
    assert entry.details["reason"] == "Members of the society only."


@pytest.mark.parametrize(
    ("reason", "message"),
    [
        ("x" * 1001, "1000"),
        ("Bell\x07 and NUL\x00", "control"),
    ],
)
def test_a_bad_reason_is_refused_and_nothing_happens(client, as_member, reason, message) -> None:
    registration = as_member.registration
    url = f"/manage/events/{as_member.event.id}/registrants/{registration.id}/cancel"
    response = client.post(url, data={"reason": reason, **CONFIRM})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert _reload(registration.id).status == RegistrationStatus.PENDING


def test_a_confirmation_without_its_csrf_token_does_not_act(app, client, as_member) -> None:
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        registration = as_member.registration
        url = f"/manage/events/{as_member.event.id}/registrants/{registration.id}/cancel"
        response = client.post(url, data=CONFIRM)
        assert response.status_code == 400
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert _reload(registration.id).status == RegistrationStatus.PENDING


def test_a_confirmation_page_for_a_final_registration_says_so(client, as_member, make_user):
    gone = _register(as_member.event, make_user(), "rejected")
    url = f"/manage/events/{as_member.event.id}/registrants/{gone.id}/cancel"
    text = client.get(url).get_data(as_text=True)
    assert "can no longer be changed this way" in text
    response = client.post(url, data=CONFIRM, follow_redirects=True)
    assert "This registration is not active." in response.get_data(as_text=True)


# --- undoing an organiser's cancellation ----------------------------------------------------


def test_undo_gives_the_place_back_and_tells_the_person(smtp_sink, client, as_member) -> None:
    _controller, handler = smtp_sink
    event, registration = as_member.event, as_member.registration
    registration.status = RegistrationStatus.CONFIRMED
    registration.decided_at = NOW
    db.session.commit()
    base = f"/manage/events/{event.id}/registrants/{registration.id}"
    handler.messages.clear()
    client.post(f"{base}/cancel", data=CONFIRM)
    page = client.get(f"/manage/events/{event.id}/registrants").get_data(as_text=True)
    assert f'action="{base}/restore"' in page and "Undo cancellation" in page
    deliver_due()
    [cancelled_message] = _messages(handler)
    cancel = Calendar.from_ical(invitation(cancelled_message, "CANCEL"))
    handler.messages.clear()
    response = client.post(f"{base}/restore", follow_redirects=True)
    assert "Registration restored" in response.get_data(as_text=True)
    # The place comes back as a registration of its own, with the same answers and time;
    # the cancelled one stays in the history and cannot be restored twice.
    old = _reload(registration.id)
    assert old.status == RegistrationStatus.CANCELLED and not old.cancelled_by_organiser
    [restored] = db.session.scalars(
        select(Registration).where(
            Registration.event_id == event.id,
            Registration.user_id == registration.user_id,
            Registration.id != registration.id,
        )
    )
    assert restored.status == RegistrationStatus.CONFIRMED  # approved before: no new approval
    assert restored.answers == old.answers and restored.created_at == old.created_at
    page = client.get(f"/manage/events/{event.id}/registrants").get_data(as_text=True)
    assert f'action="{base}/restore"' not in page
    [message] = _messages(handler)
    assert message["Subject"].startswith("Your place is back")
    assert "your place is back" in _plain(message)
    assert restored.public_id in _plain(message)  # the link to the place it is now
    # Back in the calendar: a REQUEST for the same event, above the CANCEL it received.
    request = Calendar.from_ical(invitation(message, "REQUEST"))
    [cancelled_event] = cancel.walk("VEVENT")
    [requested_event] = request.walk("VEVENT")
    assert requested_event["UID"] == cancelled_event["UID"]
    assert requested_event["SEQUENCE"] > cancelled_event["SEQUENCE"]
    assert [e.details["registration"] for e in _audit(event, "restore_registration")] == [
        registration.id
    ]


def test_undo_is_refused_once_the_place_went_to_the_waiting_list(
    client, as_member, make_user
) -> None:
    event = as_member.event
    event.capacity = 1
    event.requires_approval = False
    db.session.commit()
    registration = as_member.registration
    registration.status = RegistrationStatus.CONFIRMED
    waiting = _register(event, make_user(), "waitlisted")
    base = f"/manage/events/{event.id}/registrants/{registration.id}"
    client.post(f"{base}/cancel", data=CONFIRM)
    assert _reload(waiting.id).status == RegistrationStatus.CONFIRMED  # promoted at once
    response = client.post(f"{base}/restore", follow_redirects=True)
    assert "The place is no longer free" in response.get_data(as_text=True)
    assert _reload(registration.id).status == RegistrationStatus.CANCELLED


def test_undo_is_refused_when_the_person_registered_again(client, as_member) -> None:
    event, registration = as_member.event, as_member.registration
    base = f"/manage/events/{event.id}/registrants/{registration.id}"
    client.post(f"{base}/cancel", data=CONFIRM)
    again = _register(event, as_member.attendee, "pending")
    response = client.post(f"{base}/restore", follow_redirects=True)
    assert "This person has registered again" in response.get_data(as_text=True)
    assert _reload(registration.id).status == RegistrationStatus.CANCELLED
    assert _reload(again.id).status == RegistrationStatus.PENDING


def test_a_registration_the_person_cancelled_cannot_be_restored(client, world, login) -> None:
    registration_services.cancel_registration(world.registration, NOW)  # the person's own
    db.session.commit()
    login(world.member)
    base = f"/manage/events/{world.event.id}/registrants/{world.registration.id}"
    response = client.post(f"{base}/restore", follow_redirects=True)
    assert "Only a registration the organisers cancelled" in response.get_data(as_text=True)
    assert _reload(world.registration.id).status == RegistrationStatus.CANCELLED


# --- bulk actions ---------------------------------------------------------------------------


def _bulk(client, event, action: str, ids, **extra):
    return client.post(
        f"/manage/events/{event.id}/registrants/bulk",
        data={"action": action, "ids": [str(i) for i in ids], **extra},
    )


def test_bulk_approve_confirms_first_then_reports_the_skipped(
    smtp_sink, client, as_member, make_user
) -> None:
    _controller, handler = smtp_sink
    event = as_member.event
    pending = [as_member.registration] + [
        _register(event, make_user(), "pending") for _ in range(2)
    ]
    done = _register(event, make_user(name="Already Here"), "confirmed")
    ids = [r.id for r in [*pending, done]]
    page = _bulk(client, event, "approve", ids)
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Approve 3 people?" in text
    assert "Already Here" in text and "(will be skipped)" in text
    assert all(_reload(r.id).status == RegistrationStatus.PENDING for r in pending)
    response = _bulk(client, event, "approve", ids, **CONFIRM)
    assert response.status_code == 302
    flashed = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "3 approved, 1 skipped: Only a registration awaiting approval can be approved" in (
        html.unescape(flashed)
    )
    assert all(_reload(r.id).status == RegistrationStatus.CONFIRMED for r in pending)
    assert len(_messages(handler)) == 3  # the approved are told, the skipped are not
    [summary] = _audit(event, "bulk_action")
    assert summary.details["registrations"] == [r.id for r in pending]
    assert summary.details["skipped"] == 1
    assert len(_audit(event, "approve")) == 3


def test_bulk_cancel_with_a_reason_and_check_in(smtp_sink, client, as_member, make_user):
    _controller, handler = smtp_sink
    event = as_member.event
    confirmed = [_register(event, make_user(), "confirmed") for _ in range(2)]
    ids = [r.id for r in confirmed]
    assert _bulk(client, event, "check_in", ids, **CONFIRM).status_code == 302
    assert all(_reload(i).checked_in_at is not None for i in ids)
    page = _bulk(client, event, "cancel", ids).get_data(as_text=True)
    assert "Cancel the registrations of 2 people?" in page and 'name="reason"' in page
    response = _bulk(client, event, "cancel", ids, reason="The venue flooded.", **CONFIRM)
    assert response.status_code == 302
    assert all(_reload(i).status == RegistrationStatus.CANCELLED for i in ids)
    messages = _messages(handler)
    assert sorted(m["To"] for m in messages) == sorted(r.user.email for r in confirmed)
    assert all("The venue flooded." in _plain(m) for m in messages)
    assert [e.details["reason"] for e in _audit(event, "cancel_registration")] == [
        "The venue flooded."
    ] * 2


def test_bulk_leaves_other_events_registrations_alone(client, as_member, make_user) -> None:
    other = as_member.other_registration  # another organisation's event
    response = _bulk(client, as_member.event, "cancel", [other.id], **CONFIRM)
    assert response.status_code == 422
    assert "None of the selected people" in response.get_data(as_text=True)
    assert _reload(other.id).status == RegistrationStatus.CONFIRMED


@pytest.mark.parametrize(
    "data",
    [
        {"action": "approve"},  # nobody ticked
        {"action": "approve", "ids": ["1x"]},
        {"action": "approve", "ids": ["9" * 40]},
        {"action": "delete_everything", "ids": ["1"]},
        {"action": "approve", "ids": [str(i) for i in range(1, 502)]},
    ],
)
def test_bulk_refuses_bad_input_with_a_message(client, as_member, data) -> None:
    response = client.post(f"/manage/events/{as_member.event.id}/registrants/bulk", data=data)
    assert response.status_code == 422
    assert '<ul class="errors"' in response.get_data(as_text=True)
    assert _reload(as_member.registration.id).status == RegistrationStatus.PENDING


def test_the_bulk_confirmation_runs_a_fixed_number_of_queries(
    client, as_member, make_user, count_queries
) -> None:
    event = as_member.event
    few = [_register(event, make_user(), "pending").id for _ in range(2)]
    many = few + [_register(event, make_user(), "pending").id for _ in range(20)]
    _bulk(client, event, "approve", few)
    with count_queries() as two:
        _bulk(client, event, "approve", few)
    with count_queries() as twenty_two:
        _bulk(client, event, "approve", many)
    assert twenty_two.count == two.count


def test_bulk_email_opens_the_message_page_for_the_ticked_people(
    smtp_sink, client, as_member, make_user
) -> None:
    _controller, handler = smtp_sink
    event = as_member.event
    chosen = [_register(event, make_user(), "confirmed") for _ in range(2)]
    _register(event, make_user(), "confirmed")  # not ticked
    response = _bulk(client, event, "email", [r.id for r in chosen])
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "2 people will receive it." in page
    assert '<option selected value="selected">' in page
    data = {
        "status": "selected",
        "ids": [str(r.id) for r in chosen],
        "subject": "Your poster slot",
        "body": "Posters go up at 9.",
    }
    url = f"/manage/events/{event.id}/email"
    assert "Send to 2 people?" in client.post(url, data=data | {"send": "Send"}).get_data(
        as_text=True
    )
    assert client.post(url, data=data | CONFIRM).status_code == 302
    assert sorted(m["To"] for m in _messages(handler)) == sorted(r.user.email for r in chosen)


# --- the email sent is the email previewed ---------------------------------------------------


def _preview_part(page: str, css_class: str) -> str:
    match = re.search(rf'<(?:pre|dd) class="[^"]*{css_class}">(.*?)</(?:pre|dd)>', page, re.S)
    assert match, css_class
    return html.unescape(match.group(1))


def test_the_preview_is_the_message_received_byte_for_byte(
    smtp_sink, client, world, login, make_user
) -> None:
    _controller, handler = smtp_sink
    ada = make_user(name="Ada Lovelace", email="ada@example.org")
    grace = make_user(name="Grace Hopper", email="grace@example.org")
    for person in (ada, grace):
        _register(world.event, person, "confirmed")
    login(world.member)
    url = f"/manage/events/{world.event.id}/email"
    body = "Dear all,\r\n\r\nWe meet in <Room 2> — bring your badge.\r\n\tThanks & see you!"
    data = {"status": "confirmed", "subject": "Room change", "body": body}
    page = client.post(url, data=data | {"preview": "Preview"}).get_data(as_text=True)
    assert "as <bdi>Ada Lovelace</bdi> receives it" in page  # the first recipient
    subject = _preview_part(page, "preview-subject")
    text = _preview_part(page, "preview-text")
    html_body = _preview_part(page, "preview-html")
    sender = _preview_part(page, "preview-from")
    assert subject == f"Room change — {world.event.title}"
    assert text.startswith("Hello Ada Lovelace,") and world.organisation.name in text
    assert "You receive this email because" in text  # the footer
    assert sender.startswith(world.organisation.name)
    assert client.post(url, data=data | CONFIRM).status_code == 302
    received = {m["To"]: m for m in _messages(handler)}
    assert set(received) == {"ada@example.org", "grace@example.org"}
    for address, name in (
        ("ada@example.org", "Ada Lovelace"),
        ("grace@example.org", "Grace Hopper"),
    ):
        message = received[address]
        assert message["Subject"] == subject
        assert str(message["From"]) == sender
        assert message["From"].addresses[0].display_name == world.organisation.name
        assert _as_composed(_plain(message)) == text.replace("Ada Lovelace", name)
        html_part = message.get_body(("html",)).get_content()
        assert _as_composed(html_part) == html_body.replace("Ada Lovelace", name)


# --- questions that can always be answered ---------------------------------------------------


@pytest.mark.parametrize("kind", ["single_choice", "multiple_choice"])
@pytest.mark.parametrize("options", ["", "\r\n  \r\n", "Only one"])
def test_the_question_form_refuses_a_choice_question_without_two_choices(
    client, as_member, kind, options
) -> None:
    url = f"/manage/events/{as_member.event.id}/questions"
    response = client.post(url, data={"label": "Pick one", "kind": kind, "options": options})
    assert response.status_code == 422
    assert "Give at least two choices, one per line." in response.get_data(as_text=True)
    assert db.session.scalar(select(Question).where(Question.label == "Pick one")) is None


def test_publishing_an_unanswerable_form_is_refused_saying_why(client, as_member) -> None:
    draft = as_member.draft
    db.session.add(
        Question(event=draft, label="Workshop", kind=QuestionKind.SINGLE_CHOICE, is_required=True)
    )
    db.session.commit()
    response = client.post(f"/manage/events/{draft.id}/publish", follow_redirects=True)
    text = html.unescape(response.get_data(as_text=True))
    assert "“Workshop” has no choices" in text
    db.session.expire_all()
    assert db.session.get(Event, draft.id).status == EventStatus.DRAFT
