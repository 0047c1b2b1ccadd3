"""The registration form, built per event from its stored questions."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from decimal import Decimal
from enum import StrEnum
from typing import Any, NamedTuple

import babel.numbers
from babel import Locale
from babel.lists import format_list
from flask_babel import get_locale
from wtforms import (
    BooleanField,
    DecimalField,
    EmailField,
    Field,
    RadioField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget, NumberInput

from eventsite import forms_common, templating
from eventsite.forms_common import MaxLength, PlainText, SingleLine
from eventsite.i18n import current_code
from eventsite.i18n import gettext as _
from eventsite.i18n import lazy_gettext as _l
from eventsite.registration.models import Question, QuestionKind

MAX_SHORT_TEXT = 500
MAX_LONG_TEXT = 5000
MAX_NUMBER = Decimal("1000000000")  # numbers answered stay strictly between -/+ this
MAX_DECIMALS = 6
MAX_NUMBER_LENGTH = 40  # characters typed; any number within the limits fits


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


class NumberField(DecimalField):
    """A decimal number as people write it in their language, with a message they understand.

    Read by Babel's `parse_decimal` in the page's locale, strictly: in English "1,000" is a
    thousand and "2.5" two and a half, while "2,5" or "1.000,5" could be read two ways and
    are refused with the readings Babel suggests. The value must stay below MAX_NUMBER in
    size and have at most MAX_DECIMALS digits after the point.
    """

    widget = NumberInput(step="any")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Shown as stored: DecimalField's default (2 places) would round 2.125 to 2.12 when
        # the answers are edited, and saving would change the answer unasked.
        kwargs.setdefault("places", None)
        super().__init__(*args, **kwargs)

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = None  # stays None when the text is refused
        if valuelist and valuelist[0] not in ("", None):
            self.data = parse_number(str(valuelist[0]), get_locale() or DEFAULT_LOCALE)


DEFAULT_LOCALE = Locale("en")


def parse_number(raw: str, locale: Locale | str) -> Decimal:
    """The number typed in `raw`, or ValueError with a sentence saying what to change."""
    text = raw.strip()
    if len(text) > MAX_NUMBER_LENGTH:
        raise ValueError(_("Please enter a number, for example 3 or 2.5."))
    try:
        # Leniently first: the size is checked before the strict reading, which writes the
        # number out again in full (a 40-character "1,0e99999" would be 100,000 digits).
        value = babel.numbers.parse_decimal(text, locale)
    except babel.numbers.NumberFormatError:
        raise ValueError(_("Please enter a number, for example 3 or 2.5.")) from None
    if not value.is_finite():  # Decimal reads "NaN" and "Infinity" too
        raise ValueError(_("Please enter a number, for example 3 or 2.5."))
    # adjusted() and as_tuple() read the number as written: no arithmetic context, so no
    # Overflow however large the exponent (abs() would round and can overflow).
    if value and value.adjusted() >= MAX_NUMBER.adjusted():
        raise ValueError(
            _("Please enter a number between -%(max)s and %(max)s.", max=MAX_NUMBER - 1)
        )
    if _decimal_places(value) > MAX_DECIMALS:
        raise ValueError(_("Please use at most %(n)d digits after the point.", n=MAX_DECIMALS))
    try:
        return babel.numbers.parse_decimal(text, locale, strict=True)
    except babel.numbers.NumberFormatError as err:
        if not err.suggestions:
            raise ValueError(_("Please enter a number, for example 3 or 2.5.")) from None
        raise ValueError(
            _(
                "Please write the number as %(readings)s.",
                readings=format_list(err.suggestions, style="or", locale=locale),
            )
        ) from None
    except ArithmeticError:  # Babel formats it back to compare: 0e1000000 has no quantum
        raise ValueError(_("Please enter a number, for example 3 or 2.5.")) from None


def _decimal_places(value: Decimal) -> int:
    """Digits after the point, trailing zeros left out ("2.50" has 1, "0.000" none)."""
    _sign, digits, exponent = value.as_tuple()
    if not any(digits):
        return 0
    places = -int(exponent)  # finite: checked before
    for digit in reversed(digits):
        if digit or places <= 0:
            break
        places -= 1
    return max(places, 0)


class CheckboxListField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class AtLeastOne:
    def __init__(self, message: str) -> None:
        self.message = message

    def __call__(self, _form: Any, field: Field) -> None:
        if not field.data:
            raise ValidationError(self.message)


class RegistrationForm(forms_common.Form):
    """Fixed part (a honeypot) plus one field `q_<id>` per question, added per event."""

    # Hidden from people by CSS; bots fill it in. A filled honeypot is refused quietly.
    website = StringField(
        _l("Leave this empty"),
        validators=[MaxLength(200)],
        render_kw={"autocomplete": "off", "tabindex": "-1"},
    )

    questions: Sequence[Question] = ()
    shapes: tuple[QuestionShape, ...] = ()

    def is_bot(self) -> bool:
        return bool((self.website.data or "").strip())

    def question_fields(self) -> list[tuple[QuestionShape, Field]]:
        """Each question's shape (what the page shows of it) and its field: plain values,
        still there when a refused submission's rollback has expired the questions."""
        return [(shape, self[shape.field_name]) for shape in self.shapes]

    def answers(self) -> dict[int, Any]:
        """{question id: value} as typed (validated)."""
        return {q.id: self[q.field_name].data for q in self.questions}


class PersonForm(forms_common.Form):
    """Who registers: above the organiser's questions on the registration form. A visitor
    without an account gives their email address too (`email` field added); a logged-in
    person finds their profile's values, and may write changes back (`update_profile`)."""

    name = StringField(_l("Name"), validators=[MaxLength(200), DataRequired(), SingleLine()])
    affiliation = StringField(
        _l("Affiliation (optional)"), validators=[MaxLength(300), Optional(), SingleLine()]
    )
    country = forms_common.ManyOptionsSelectField(
        _l("Country (optional)"),
        validators=[Optional()],
        invalid_choice_message=_l("Please choose a country from the list."),
    )


class CancelRegistrationForm(forms_common.Form):
    """Only the CSRF token: cancelling is a POST from the confirmation page."""


class QuestionShape(NamedTuple):
    """What a question's field is made of (`_field_for`): the form class is kept per shape."""

    field_name: str
    kind: str
    label: str
    help_text: str
    is_required: bool
    options: tuple[str, ...]

    @classmethod
    def of(cls, question: Question) -> QuestionShape:
        return cls(
            question.field_name,
            question.kind,
            question.label,
            question.help_text or "",
            bool(question.is_required),
            tuple(question.options or ()),
        )


def _field_for(question: QuestionShape) -> Field:
    required = question.is_required
    label = question.label
    description = question.help_text or ""
    kind = question.kind
    if kind == QuestionKind.LONG_TEXT:
        return TextAreaField(
            label,
            validators=[
                MaxLength(MAX_LONG_TEXT, message=_("Please keep it under %(max)d characters.")),
                DataRequired(_("Please answer this question.")) if required else Optional(),
                PlainText(),
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
        return forms_common.ManyOptionsSelectField(
            label,
            choices=forms_common.long_choices(_("Choose a country…"), templating.country_choices()),
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
            MaxLength(MAX_SHORT_TEXT, message=_("Please keep it under %(max)d characters.")),
            DataRequired(_("Please answer this question.")) if required else Optional(),
            SingleLine(),
        ],
        filters=[_strip],
        description=description,
    )


class Person(StrEnum):
    """Which person block the registration form has."""

    NONE = "none"  # editing answers: the person is the registration's
    MEMBER = "member"  # logged in: the profile's values, "Also update my profile"
    NEWCOMER = "newcomer"  # no account (or not logged in): the email address too


def registration_form_for(
    questions: Sequence[Question],
    *,
    person: Person = Person.NONE,
    data: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> RegistrationForm:
    """A form class made for this event's questions, and an instance of it.

    `data` pre-fills the fields (the profile, answers being edited); on POST the submitted
    data wins, and a person field left out of the POST keeps its pre-filled value.
    """
    shapes = tuple(QuestionShape.of(q) for q in questions)
    form = _form_class(person, current_code(), shapes)(data=dict(data or {}), **kwargs)
    form.questions = tuple(questions)
    form.shapes = shapes
    if person != Person.NONE:
        kept = (data or {}).get("country")
        form.country.choices = forms_common.long_choices(
            _("Choose a country…"), templating.country_choices(kept)
        )
    return form


@functools.lru_cache(maxsize=256)
def _form_class(
    person: Person, language: str, shapes: tuple[QuestionShape, ...]
) -> type[RegistrationForm]:
    """The form class for these questions, made once per shape and `language` (the current
    one: the fields' messages are written in it). Making the class and letting WTForms
    find its fields again took a tenth of a registration POST."""
    del language  # part of the key: the messages below are written in it
    attrs: dict[str, Any] = {shape.field_name: _field_for(shape) for shape in shapes}
    bases: tuple[type, ...] = (RegistrationForm,)
    if person != Person.NONE:
        bases = (RegistrationForm, PersonForm)
    if person == Person.NEWCOMER:
        attrs["email"] = EmailField(
            _l("Email address"),
            validators=forms_common.email_validators(),
            description=_l("We send you one link: it confirms your address and your place."),
        )
    if person == Person.MEMBER:
        attrs["update_profile"] = BooleanField(_l("Also update my profile"))
    return type("EventRegistrationForm", bases, attrs)


class AlertForm(forms_common.Form):
    """ "Tell me when registration opens": a visitor gives an address (confirmed by an
    emailed link); a logged-in person only presses the button (the field is not shown)."""

    email = EmailField(_l("Your email address"), validators=forms_common.email_validators())


class LinkActionForm(forms_common.Form):
    """The one button behind an emailed link (confirm, unsubscribe): the CSRF token only."""
