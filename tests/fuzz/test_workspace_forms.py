"""Fuzz the workspace's other forms (the registration form's questions, registrants,
emails to them, organisations and their members): no 5xx, nothing half-written, and
what is accepted is stored whole."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from eventsite.extensions import db
from eventsite.models import (
    JoinedVia,
    Membership,
    Organisation,
    Question,
    QuestionKind,
    Registration,
    RegistrationStatus,
)
from eventsite.organisations import access_tokens
from eventsite.timeutil import utcnow
from eventsite.webhooks import services as webhook_services
from eventsite.webhooks.models import EventType, WebhookDelivery

from . import strategies as fz
from .harness import (
    FormTarget,
    Outcome,
    Prepared,
    Site,
    assert_exports,
    assert_one_line,
    assert_plain_text,
    last_id,
    rows_after,
    run_form_target,
)
from .test_workspace_event_forms import DIRECTION, EVENT_FORM_TARGETS

pytestmark = pytest.mark.fuzz

AUDIT = "audit_entries"
CATALOGUE = "catalogue_versions"


# --- the registration form, registrants, emails ----------------------------------------------

QUESTION_FIELDS = {
    "label": fz.text(),
    "kind": fz.choices([kind.value for kind in QuestionKind]),
    "help_text": fz.text(),
    "is_required": fz.booleans(),
    "options": fz.text(),
    "submit": fz.buttons(),
}
QUESTION_BASE = {
    "label": "Dietary needs",
    "kind": "single_choice",
    "help_text": "",
    "options": "Vegetarian\r\nVegan\r\nNone",
    "submit": "Save",
}
# Questions and webhook endpoints move the catalogue version: processes keep them by it.
QUESTION_WRITES = frozenset({"registration_questions", CATALOGUE, AUDIT})


def _fresh_question(site: Site) -> Question:
    question = Question(
        event=site.world.event,
        label=f"Question {site.next()}",
        kind=QuestionKind.SHORT_TEXT,
        position=50,
        is_active=site.serial % 2 == 0,
    )
    db.session.add(question)
    db.session.commit()
    return question


def _add_question(site: Site) -> Prepared:
    return Prepared(
        f"/manage/events/{site.world.event.id}/questions",
        dict(QUESTION_BASE),
        user=site.world.member,
        objects={"last_question": last_id(Question)},
    )


def _question_whole(site: Site, question: Question) -> None:
    assert_one_line(question.label, "the question")
    assert_plain_text(question.help_text, "the help text", allowed="\t\r\n")
    for option in question.options:
        assert_plain_text(option, "a choice", allowed="\t")
        assert option == option.strip() and option
    # The questions head the export's columns.
    assert_exports(site, site.world.event)


def _added_questions_whole(site: Site, outcome: Outcome) -> None:
    for question in rows_after(Question, outcome.prepared.objects["last_question"]):
        _question_whole(site, question)
    # The registration form is built from the questions.
    attendee = site.fresh_user()
    page = site.client(attendee).get(f"/events/{site.world.event.slug}/register")
    assert page.status_code == 200


def _question_action(url: str, base: dict[str, str] | None = None):
    def prepare(site: Site) -> Prepared:
        question = _fresh_question(site)
        return Prepared(
            url.format(event=site.world.event, question=question),
            dict(base or {"submit": "Go", "direction": "up"}),
            user=site.world.member,
            objects={"question": question},
        )

    return prepare


def _edited_question_whole(site: Site, outcome: Outcome) -> None:
    _question_whole(site, db.session.get(Question, outcome.prepared.objects["question"].id))


def _registration_action(
    url: str,
    status: str = RegistrationStatus.PENDING,
    checked_in: bool = False,
    by_organiser: bool = False,
    extra: dict[str, str] | None = None,
):
    """A fresh registration for every example; the form also carries the table's state
    (and `extra`: a confirmation page's reason and Confirm button)."""

    def prepare(site: Site) -> Prepared:
        registration = Registration(
            event=site.world.event,
            user=site.fresh_user(),
            status=status,
            answers={},
            checked_in_at=utcnow() if checked_in else None,
            cancelled_by_organiser=by_organiser,
        )
        db.session.add(registration)
        db.session.commit()
        return Prepared(
            url.format(event=site.world.event, registration=registration),
            {"submit": "Go", "status": "pending", "q": "", "sort": "name", "page": "1"}
            | (extra or {}),
            user=site.world.member,
        )

    return prepare


TABLE_STATE = {
    "submit": fz.buttons(),
    "status": fz.choices(("all", "active", "pending", "confirmed")),
    "q": fz.text(),
    "sort": fz.choices(("registered", "name", "-name")),
    "page": fz.numbers(),
}
DECISION_WRITES = frozenset({"registrations", "outbox_messages", AUDIT})
REGISTRANT_URL = "/manage/events/{event.id}/registrants/{registration.id}"


CONFIRMED = {"reason": "Registered twice.", "confirm": "Yes"}
CONFIRMATION = TABLE_STATE | {"reason": fz.text(), "confirm": fz.buttons()}


def _email_registrants(site: Site) -> Prepared:
    return Prepared(
        f"/manage/events/{site.world.event.id}/email",
        {
            "status": "active",
            "subject": "Practical details",
            "body": "Bring a pen.",
            "confirm": "Yes",
        },
        user=site.world.member,
    )


def _badges(site: Site) -> Prepared:
    """A confirmed registrant, so the valid example downloads a PDF."""
    registration = Registration(
        event=site.world.event,
        user=site.fresh_user(),
        status=RegistrationStatus.CONFIRMED,
        answers={},
    )
    db.session.add(registration)
    db.session.commit()
    return Prepared(
        f"/manage/events/{site.world.event.id}/badges",
        {"layout": "a4-2x4", "ids": str(registration.id), "submit": "Download"},
        user=site.world.member,
    )


def _bulk_action(site: Site) -> Prepared:
    """A fresh pending registration ticked on the table, and the action confirmed."""
    registration = Registration(
        event=site.world.event,
        user=site.fresh_user(),
        status=RegistrationStatus.PENDING,
        answers={},
    )
    db.session.add(registration)
    db.session.commit()
    return Prepared(
        f"/manage/events/{site.world.event.id}/registrants/bulk",
        {
            "action": "approve",
            "ids": str(registration.id),
            "reason": "",
            "confirm": "Yes",
            "status": "pending",
            "q": "",
            "sort": "name",
            "page": "1",
        },
        user=site.world.member,
    )


def _door_action(tail: str, checked_in: bool = False):
    """A fresh confirmed registration named by the door's form (or a scanned value)."""

    def prepare(site: Site) -> Prepared:
        registration = Registration(
            event=site.world.event,
            user=site.fresh_user(),
            status=RegistrationStatus.CONFIRMED,
            answers={},
            checked_in_at=utcnow() if checked_in else None,
        )
        db.session.add(registration)
        db.session.commit()
        return Prepared(
            f"/manage/events/{site.world.event.id}/door/{tail}",
            {"registration": registration.public_id, "q": "", "value": registration.ticket_code},
            user=site.world.member,
        )

    return prepare


DOOR_FIELDS = {"registration": fz.text(), "q": fz.text(), "value": fz.text()}
DOOR_WRITES = frozenset({"registrations", "check_in_duplicates", AUDIT})

QUESTION_URL = "/manage/events/{event.id}/questions/{question.id}"
REGISTRATION_TARGETS = [
    FormTarget(
        "organiser.door_check_in",
        _door_action("check-in"),
        DOOR_FIELDS,
        writes=DOOR_WRITES,
        budget=0.5,
    ),
    FormTarget(
        "organiser.door_undo",
        _door_action("undo", checked_in=True),
        DOOR_FIELDS,
        writes=DOOR_WRITES,
        budget=0.5,
    ),
    FormTarget("organiser.door_scan", _door_action("scan"), DOOR_FIELDS, budget=0.5),
    FormTarget(
        "organiser.door_sync",
        _door_action("sync"),
        DOOR_FIELDS | {"device": fz.text(), "items": fz.text()},
        writes=DOOR_WRITES,
        budget=0.3,
    ),
    FormTarget(
        "organiser.questions",
        _add_question,
        QUESTION_FIELDS,
        writes=QUESTION_WRITES,
        check=_added_questions_whole,
    ),
    FormTarget(
        "organiser.edit_question",
        _question_action(QUESTION_URL, QUESTION_BASE),
        QUESTION_FIELDS,
        writes=QUESTION_WRITES,
        check=_edited_question_whole,
    ),
    FormTarget(
        "organiser.move_question",
        _question_action(QUESTION_URL + "/move"),
        DIRECTION,
        writes=QUESTION_WRITES,
        budget=0.3,
    ),
    FormTarget(
        "organiser.remove_question",
        _question_action(QUESTION_URL + "/remove"),
        {"submit": fz.buttons()},
        writes=QUESTION_WRITES,
        budget=0.3,
    ),
    FormTarget(
        "organiser.restore_question",
        _question_action(QUESTION_URL + "/restore"),
        {"submit": fz.buttons()},
        writes=QUESTION_WRITES,
        budget=0.3,
    ),
    *(
        FormTarget(
            f"organiser.{name}",
            _registration_action(f"{REGISTRANT_URL}/{path}", status, checked_in),
            TABLE_STATE,
            writes=DECISION_WRITES,
            budget=0.5,
        )
        for name, path, status, checked_in in (
            ("approve_registration", "approve", RegistrationStatus.PENDING, False),
            ("promote_registration", "promote", RegistrationStatus.WAITLISTED, False),
            ("check_in", "check-in", RegistrationStatus.CONFIRMED, False),
            ("undo_check_in", "check-in/undo", RegistrationStatus.CONFIRMED, True),
        )
    ),
    *(
        FormTarget(
            f"organiser.{name}",
            _registration_action(f"{REGISTRANT_URL}/{path}", status, extra=CONFIRMED),
            CONFIRMATION,
            writes=DECISION_WRITES,
            budget=0.5,
        )
        for name, path, status in (
            ("reject_registration", "reject", RegistrationStatus.PENDING),
            ("cancel_registration", "cancel", RegistrationStatus.CONFIRMED),
        )
    ),
    FormTarget(
        "organiser.restore_registration",
        _registration_action(
            f"{REGISTRANT_URL}/restore", RegistrationStatus.CANCELLED, by_organiser=True
        ),
        TABLE_STATE,
        writes=DECISION_WRITES,
        budget=0.5,
    ),
    FormTarget(
        "organiser.bulk_registrants",
        _bulk_action,
        CONFIRMATION
        | {
            "action": fz.choices(("approve", "check_in", "cancel", "email", "badges")),
            "ids": fz.numbers(),
        },
        writes=DECISION_WRITES,
        budget=0.5,
    ),
    FormTarget(
        "organiser.email_registrants",
        _email_registrants,
        {
            "status": fz.choices(("active", "confirmed", "pending", "cancelled")),
            "subject": fz.text(),
            "body": fz.text(),
            "ids": fz.numbers(),
            "preview": fz.buttons(),
            "send": fz.buttons(),
            "confirm": fz.buttons(),
        },
        writes=frozenset({"outbox_messages", AUDIT}),
    ),
    FormTarget(
        "organiser.badges",
        _badges,
        {
            "layout": fz.choices(("a4-2x4", "a4-3x3", "letter-2x4", "letter-2x3")),
            "ids": fz.numbers(),
            "submit": fz.buttons(),
        },
        writes=frozenset({AUDIT}),  # who printed whose badges, and when
        budget=0.3,
    ),
]


# --- organisations, members, invitations ------------------------------------------------------

TOKEN_WRITES = frozenset({"access_tokens", AUDIT})
WEBHOOK_WRITES = frozenset({"webhook_endpoints", "webhook_deliveries", CATALOGUE, AUDIT})
EVENT_TYPES = [kind.value for kind in EventType]
ORGANISATION_WRITES = frozenset(
    {
        "organisations",
        "images",
        "memberships",
        "organisation_invitations",
        "outbox_messages",
        AUDIT,
        CATALOGUE,
    }
)


def _new_organisation(site: Site) -> Prepared:
    return Prepared(
        "/manage/organisations/new",
        {
            "name": "Open Science Society",
            "slug": "",
            "description": "We *meet*.",
            "website": "https://example.org",
            "first_member": f"first-{site.next()}@example.org",
            "submit": "Create",
        },
        user=site.world.admin,
        objects={"last_organisation": last_id(Organisation)},
    )


def _organisation_whole(site: Site, organisation: Organisation) -> None:
    assert_one_line(organisation.name, "the organisation's name")
    assert_one_line(organisation.slug, "the organisation's address")
    assert organisation.name == organisation.name.strip() and organisation.name
    assert site.client(None).get(f"/organisations/{organisation.slug}").status_code == 200


def _new_organisation_whole(site: Site, outcome: Outcome) -> None:
    for organisation in rows_after(Organisation, outcome.prepared.objects["last_organisation"]):
        _organisation_whole(site, organisation)


def _organisation_profile(site: Site) -> Prepared:
    n = site.next()
    organisation = Organisation(name=f"Society {n}", slug=f"society-{n}", description="")
    db.session.add_all(
        [
            organisation,
            Membership(
                user=site.world.member,
                organisation=organisation,
                joined_via=JoinedVia.CREATION,
            ),
        ]
    )
    db.session.commit()
    return Prepared(
        f"/manage/organisations/{organisation.id}",
        {"name": organisation.name, "description": "", "website": "", "submit": "Save"},
        user=site.world.member,
        objects={"organisation": organisation},
    )


def _profile_whole(site: Site, outcome: Outcome) -> None:
    organisation = db.session.get(Organisation, outcome.prepared.objects["organisation"].id)
    _organisation_whole(site, organisation)
    if organisation.logo_image is not None:
        logo = site.client(None).get(f"/images/{organisation.logo_image.largest['jpeg']}")
        assert logo.status_code == 200


def _add_member(site: Site) -> Prepared:
    n = site.next()
    # An address with an account (added) or without one (invited).
    email = site.fresh_user().email if n % 2 else f"invitee-{n}@example.org"
    return Prepared(
        f"/manage/organisations/{site.world.organisation.id}/members",
        {"email": email, "submit": "Add"},
        user=site.world.member,
    )


def _remove_member(site: Site) -> Prepared:
    user = site.fresh_user()
    db.session.add(
        Membership(user=user, organisation=site.world.organisation, joined_via=JoinedVia.INVITATION)
    )
    db.session.commit()
    return Prepared(
        f"/manage/organisations/{site.world.organisation.id}/members/{user.id}/remove",
        {"submit": "Remove"},
        user=site.world.member,
    )


def _revoke_invitation(site: Site) -> Prepared:
    invitation, _secret = site.invite(f"revoked-{site.next()}@example.org")
    return Prepared(
        f"/manage/organisations/{site.world.organisation.id}/invitations/{invitation.id}/revoke",
        {"submit": "Revoke"},
        user=site.world.member,
    )


def _new_api_token(site: Site) -> Prepared:
    return Prepared(
        f"/manage/organisations/{site.world.organisation.id}/api-tokens",
        {"name": "Door app", "scope": "read", "expires_on": "", "submit": "Create token"},
        user=site.world.member,
    )


def _revoke_api_token(site: Site) -> Prepared:
    token, _secret = access_tokens.create_token(
        site.world.organisation,
        name=f"Token {site.next()}",
        scope=access_tokens.TokenScope.READ,
        expires_at=None,
        created_by=site.world.member,
        now=utcnow(),
    )
    db.session.commit()
    return Prepared(
        f"/manage/organisations/{site.world.organisation.id}/api-tokens/{token.id}/revoke",
        {"submit": "Revoke"},
        user=site.world.member,
    )


def _new_webhook(site: Site) -> Prepared:
    return Prepared(
        f"/manage/organisations/{site.world.organisation.id}/webhooks",
        {"url": "https://crm.example.org/hooks", "event_types": EVENT_TYPES[0], "submit": "Add"},
        user=site.world.member,
    )


def _a_webhook(site: Site) -> str:
    """A new endpoint of the world's organisation, with one delivery tried once; its URL."""
    endpoint = webhook_services.create_endpoint(
        site.world.organisation,
        url=f"https://crm{site.next()}.example.org/hooks",
        event_types=EVENT_TYPES,
        now=utcnow(),
    )
    for delivery in webhook_services.queue(
        site.world.organisation.id, EventType.EVENT_CHANGED, {"n": 1}, utcnow()
    ):
        delivery.attempts = 1
    db.session.commit()
    return f"/manage/organisations/{site.world.organisation.id}/webhooks/{endpoint.id}"


def _switch_webhook(site: Site) -> Prepared:
    return Prepared(_a_webhook(site) + "/switch", {"submit": "Turn off"}, user=site.world.member)


def _remove_webhook(site: Site) -> Prepared:
    return Prepared(_a_webhook(site) + "/remove", {"submit": "Remove"}, user=site.world.member)


def _send_webhook_again(site: Site) -> Prepared:
    _a_webhook(site)
    delivery_id = db.session.scalar(select(func.max(WebhookDelivery.id)))
    return Prepared(
        f"/manage/organisations/{site.world.organisation.id}/webhooks/deliveries/{delivery_id}"
        "/again",
        {"submit": "Send again"},
        user=site.world.member,
    )


def _accept_invitation(site: Site) -> Prepared:
    user = site.fresh_user()
    _invitation_row, secret = site.invite(user.email)
    return Prepared(f"/manage/invitations/{secret}", {"submit": "Accept"}, user=user)


ORGANISATION_TARGETS = [
    FormTarget(
        "organiser.new_organisation",
        _new_organisation,
        {
            "name": fz.text(),
            "slug": fz.slugs(),
            "description": fz.text(),
            "website": fz.urls(),
            "first_member": fz.emails(),
            "submit": fz.buttons(),
        },
        writes=ORGANISATION_WRITES,
        check=_new_organisation_whole,
    ),
    FormTarget(
        "organiser.organisation",
        _organisation_profile,
        {
            "name": fz.text(),
            "description": fz.text(),
            "website": fz.urls(),
            "logo": fz.files(),
            "logo_alt": fz.text(),
            "remove_logo": fz.booleans(),
            "submit": fz.buttons(),
        },
        writes=ORGANISATION_WRITES,
        check=_profile_whole,
    ),
    FormTarget(
        "organiser.add_member",
        _add_member,
        {"email": fz.emails(), "submit": fz.buttons()},
        writes=ORGANISATION_WRITES,
    ),
    FormTarget(
        "organiser.remove_member",
        _remove_member,
        {"submit": fz.buttons()},
        writes=ORGANISATION_WRITES,
        budget=0.3,
    ),
    FormTarget(
        "organiser.revoke_invitation",
        _revoke_invitation,
        {"submit": fz.buttons()},
        writes=ORGANISATION_WRITES,
        budget=0.3,
    ),
    FormTarget(
        "organiser.api_tokens",
        _new_api_token,
        {
            "name": fz.text(),
            "scope": fz.choices(["read", "write"]),
            "expires_on": fz.dates(),
            "submit": fz.buttons(),
        },
        writes=TOKEN_WRITES,
    ),
    FormTarget(
        "organiser.revoke_api_token",
        _revoke_api_token,
        {"submit": fz.buttons()},
        writes=TOKEN_WRITES,
        budget=0.3,
    ),
    FormTarget(
        "organiser.webhooks",
        _new_webhook,
        {"url": fz.urls(), "event_types": fz.choices(EVENT_TYPES), "submit": fz.buttons()},
        writes=WEBHOOK_WRITES,
    ),
    *(
        FormTarget(endpoint, prepare, {"submit": fz.buttons()}, writes=WEBHOOK_WRITES, budget=0.3)
        for endpoint, prepare in (
            ("organiser.switch_webhook", _switch_webhook),
            ("organiser.remove_webhook", _remove_webhook),
            ("organiser.send_webhook_again", _send_webhook_again),
        )
    ),
    FormTarget(
        "organiser.accept_invitation",
        _accept_invitation,
        {"submit": fz.buttons()},
        writes=ORGANISATION_WRITES,
        budget=0.3,
    ),
]

WORKSPACE_TARGETS = EVENT_FORM_TARGETS + REGISTRATION_TARGETS + ORGANISATION_TARGETS


@pytest.mark.parametrize("target", REGISTRATION_TARGETS + ORGANISATION_TARGETS)
def test_workspace_form_survives_hostile_input(site: Site, target: FormTarget) -> None:
    run_form_target(site, target)
