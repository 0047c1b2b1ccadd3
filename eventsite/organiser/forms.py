"""Workspace forms: input shape and cross-field checks; rules needing the database are
in the services."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from flask_wtf.file import FileField
from slugify import slugify
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    FloatField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
    URLField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    URL,
    DataRequired,
    InputRequired,
    NumberRange,
    Optional,
    ValidationError,
)

from eventsite import forms_common, timeutil
from eventsite.events import rules as event_rules
from eventsite.events.labels import FORMAT_LABELS, KIND_LABELS
from eventsite.events.models import (
    DEFAULT_HOLD_HOURS,
    DEFAULT_REMINDER_HOURS,
    MAX_CAPACITY,
    MAX_HOLD_HOURS,
    MAX_REMINDER_HOURS,
    MIN_HOLD_HOURS,
    Event,
    EventFormat,
    EventKind,
)
from eventsite.events.services import SLUG_MAX
from eventsite.forms_common import MaxLength, PlainText, SingleLine
from eventsite.i18n import lazy_gettext as _l
from eventsite.registration.forms import CheckboxListField
from eventsite.templating import country_choices, timezone_choices

# Date-only input is accepted too ("2027-05-12"), e.g. for all-day events.
LOCAL_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"]
LOCAL_OUTPUT = "%Y-%m-%dT%H:%M"


class WithinYears:
    """Refuses a date outside the years the site works with (the listing filters' range):
    such dates are typos, and near year 9999 the conversion to UTC overflows."""

    def __call__(self, form: forms_common.Form, field: DateTimeLocalField) -> None:
        value = field.data
        if value is not None and not (event_rules.MIN_YEAR <= value.year <= event_rules.MAX_YEAR):
            raise ValidationError(
                _l(
                    "Give a date between the years %(first)d and %(last)d.",
                    first=event_rules.MIN_YEAR,
                    last=event_rules.MAX_YEAR,
                )
            )


def _local_field(label: Any, required: bool = False, **kwargs: Any) -> DateTimeLocalField:
    validators = [InputRequired() if required else Optional(), WithinYears()]
    return DateTimeLocalField(label, validators, format=LOCAL_FORMATS, **kwargs)


def to_local_input(value: datetime | None, tz_name: str) -> datetime | None:
    """An aware UTC instant as the naive wall-clock time a datetime-local input shows."""
    if value is None:
        return None
    return timeutil.to_local(value, tz_name).replace(tzinfo=None, second=0, microsecond=0)


def _utc(value: datetime | None, tz_name: str) -> datetime | None:
    return timeutil.local_to_utc(value, tz_name) if value is not None else None


def plain_text(value: str | None) -> str:
    """Textarea content with the browser's CRLF line ends made plain LF."""
    return (value or "").replace("\r\n", "\n").replace("\r", "\n")


def _web_address() -> URL:
    return URL(require_tld=False, message=_l("Give a full web address (https://…)."))


def _blank_to_none(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


class EventForm(forms_common.Form):
    title = StringField(_l("Title"), [MaxLength(200), DataRequired(), SingleLine()])
    slug = StringField(
        _l("Web address"),
        [MaxLength(120), Optional(), SingleLine()],
        description=_l(
            "The end of the event's web address, after …/events/. Left empty, it is made "
            "from the title. It cannot change once the event is published."
        ),
    )
    kind = SelectField(
        _l("Kind"), choices=[SelectChoice(k.value, label) for k, label in KIND_LABELS.items()]
    )
    summary = TextAreaField(
        _l("Summary"),
        [MaxLength(500), Optional(), PlainText()],
        description=_l("One or two sentences."),
    )
    description = TextAreaField(
        _l("Description"),
        [MaxLength(50_000), Optional(), PlainText()],
        description=_l("Markdown."),
    )
    timezone = SelectField(
        _l("Time zone"),
        default="UTC",
        description=_l("The zone the event's times are in; common zones come first."),
    )
    is_all_day = BooleanField(_l("All-day event"))
    starts_local = _local_field(_l("Starts"), required=True)
    ends_local = _local_field(
        _l("Ends"),
        required=True,
        description=_l("For an all-day event, the last day (times are ignored)."),
    )
    topics = CheckboxListField(_l("Topics"), coerce=int, validators=[Optional()])
    venue_name = StringField(_l("Venue"), [MaxLength(200), Optional(), SingleLine()])
    venue_address = StringField(
        _l("Address of the venue"), [MaxLength(300), Optional(), SingleLine()]
    )
    city = StringField(_l("City"), [MaxLength(120), Optional(), SingleLine()])
    country = forms_common.ManyOptionsSelectField(_l("Country"), default="")
    latitude = FloatField(_l("Latitude"), [Optional(), NumberRange(-90, 90)])
    longitude = FloatField(_l("Longitude"), [Optional(), NumberRange(-180, 180)])
    format = SelectField(
        _l("Format"), choices=[SelectChoice(f.value, label) for f, label in FORMAT_LABELS.items()]
    )
    online_url = URLField(
        _l("Online address"),
        [MaxLength(500), Optional(), SingleLine(), _web_address()],
        description=_l("Required for online and hybrid events."),
    )
    capacity = IntegerField(
        _l("Places"),
        [
            Optional(),
            NumberRange(
                min=0,
                max=MAX_CAPACITY,
                message=_l("Give a number of places between 0 and %(max)d.", max=MAX_CAPACITY),
            ),
        ],
        description=_l("Leave empty for no limit."),
    )
    registration_opens_local = _local_field(_l("Registration opens"))
    registration_closes_local = _local_field(_l("Registration closes"))
    edit_deadline_local = _local_field(
        _l("Attendees may edit answers until"),
        description=_l("Empty: until registration closes."),
    )
    has_waiting_list = BooleanField(_l("Keep a waiting list when full"))
    requires_approval = BooleanField(_l("Registrations need approval"))
    confirmation_hold_hours = IntegerField(
        _l("Hold an unconfirmed place for (hours)"),
        [
            Optional(),  # left empty (or not sent): the event keeps its hours
            NumberRange(
                min=MIN_HOLD_HOURS,
                max=MAX_HOLD_HOURS,
                message=_l(
                    "Give a number of hours between %(min)d and %(max)d.",
                    min=MIN_HOLD_HOURS,
                    max=MAX_HOLD_HOURS,
                ),
            ),
        ],
        default=DEFAULT_HOLD_HOURS,
        description=_l(
            "Someone who registers without a confirmed email address gets a place at once; "
            "it is released if they do not follow the emailed link within this time."
        ),
    )
    reminder_hours = IntegerField(
        _l("Remind registrants before the start (hours)"),
        [
            Optional(),  # empty or 0: no reminder (not sent at all: unchanged)
            NumberRange(
                min=0,
                max=MAX_REMINDER_HOURS,
                message=_l(
                    "Give a number of hours up to %(max)d, or 0 for no reminder.",
                    max=MAX_REMINDER_HOURS,
                ),
            ),
        ],
        default=DEFAULT_REMINDER_HOURS,
        description=_l(
            "Confirmed registrants get an email with the event's details this long before "
            "it starts. Leave empty (or 0) to send no reminder."
        ),
    )
    move_agenda = BooleanField(
        _l("Move the agenda with the event"),
        description=_l(
            "When the start changes, every session moves by the same shift and keeps its "
            "local time."
        ),
    )
    skip_notification = BooleanField(
        _l("Don't notify registrants"),
        description=_l("Only for changes that are not to the time or place."),
    )
    # Carried by the confirmation step: the number of people the organiser was told the
    # save would email (the save goes ahead only while it is still that number).
    emails_confirmed = HiddenField(validators=[MaxLength(12), Optional()])
    preview = SubmitField(_l("Preview"))
    submit = SubmitField(_l("Save"))

    def __init__(
        self,
        *args: Any,
        topic_choices: list[tuple[int, str]] | None = None,
        kept_timezone: str | None = None,
        kept_country: str | None = None,
        first_timezones: Sequence[str] = (),
        now: datetime | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        # An event saved with a legacy alias (Asia/Calcutta) keeps it as a choice, so
        # editing it never moves it to another zone; new events get canonical names.
        common, others = timezone_choices(now or timeutil.utcnow(), first_timezones, kept_timezone)
        self.timezone.choices = {
            str(_l("Common time zones")): [SelectChoice(n, label) for n, label in common],
            str(_l("All time zones")): [SelectChoice(n, label) for n, label in others],
        }
        # For event-form.js, which adds a filter above the list.
        self.timezone.render_kw = {
            "data-filter-label": str(_l("Filter the zone list")),
            "data-filter-placeholder": str(_l("City or country")),
        }
        self.country.choices = forms_common.long_choices("—", country_choices(kept_country))
        self.topics.choices = [SelectChoice(v, label) for v, label in topic_choices or []]

    @classmethod
    def for_event(cls, event: Event, **kwargs: Any) -> EventForm:
        tz = event.timezone
        ends = event.ends_at - timedelta(days=1) if event.is_all_day else event.ends_at
        data = {
            name: getattr(event, name)
            for name in (
                "title", "slug", "kind", "summary", "description", "timezone", "is_all_day",
                "venue_name", "venue_address", "city", "latitude", "longitude", "format",
                "online_url", "capacity", "has_waiting_list", "requires_approval",
                "confirmation_hold_hours", "reminder_hours",
            )
        }  # fmt: skip
        data.update(
            country=event.country or "",
            starts_local=to_local_input(event.starts_at, tz),
            ends_local=to_local_input(ends, tz),
            registration_opens_local=to_local_input(event.registration_opens_at, tz),
            registration_closes_local=to_local_input(event.registration_closes_at, tz),
            edit_deadline_local=to_local_input(event.edit_deadline_at, tz),
            topics=[t.id for t in event.topics],
            move_agenda=bool(event.sessions),
        )
        return cls(data=data, kept_timezone=tz, kept_country=event.country, **kwargs)

    def address_preview(self, event: Event | None) -> str:
        """The end of the event's web address as the form stands: the published event's
        own, else the typed address or the title made into one ("" when neither is given;
        the saved address may get a number added when another event has it)."""
        if event is not None and event.published_at is not None:
            return event.slug
        return slugify((self.slug.data or "").strip() or self.title.data or "", max_length=SLUG_MAX)

    def event_bounds(self) -> tuple[datetime, datetime]:
        tz = self.timezone.data
        start, end = self.starts_local.data, self.ends_local.data
        if self.is_all_day.data:
            return timeutil.all_day_bounds(start.date(), end.date(), tz)
        return timeutil.local_to_utc(start, tz), timeutil.local_to_utc(end, tz)

    def validate(self, extra_validators: Any = None) -> bool:
        if not super().validate(extra_validators):
            return False
        ok = True
        if self.is_all_day.data:
            if self.ends_local.data.date() < self.starts_local.data.date():
                self.ends_local.errors.append(_l("The last day cannot come before the first."))
                ok = False
        elif self.ends_local.data <= self.starts_local.data:
            self.ends_local.errors.append(_l("The end must come after the start."))
            ok = False
        if not ok:
            return False
        _starts, ends = self.event_bounds()
        tz = self.timezone.data
        opens = _utc(self.registration_opens_local.data, tz)
        closes = _utc(self.registration_closes_local.data, tz)
        if closes is not None and closes > ends:
            self.registration_closes_local.errors.append(
                _l("Registration must close before the event ends.")
            )
            ok = False
        if opens is not None and closes is not None and closes <= opens:
            self.registration_closes_local.errors.append(
                _l("Registration must close after it opens.")
            )
            ok = False
        if opens is not None and opens >= ends:
            self.registration_opens_local.errors.append(
                _l("Registration must open before the event ends.")
            )
            ok = False
        if (
            self.format.data in (EventFormat.ONLINE, EventFormat.HYBRID)
            and not (self.online_url.data or "").strip()
        ):
            self.online_url.errors.append(_l("Online and hybrid events need the online address."))
            ok = False
        return ok

    def values(self) -> dict[str, Any]:
        """The event's columns as the services take them (times in UTC)."""
        tz = self.timezone.data
        starts, ends = self.event_bounds()
        values = {
            "title": self.title.data.strip(),
            "slug": (self.slug.data or "").strip(),
            "kind": EventKind(self.kind.data),
            "summary": plain_text(self.summary.data).strip(),
            "description": plain_text(self.description.data),
            "timezone": tz,
            "is_all_day": bool(self.is_all_day.data),
            "starts_at": starts,
            "ends_at": ends,
            "venue_name": (self.venue_name.data or "").strip(),
            "venue_address": (self.venue_address.data or "").strip(),
            "city": (self.city.data or "").strip(),
            "country": _blank_to_none(self.country.data),
            "latitude": self.latitude.data,
            "longitude": self.longitude.data,
            "format": EventFormat(self.format.data),
            "online_url": _blank_to_none(self.online_url.data),
            "capacity": self.capacity.data,
            "registration_opens_at": _utc(self.registration_opens_local.data, tz),
            "registration_closes_at": _utc(self.registration_closes_local.data, tz),
            "edit_deadline_at": _utc(self.edit_deadline_local.data, tz),
            "has_waiting_list": bool(self.has_waiting_list.data),
            "requires_approval": bool(self.requires_approval.data),
        } | (
            {}
            if self.confirmation_hold_hours.data is None
            else {"confirmation_hold_hours": self.confirmation_hold_hours.data}
        )
        if self.reminder_hours.raw_data:  # not sent: the event keeps its reminder
            values["reminder_hours"] = self.reminder_hours.data or 0  # empty: none
        return values


class CancelEventForm(forms_common.Form):
    reason = TextAreaField(
        _l("Why is the event cancelled?"),
        [
            MaxLength(2000),
            DataRequired(message=_l("Say why; attendees will read it.")),
            PlainText(),
        ],
    )
    submit = SubmitField(_l("Cancel the event"))


class PublishEventForm(forms_common.Form):
    submit = SubmitField(_l("Publish"))


class DeleteDraftForm(forms_common.Form):
    submit = SubmitField(_l("Delete the draft"))


class DuplicateEventForm(forms_common.Form):
    title = StringField(_l("Title of the copy"), [MaxLength(200), DataRequired(), SingleLine()])
    starts_local = _local_field(
        _l("The copy starts"),
        required=True,
        description=_l("In the event's time zone; the agenda moves with it."),
    )
    rescheduled = BooleanField(
        _l("The copy is this cancelled event's new date"),
        description=_l("Once the copy is published, the cancelled event's page links to it."),
    )
    submit = SubmitField(_l("Create the copy"))


class SessionForm(forms_common.Form):
    title = StringField(_l("Title"), [MaxLength(200), DataRequired(), SingleLine()])
    starts_local = _local_field(_l("Starts"), required=True)
    ends_local = _local_field(_l("Ends"), required=True)
    room = StringField(_l("Room"), [MaxLength(120), Optional(), SingleLine()])
    description = TextAreaField(_l("Description"), [MaxLength(20_000), Optional(), PlainText()])
    submit = SubmitField(_l("Save session"))

    def validate_ends_local(self, field: DateTimeLocalField) -> None:
        if self.starts_local.data and field.data and field.data <= self.starts_local.data:
            raise ValidationError(_l("The end must come after the start."))

    def values(self, tz: str) -> dict[str, Any]:
        return {
            "title": self.title.data.strip(),
            "starts_at": timeutil.local_to_utc(self.starts_local.data, tz),
            "ends_at": timeutil.local_to_utc(self.ends_local.data, tz),
            "room": (self.room.data or "").strip(),
            "description": plain_text(self.description.data),
        }


class SpeakerForm(forms_common.Form):
    speaker_id = SelectField(_l("Existing speaker"), coerce=int, default=0, validators=[Optional()])
    name = StringField(_l("Or a new speaker: name"), [MaxLength(200), Optional(), SingleLine()])
    affiliation = StringField(_l("Affiliation"), [MaxLength(300), Optional(), SingleLine()])
    country = forms_common.ManyOptionsSelectField(_l("Country"), default="")
    honours = StringField(_l("Honours"), [MaxLength(300), Optional(), SingleLine()])
    bio = TextAreaField(_l("Short biography"), [MaxLength(5000), Optional(), PlainText()])
    submit = SubmitField(_l("Add speaker"))

    def __init__(
        self, *args: Any, speaker_choices: list[tuple[int, str]] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.speaker_id.choices = [
            SelectChoice(0, "—"),
            *(SelectChoice(v, label) for v, label in speaker_choices or []),
        ]
        self.country.choices = forms_common.long_choices("—", country_choices())

    def validate(self, extra_validators: Any = None) -> bool:
        if not super().validate(extra_validators):
            return False
        if not self.speaker_id.data and not (self.name.data or "").strip():
            self.name.errors.append(_l("Pick a speaker or give a new speaker's name."))
            return False
        return True

    def new_speaker_values(self) -> dict[str, Any]:
        return {
            "name": self.name.data.strip(),
            "affiliation": (self.affiliation.data or "").strip(),
            "country": _blank_to_none(self.country.data),
            "honours": (self.honours.data or "").strip(),
            "bio": plain_text(self.bio.data),
        }


class ActionForm(forms_common.Form):
    """A bare POST button (CSRF only): move, remove, approve, check in..."""

    submit = SubmitField(_l("Go"))


class OrganisationForm(forms_common.Form):
    name = StringField(_l("Name"), [MaxLength(200), DataRequired(), SingleLine()])
    description = TextAreaField(_l("Description"), [MaxLength(20_000), Optional(), PlainText()])
    website = URLField(
        _l("Website"),
        [MaxLength(500), Optional(), SingleLine(), _web_address()],
    )
    logo = FileField(_l("Logo"), description=_l("PNG, JPEG or WebP, at most 10 MB."))
    logo_alt = StringField(
        _l("Describe the logo"),
        [MaxLength(300), Optional(), SingleLine()],
        description=_l("For people who cannot see it. Left empty: the organisation's name."),
    )
    remove_logo = BooleanField(_l("Remove the current logo"))
    submit = SubmitField(_l("Save"))


class CoverForm(forms_common.Form):
    cover = FileField(
        _l("Cover picture"),
        description=_l(
            "JPEG, PNG or WebP, at most 10 MB; at least 1600 pixels wide looks best. "
            "Location and camera details are removed."
        ),
    )
    cover_alt = StringField(
        _l("Describe the picture"),
        [MaxLength(300), Optional(), SingleLine()],
        description=_l("For people who cannot see it: what the picture shows."),
    )
    submit = SubmitField(_l("Save"))


class SpeakerPhotoForm(forms_common.Form):
    photo = FileField(
        _l("Photo"),
        description=_l(
            "JPEG, PNG or WebP, at most 10 MB. Location and camera details are removed."
        ),
    )
    photo_alt = StringField(
        _l("Describe the photo"),
        [MaxLength(300), Optional(), SingleLine()],
        description=_l("For people who cannot see it, e.g. “Ada Example speaking at a lectern”."),
    )
    submit = SubmitField(_l("Save"))


class NewOrganisationForm(forms_common.Form):
    name = StringField(_l("Name"), [MaxLength(200), DataRequired(), SingleLine()])
    slug = StringField(
        _l("Address"),
        [MaxLength(120), Optional(), SingleLine()],
        description=_l("Empty: from the name."),
    )
    description = TextAreaField(_l("Description"), [MaxLength(20_000), Optional(), PlainText()])
    website = URLField(
        _l("Website"),
        [MaxLength(500), Optional(), SingleLine(), _web_address()],
    )
    first_member = StringField(
        _l("First member's email"),
        forms_common.email_validators(required=False),
        description=_l(
            "They receive an invitation and join by accepting it. You are the first member."
        ),
    )
    submit = SubmitField(_l("Create organisation"))


class MemberForm(forms_common.Form):
    email = StringField(
        _l("Email address"),
        forms_common.email_validators(),
    )
    submit = SubmitField(_l("Invite"))


class AccessTokenForm(forms_common.Form):
    """A personal access token for the API: what it is for, read or write, and until when."""

    name = StringField(
        _l("Name"),
        [MaxLength(100), DataRequired(), SingleLine()],
        description=_l("What uses it, e.g. “Door app” or “CRM sync”."),
    )
    scope = RadioField(
        _l("Access"),
        choices=[
            SelectChoice("read", _l("Read: events and registrations")),
            SelectChoice("write", _l("Read and write: also publish, cancel, approve and check in")),
        ],
        default="read",
    )
    expires_on = DateField(
        _l("Expires after (optional)"),
        [Optional()],
        description=_l("The token stops working at the end of this day (UTC)."),
    )
    submit = SubmitField(_l("Create token"))

    def validate_expires_on(self, field: DateField) -> None:
        if (
            field.data is not None
            and not event_rules.MIN_YEAR <= field.data.year <= event_rules.MAX_YEAR
        ):
            raise ValidationError(_l("Choose a date in a nearer year."))

    def expires_at(self) -> datetime | None:
        """The end of the chosen day, UTC."""
        if self.expires_on.data is None:
            return None
        return timeutil.local_day_start(self.expires_on.data + timedelta(days=1), "UTC")
