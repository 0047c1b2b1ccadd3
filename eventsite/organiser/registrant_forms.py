"""Workspace forms about registration: questions of the form, messages to registrants."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from eventsite.accounts.forms import single_line
from eventsite.registration.forms import PlainText
from eventsite.registration.models import QuestionKind, RegistrationStatus


def plain_text() -> PlainText:
    """Line breaks and tabs, but no other control character: the text reaches emails and
    the spreadsheet export (which refuses them), and PostgreSQL refuses NUL."""
    return PlainText(
        _l("Please remove the invisible control characters from this text."), allowed="\t\r\n"
    )


QUESTION_KIND_LABELS = {
    QuestionKind.SHORT_TEXT: _l("Short text"),
    QuestionKind.LONG_TEXT: _l("Long text"),
    QuestionKind.SINGLE_CHOICE: _l("Single choice"),
    QuestionKind.MULTIPLE_CHOICE: _l("Multiple choice"),
    QuestionKind.CHECKBOX: _l("Checkbox (e.g. consent)"),
    QuestionKind.COUNTRY: _l("Country"),
    QuestionKind.NUMBER: _l("Number"),
}


class QuestionForm(FlaskForm):
    label = StringField(_l("Question"), [DataRequired(), Length(max=300), single_line])
    kind = SelectField(
        _l("Kind of answer"),
        choices=[SelectChoice(k.value, v) for k, v in QUESTION_KIND_LABELS.items()],
    )
    help_text = TextAreaField(_l("Help text"), [Optional(), Length(max=2000), plain_text()])
    is_required = BooleanField(_l("Required"))
    options = TextAreaField(
        _l("Choices"),
        [Optional(), Length(max=10_000), plain_text()],
        description=_l("For single and multiple choice: one choice per line."),
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


class EmailRegistrantsForm(FlaskForm):
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
    subject = StringField(_l("Subject"), [DataRequired(), Length(max=200), single_line])
    body = TextAreaField(
        _l("Message"),
        [DataRequired(), Length(max=20_000), plain_text()],
        description=_l("Plain text."),
    )
    preview = SubmitField(_l("Preview"))
    send = SubmitField(_l("Send"))
