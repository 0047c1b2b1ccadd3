"""Workspace forms about registration: questions of the form, messages to registrants."""

from __future__ import annotations

from typing import Any

from wtforms import BooleanField, Field, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Optional, StopValidation, ValidationError

from eventsite import forms_common
from eventsite.database import INTEGER_MAX
from eventsite.forms_common import MaxLength, PlainText, SingleLine
from eventsite.i18n import lazy_gettext as _l
from eventsite.organiser import badges
from eventsite.registration.models import QuestionKind, RegistrationStatus

QUESTION_KIND_LABELS = {
    QuestionKind.SHORT_TEXT: _l("Short text"),
    QuestionKind.LONG_TEXT: _l("Long text"),
    QuestionKind.SINGLE_CHOICE: _l("Single choice"),
    QuestionKind.MULTIPLE_CHOICE: _l("Multiple choice"),
    QuestionKind.CHECKBOX: _l("Checkbox (e.g. consent)"),
    QuestionKind.COUNTRY: _l("Country"),
    QuestionKind.NUMBER: _l("Number"),
}


class QuestionForm(forms_common.Form):
    label = StringField(_l("Question"), [MaxLength(300), DataRequired(), SingleLine()])
    kind = SelectField(
        _l("Kind of answer"),
        choices=[SelectChoice(k.value, v) for k, v in QUESTION_KIND_LABELS.items()],
    )
    help_text = TextAreaField(_l("Help text"), [MaxLength(2000), Optional(), PlainText()])
    is_required = BooleanField(_l("Required"))
    options = TextAreaField(
        _l("Choices"),
        [MaxLength(10_000), Optional(), PlainText()],
        description=_l("For single and multiple choice: at least two choices, one per line."),
    )
    submit = SubmitField(_l("Save question"))

    def option_list(self) -> list[str]:
        seen: list[str] = []
        for line in (self.options.data or "").splitlines():
            line = line.strip()
            if line and line not in seen:
                seen.append(line)
        return seen

    def validate_options(self, field: TextAreaField) -> None:
        choice = self.kind.data in (QuestionKind.SINGLE_CHOICE, QuestionKind.MULTIPLE_CHOICE)
        if choice and len(self.option_list()) < 2:
            raise ValidationError(_l("Give at least two choices, one per line."))


STATUS_LABELS = {
    RegistrationStatus.CONFIRMED: _l("Confirmed"),
    RegistrationStatus.WAITLISTED: _l("Waiting list"),
    RegistrationStatus.PENDING: _l("Awaiting approval"),
    RegistrationStatus.CANCELLED: _l("Cancelled"),
    RegistrationStatus.REJECTED: _l("Rejected"),
}


# At most this many people in one bulk action or one "selected" message: a page of the
# registrants table is far fewer.
MAX_SELECTED = 500


class RegistrationIdsField(Field):
    """The registrations picked on the table: every value sent under the field's name
    (checkboxes, or hidden inputs carrying them on), as ids in the order sent."""

    def __init__(self, label: Any = None, validators: Any = None, **kwargs: Any) -> None:
        super().__init__(label, validators, **kwargs)
        self.data: list[int] = []
        self.invalid = False

    def process_data(self, value: Any) -> None:
        self.data = list(value or [])

    def process_formdata(self, valuelist: list[Any]) -> None:
        ids: dict[int, None] = {}  # ordered, without repeats
        for value in valuelist:
            if (
                isinstance(value, str)
                and value.isascii()
                and value.isdigit()
                and len(value) <= 10
                and 0 < int(value) <= INTEGER_MAX
            ):
                ids[int(value)] = None
            else:
                self.invalid = True
        self.data = list(ids)

    def pre_validate(self, form: Any) -> None:
        if self.invalid:
            raise StopValidation(_l("The selection is not a list of registrations."))
        if len(self.data) > MAX_SELECTED:
            raise StopValidation(_l("Select at most %(num)d people at once.", num=MAX_SELECTED))


def reason_field() -> TextAreaField:
    return TextAreaField(
        _l("Reason (optional)"),
        [MaxLength(1000), Optional(), PlainText()],
        description=_l("Sent to the person in the email that tells them."),
    )


class DecisionForm(forms_common.Form):
    """Confirming a cancellation or a rejection, with a reason for the person."""

    reason = reason_field()
    confirm = SubmitField(_l("Confirm"))


BULK_ACTIONS = {
    "approve": _l("Approve"),
    "check_in": _l("Check in"),
    "email": _l("Email them"),
    "badges": _l("Print their name badges (PDF)"),
    "cancel": _l("Cancel their registrations"),
}


class BulkActionForm(forms_common.Form):
    """One action for the registrations ticked on the table; it acts only once confirmed."""

    action = SelectField(
        _l("With the selected people"),
        choices=[SelectChoice(key, label) for key, label in BULK_ACTIONS.items()],
    )
    ids = RegistrationIdsField(_l("People"))
    reason = reason_field()
    submit = SubmitField(_l("Continue"))
    confirm = SubmitField(_l("Confirm"))

    def validate_ids(self, field: RegistrationIdsField) -> None:
        if not field.data:
            raise ValidationError(_l("Select at least one person on the table first."))


class EmailRegistrantsForm(forms_common.Form):
    status = SelectField(
        _l("Send to"),
        choices=[
            SelectChoice(
                "active", _l("Everyone registered (confirmed, waiting, awaiting approval)")
            ),
            *(SelectChoice(s.value, label) for s, label in STATUS_LABELS.items()),
            SelectChoice("selected", _l("The people selected on the registrants table")),
        ],
        default="confirmed",
    )
    ids = RegistrationIdsField(_l("Selected people"))
    subject = StringField(_l("Subject"), [MaxLength(200), DataRequired(), SingleLine()])
    body = TextAreaField(
        _l("Message"),
        [MaxLength(20_000), DataRequired(), PlainText()],
        description=_l("Plain text."),
    )
    preview = SubmitField(_l("Preview"))
    send = SubmitField(_l("Send…"))
    confirm = SubmitField(_l("Yes, send it"))

    def validate_ids(self, field: RegistrationIdsField) -> None:
        if self.status.data == "selected" and not field.data:
            raise ValidationError(_l("Select people on the registrants table first."))


class BadgesForm(forms_common.Form):
    """Name badges: the sheet layout, for everyone confirmed or the people ticked."""

    layout = SelectField(
        _l("Sheet"),
        choices=[SelectChoice(key, layout.label) for key, layout in badges.LAYOUTS.items()],
        default=badges.DEFAULT_LAYOUT,
        validate_choice=False,  # validate_layout says it in words
    )
    ids = RegistrationIdsField(_l("Selected people"))
    submit = SubmitField(_l("Download the badges (PDF)"))

    def validate_layout(self, field: SelectField) -> None:
        if field.data not in badges.LAYOUTS:
            raise ValidationError(_l("Choose one of the sheets on the list."))
