"""The registration form, built per event from its stored questions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DecimalField,
    Field,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget, NumberInput

from eventsite import templating
from eventsite.registration.models import Question, QuestionKind

MAX_SHORT_TEXT = 500
MAX_LONG_TEXT = 5000
MAX_NUMBER = Decimal("1000000000")


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


class NumberField(DecimalField):
    """A decimal number with a message people understand."""

    widget = NumberInput(step="any")

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist or valuelist[0] in ("", None):
            self.data = None
            return
        try:
            self.data = Decimal(str(valuelist[0]).strip().replace(",", "."))
        except (InvalidOperation, ValueError):
            self.data = None
            raise ValueError(_("Please enter a number, for example 3 or 2.5.")) from None
        if not self.data.is_finite() or abs(self.data) >= MAX_NUMBER:
            self.data = None
            raise ValueError(_("Please enter a smaller number."))


class CheckboxListField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class AtLeastOne:
    def __init__(self, message: str) -> None:
        self.message = message

    def __call__(self, _form: Any, field: Field) -> None:
        if not field.data:
            raise ValidationError(self.message)


class RegistrationForm(FlaskForm):
    """Fixed part (a honeypot) plus one field `q_<id>` per question, added per event."""

    # Hidden from people by CSS; bots fill it in. A filled honeypot is refused quietly.
    website = StringField(
        _l("Leave this empty"),
        render_kw={"autocomplete": "off", "tabindex": "-1"},
    )

    questions: Sequence[Question] = ()

    def is_bot(self) -> bool:
        return bool((self.website.data or "").strip())

    def question_fields(self) -> list[tuple[Question, Field]]:
        return [(q, self[q.field_name]) for q in self.questions]

    def answers(self) -> dict[int, Any]:
        """{question id: value} as typed (validated)."""
        return {q.id: self[q.field_name].data for q in self.questions}


class CancelRegistrationForm(FlaskForm):
    """Only the CSRF token: cancelling is a POST from the confirmation page."""


def _field_for(question: Question) -> Field:
    required = question.is_required
    label = question.label
    description = question.help_text or ""
    kind = question.kind
    if kind == QuestionKind.LONG_TEXT:
        return TextAreaField(
            label,
            validators=[
                DataRequired(_("Please answer this question.")) if required else Optional(),
                Length(max=MAX_LONG_TEXT, message=_("Please keep it under %(max)d characters.")),
            ],
            filters=[_strip],
            description=description,
        )
    if kind == QuestionKind.SINGLE_CHOICE:
        return RadioField(
            label,
            choices=[SelectChoice(o, o) for o in question.options],
            validators=[InputRequired(_("Please choose an option.")) if required else Optional()],
            invalid_choice_message=_("Please choose one of the options."),
            description=description,
        )
    if kind == QuestionKind.MULTIPLE_CHOICE:
        validators: list[Any] = (
            [AtLeastOne(_("Please choose at least one option."))] if required else []
        )
        return CheckboxListField(
            label,
            choices=[SelectChoice(o, o) for o in question.options],
            validators=validators,
            invalid_choice_message=_("Please choose among the options shown."),
            description=description,
        )
    if kind == QuestionKind.CHECKBOX:
        return BooleanField(
            label,
            validators=[DataRequired(_("Please tick this box to continue."))] if required else [],
            description=description,
        )
    if kind == QuestionKind.COUNTRY:
        return SelectField(
            label,
            choices=[
                SelectChoice("", _("Choose a country…")),
                *(SelectChoice(code, name) for code, name in templating.country_choices()),
            ],
            validators=[DataRequired(_("Please choose a country.")) if required else Optional()],
            invalid_choice_message=_("Please choose a country from the list."),
            description=description,
        )
    if kind == QuestionKind.NUMBER:
        return NumberField(
            label,
            validators=[InputRequired(_("Please enter a number.")) if required else Optional()],
            description=description,
        )
    return StringField(
        label,
        validators=[
            DataRequired(_("Please answer this question.")) if required else Optional(),
            Length(max=MAX_SHORT_TEXT, message=_("Please keep it under %(max)d characters.")),
        ],
        filters=[_strip],
        description=description,
    )


def registration_form_for(
    questions: Sequence[Question],
    *,
    data: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> RegistrationForm:
    """A form class made for this event's questions, and an instance of it.

    `data` pre-fills the fields (editing answers); on POST the submitted data wins.
    """
    attrs: dict[str, Any] = {q.field_name: _field_for(q) for q in questions}
    attrs["questions"] = tuple(questions)
    form_class = type("EventRegistrationForm", (RegistrationForm,), attrs)
    return form_class(data=dict(data or {}), **kwargs)
