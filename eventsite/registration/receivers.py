"""What registration does when a package below it sends a signal: an account going away
cancels its registrations; an organisation people are registered with keeps a member; the
personal-data export lists the registrations; registrants hear of an event's changes; a
duplicated event gets the same questions; a draft people registered for stays; a draft whose
registration form nobody could submit is not published; the log-in page names the event
the person is on their way to."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import joinedload

from eventsite import database, signals
from eventsite.accounts.destinations import Destination
from eventsite.accounts.models import User
from eventsite.errors import DomainError
from eventsite.events import queries as events_queries
from eventsite.events.models import Event, EventStatus
from eventsite.extensions import db
from eventsite.i18n import gettext as _
from eventsite.i18n import ngettext
from eventsite.registration import answers as registration_answers
from eventsite.registration import notifications, queries, questions, rules, services
from eventsite.registration.models import ACTIVE_STATUSES, Registration
from eventsite.timeutil import iso_or_none


class DraftHasRegistrations(DomainError):
    """People registered for the draft, so it cannot be deleted."""


class UnanswerableForm(DomainError):
    """The registration form has a required question nobody could answer."""


@signals.account_deleting.connect
def cancel_registrations_of_deleted_account(user: User, *, now: datetime) -> None:
    services.cancel_registrations_for_user(user, now)


@signals.members_leaving_alone.connect
def organisations_with_coming_registrations(
    _user_id: int, *, organisation_ids: Sequence[int], now: datetime
) -> list[int]:
    """Those of the organisations with a published event, not yet over, that someone is
    registered for (confirmed, waiting or awaiting approval): they keep a member to look
    after those people."""
    return list(
        db.session.scalars(
            select(Event.organisation_id)
            .distinct()
            .join(Registration, Registration.event_id == Event.id)
            .where(
                Event.organisation_id.in_(organisation_ids),
                Event.status == EventStatus.PUBLISHED,
                Event.ends_at > now,
                database.in_constants(Registration.status, ACTIVE_STATUSES),
            )
        )
    )


@signals.personal_data_requested.connect
def registrations_of(user: User) -> tuple[str, list[dict[str, Any]]]:
    """Every registration, cancelled ones too, with the answers as the person gave them
    (question label as it read then, answer in words) and each moment that changed it."""
    rows = db.session.scalars(
        select(Registration)
        .options(joinedload(Registration.event))
        .where(Registration.user_id == user.id)
        .order_by(Registration.id)
    ).all()
    return "registrations", [
        {
            "event": row.event.title,
            "event_slug": row.event.slug,
            "event_starts_at": iso_or_none(row.event.starts_at),
            "status": str(row.status),
            "answers": [
                {"question": label, "answer": answer}
                for label, answer in registration_answers.answer_rows(row)
            ],
            "created_at": iso_or_none(row.created_at),
            "updated_at": iso_or_none(row.updated_at),
            "promoted_at": iso_or_none(row.promoted_at),
            "decided_at": iso_or_none(row.decided_at),
            "checked_in_at": iso_or_none(row.checked_in_at),
            "cancelled_at": iso_or_none(row.cancelled_at),
        }
        for row in rows
    ]


@signals.event_changed.connect
def email_registrants_the_change(
    sender: Event, *, now: datetime, notify: bool, changes: frozenset[str], **_extra: object
) -> None:
    if notify:
        notifications.notify_event_changed(sender, now, changes)


@signals.event_cancelled.connect
def email_registrants_the_cancellation(sender: Event, *, now: datetime, **_extra: object) -> None:
    notifications.notify_event_cancelled(sender, now)


@signals.event_duplicated.connect
def copy_questions(sender: Event, *, copy: Event, now: datetime, **_extra: object) -> None:
    """The copy asks what the original asks now (its active questions, in order)."""
    questions.copy_questions(sender, copy, now)


@signals.event_deleting.connect
def keep_drafts_with_registrations(sender: Event, **_extra: object) -> None:
    if db.session.scalar(select(exists().where(Registration.event_id == sender.id))):
        raise DraftHasRegistrations(
            _("People have registered for this draft, so it cannot be deleted.")
        )


@signals.event_publishing.connect
def refuse_unanswerable_form(sender: Event, **_extra: object) -> None:
    unanswerable = rules.unanswerable_questions(queries.questions_for_event(sender))
    if unanswerable:
        raise UnanswerableForm(
            ngettext(
                "Nobody could register: the required question %(labels)s has no choices. "
                "Give it choices or remove it, then publish.",
                "Nobody could register: the required questions %(labels)s have no choices. "
                "Give them choices or remove them, then publish.",
                len(unanswerable),
                labels=", ".join(f"“{question.label}”" for question in unanswerable),
            )
        )


@signals.login_destination.connect
def name_the_event(endpoint: str, *, view_args: dict[str, Any]) -> Destination | None:
    """On the way to a published event's page or its registration form, the log-in and
    sign-up pages name the event (drafts and cancelled events stay unnamed)."""
    if endpoint not in ("registration.register", "events.detail"):
        return None
    slug = view_args.get("slug")
    if not isinstance(slug, str) or not events_queries.usable_slug(slug):
        return None
    title = db.session.scalar(
        select(Event.title).where(Event.slug == slug, Event.status == EventStatus.PUBLISHED)
    )
    if title is None:
        return None
    if endpoint == "registration.register":
        return Destination(
            login_heading=_("Log in to register for %(event)s", event=title),
            signup_heading=_("Create your account to register for %(event)s", event=title),
        )
    return Destination(
        login_heading=_("Log in to continue to %(event)s", event=title),
        signup_heading=_("Create your account to continue to %(event)s", event=title),
    )
