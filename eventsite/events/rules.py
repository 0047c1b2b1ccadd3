"""The rules an event's values meet, whoever sets them (the workspace, the CLI, an import):
dates in order and in range, the online address when needed, text that fits one line."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from flask_login import AnonymousUserMixin

from eventsite import input_rules
from eventsite.accounts.models import User
from eventsite.errors import DomainError
from eventsite.events.models import (
    MAX_CAPACITY,
    MAX_HOLD_HOURS,
    MAX_REMINDER_HOURS,
    MIN_HOLD_HOURS,
    AgendaSession,
    Event,
    EventFormat,
    EventStatus,
)
from eventsite.i18n import gettext as _

# Dates outside this range are typos, and near year 9999 date arithmetic overflows.
MIN_YEAR, MAX_YEAR = 1900, 2200

# Addresses under /events/ that are pages of their own, never an event's slug.
RESERVED_SLUGS = frozenset({"calendar"})

DATE_FIELDS = (
    "starts_at",
    "ends_at",
    "registration_opens_at",
    "registration_closes_at",
    "edit_deadline_at",
)
# What the CLI or the API passes meets the form's rules: a line break in a title would
# reach email subjects and calendar lines.
SINGLE_LINE_FIELDS = ("title", "slug", "venue_name", "venue_address", "city", "online_url")
MULTI_LINE_FIELDS = ("summary", "description")


class EventError(DomainError):
    """A rule about events refused the change."""


def check_event_values(values: dict[str, Any]) -> None:
    starts, ends = values.get("starts_at"), values.get("ends_at")
    if starts is None or ends is None:
        raise EventError(_("Give the start and the end."), field="starts_at")
    # The form checks the local dates; this catches what comes another way (the CLI, an
    # import). In UTC a date at either end of the range may fall in the next year out.
    for name in DATE_FIELDS:
        moment = values.get(name)
        if moment is not None and not (MIN_YEAR - 1 <= moment.year <= MAX_YEAR + 1):
            raise EventError(
                _(
                    "Give a date between the years %(first)s and %(last)s.",
                    first=MIN_YEAR,
                    last=MAX_YEAR,
                ),
                field=name,
            )
    if ends <= starts:
        raise EventError(_("The end must come after the start."), field="ends_at")
    opens, closes = values.get("registration_opens_at"), values.get("registration_closes_at")
    if closes is not None and closes > ends:
        raise EventError(
            _("Registration must close before the event ends."), field="registration_closes_at"
        )
    if opens is not None and closes is not None and closes <= opens:
        raise EventError(
            _("Registration must close after it opens."), field="registration_closes_at"
        )
    if opens is not None and opens >= ends:
        raise EventError(
            _("Registration must open before the event ends."), field="registration_opens_at"
        )
    if values.get("format") in (EventFormat.ONLINE, EventFormat.HYBRID) and not values.get(
        "online_url"
    ):
        raise EventError(_("Online and hybrid events need the online address."), "online_url")
    capacity = values.get("capacity")
    if capacity is not None and not (0 <= capacity <= MAX_CAPACITY):
        raise EventError(
            _("Give a number of places between 0 and %(max)d.", max=MAX_CAPACITY),
            field="capacity",
        )
    hours = values.get("confirmation_hold_hours")
    if hours is not None and not (MIN_HOLD_HOURS <= hours <= MAX_HOLD_HOURS):
        raise EventError(
            _(
                "Give a number of hours between %(min)d and %(max)d.",
                min=MIN_HOLD_HOURS,
                max=MAX_HOLD_HOURS,
            ),
            field="confirmation_hold_hours",
        )
    reminder = values.get("reminder_hours")
    if reminder is not None and not (0 <= reminder <= MAX_REMINDER_HOURS):
        raise EventError(
            _(
                "Give a number of hours up to %(max)d, or 0 for no reminder.",
                max=MAX_REMINDER_HOURS,
            ),
            field="reminder_hours",
        )
    check_event_text(values)


def check_event_text(values: dict[str, Any]) -> None:
    """Mend pasted soft breaks and stray control characters in place
    (input_rules.clean_text_fields), then refuse what is still not plain text."""
    input_rules.clean_text_fields(values, SINGLE_LINE_FIELDS, MULTI_LINE_FIELDS)
    name = input_rules.first_not_single_line(values, SINGLE_LINE_FIELDS)
    if name is not None:
        raise EventError(str(input_rules.SINGLE_LINE_MESSAGE), field=name)
    name = input_rules.first_not_plain_text(values, MULTI_LINE_FIELDS)
    if name is not None:
        raise EventError(str(input_rules.PLAIN_TEXT_MESSAGE), field=name)


def check_sessions_inside(
    event: Event,
    starts: datetime,
    ends: datetime,
    moved: Mapping[AgendaSession, tuple[datetime, datetime]] | None = None,
) -> None:
    """The event's new dates still hold every session of its agenda (at the `moved` times
    of those that move, when the agenda moves with the event)."""
    times = moved or {}
    outside = [
        session
        for session in event.sessions
        for s_starts, s_ends in [times.get(session, (session.starts_at, session.ends_at))]
        if s_starts < starts or s_ends > ends
    ]
    if not outside:
        return
    titles = ", ".join(s.title for s in outside[:3])
    if moved is not None:
        message = _(
            "Moved with the event, sessions of the agenda would fall outside its new dates "
            "(%(titles)s); change their times first.",
            titles=titles,
        )
    else:
        message = _(
            "The agenda has sessions outside these dates (%(titles)s); tick “Move the "
            "agenda with the event” to move them by the same shift, or move them first.",
            titles=titles,
        )
    raise EventError(message, field="starts_at" if moved is not None else "move_agenda")


def may_preview(user: User | AnonymousUserMixin, event: Event) -> bool:
    """A draft's page is shown, as a preview, to the members of its organisation (and to
    admins) who are logged in; to everyone else it does not exist."""
    return (
        event.status == EventStatus.DRAFT
        and user.is_authenticated
        and isinstance(user, User)
        and user.is_member_of(event.organisation_id)
    )
