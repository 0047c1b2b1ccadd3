"""Workspace forms about registration: questions of the form, messages to registrants."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Optional, ValidationError

from eventsite import forms_common
from eventsite.forms_common import MaxLength, PlainText, SingleLine
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


class EmailRegistrantsForm(forms_common.Form):
    status = SelectField(
        _l("Send to"),
        choices=[
            SelectChoice(
                "active", _l("Everyone registered (confirmed, waiting, awaiting approval)")
            ),
            *(SelectChoice(s.value, label) for s, label in STATUS_LABELS.items()),
        ],
        default="confirmed",
    )
    subject = StringField(_l("Subject"), [MaxLength(200), DataRequired(), SingleLine()])
    body = TextAreaField(
        _l("Message"),
        [MaxLength(20_000), DataRequired(), PlainText()],
        description=_l("Plain text."),
    )
    preview = SubmitField(_l("Preview"))
    send = SubmitField(_l("Send"))
