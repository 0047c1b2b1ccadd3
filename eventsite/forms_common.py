"""The base class of every form and the validators every text field shares: a length check
that stops the chain, one line or several of plain text, an email address."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from flask import request
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from werkzeug.datastructures import CombinedMultiDict, ImmutableMultiDict
from wtforms import Field, SelectField
from wtforms import FileField as BaseFileField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, StopValidation, ValidationError
from wtforms.widgets import Select, html_params

from eventsite import input_rules
from eventsite.i18n import lazy_gettext as _l
from eventsite.i18n import lazy_ngettext, translations

FILE_IN_TEXT_FIELD_MESSAGE = _l("Please type this in: a file cannot be sent here.")

# WTForms' own messages that the fields and validators of our forms can show, word for word
# as WTForms writes them: listed here only so that `make messages` puts them in our
# catalogues, where WTFormsTranslations looks them up (WTForms' catalogues lack languages
# and sentences, and no test could check them).
WTFORMS_MESSAGES = (
    _l("This field is required."),
    _l("Field must be between %(min)d and %(max)d characters long."),
    lazy_ngettext(
        "Field must be at least %(min)d character long.",
        "Field must be at least %(min)d characters long.",
        1,
    ),
    lazy_ngettext(
        "Field cannot be longer than %(max)d character.",
        "Field cannot be longer than %(max)d characters.",
        1,
    ),
    lazy_ngettext(
        "Field must be exactly %(max)d character long.",
        "Field must be exactly %(max)d characters long.",
        1,
    ),
    _l("Number must be at least %(min)s."),
    _l("Number must be at most %(max)s."),
    _l("Number must be between %(min)s and %(max)s."),
    _l("Not a valid integer value."),
    _l("Not a valid decimal value."),
    _l("Not a valid float value."),
    _l("Not a valid date value."),
    _l("Not a valid datetime value."),
    _l("Not a valid choice."),
    _l("Invalid Choice: could not coerce."),
    _l("Invalid choice(s): one or more data inputs could not be coerced."),
    lazy_ngettext(
        "'%(value)s' is not a valid choice for this field.",
        "'%(value)s' are not valid choices for this field.",
        1,
    ),
)


class WTFormsTranslations:
    """WTForms' messages in the visitor's language, from our catalogue. WTForms formats
    them itself (`%(max)d`…), so this only looks them up: Flask-Babel's gettext would
    format them with its own variables."""

    def gettext(self, string: str) -> str:
        return translations().ugettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return translations().ungettext(singular, plural, n)


class Form(FlaskForm):
    """FlaskForm whose text fields only ever see text.

    A multipart request may send a file under a text field's name; WTForms would hand the
    FileStorage to the field's validators (len() of it is a TypeError, a 500). Files reach
    file fields only; a text field sent as a file is refused with a message instead.
    """

    class Meta:
        def get_translations(self, form: Form) -> WTFormsTranslations:
            return WTFormsTranslations()

        def wrap_formdata(self, form: Form, formdata: Any) -> Any:
            wrapped = super().wrap_formdata(form, formdata)  # type: ignore[misc]
            form._sent_as_files = []
            if not isinstance(wrapped, CombinedMultiDict) or not request.files:
                return wrapped
            file_fields = {f.name for f in form if isinstance(f, BaseFileField)}
            form._sent_as_files = [
                f for f in form if f.name in request.files and f.name not in file_fields
            ]
            files = ImmutableMultiDict(
                [(name, file) for name in file_fields for file in request.files.getlist(name)]
            )
            return CombinedMultiDict((files, request.form))

    _sent_as_files: list[Field]

    def validate(self, extra_validators: Any = None) -> bool:
        # Text pasted from a word processor is mended before any rule looks at it.
        for field in self:
            _clean_typed_text(field)
        valid = super().validate(extra_validators)
        for field in getattr(self, "_sent_as_files", []):
            field.errors = [FILE_IN_TEXT_FIELD_MESSAGE]
        return valid and not getattr(self, "_sent_as_files", [])


def _clean_typed_text(field: Field) -> None:
    """A field checked by SingleLine or PlainText gets input_rules.clean_typed_text."""
    if not isinstance(field.data, str):
        return
    kinds = {type(v) for v in field.validators}
    if SingleLine in kinds:
        field.data = input_rules.clean_typed_text(field.data, multiline=False)
    elif PlainText in kinds:
        field.data = input_rules.clean_typed_text(field.data, multiline=True)


class MaxLength(Length):
    """Length(max=…) that stops the chain: no validator after it (a pattern, an address
    parser) ever sees an over-long value, however large the request. Put it first."""

    def __init__(self, max: int, message: str | None = None) -> None:
        super().__init__(max=max, message=message)

    def __call__(self, form: Any, field: Field) -> None:
        if not isinstance(field.data, str) and field.data is not None:
            raise StopValidation(str(FILE_IN_TEXT_FIELD_MESSAGE))
        try:
            super().__call__(form, field)
        except ValidationError as err:
            # The form shows the value cut at the limit: echoing back a megabyte would cost
            # as much as receiving it. (Browsers stop typing at the maxlength anyway.)
            field.data = field.data[: self.max]
            field.raw_data = [field.data]
            raise StopValidation(str(err)) from None


class SingleLine:
    """No line breaks, tabs or other control characters: the value may reach an email
    header, a CSV cell or a calendar line."""

    def __init__(self, message: str | None = None) -> None:
        self.message = message

    def __call__(self, _form: Any, field: Field) -> None:
        if not input_rules.is_single_line(field.data):
            raise ValidationError(self.message or input_rules.SINGLE_LINE_MESSAGE)


class PlainText:
    """Several lines of plain text: line breaks and tabs, no other control characters."""

    def __init__(self, message: str | None = None) -> None:
        self.message = message

    def __call__(self, _form: Any, field: Field) -> None:
        if not input_rules.is_plain_text(field.data):
            raise ValidationError(self.message or input_rules.PLAIN_TEXT_MESSAGE)


class EmailAddress:
    """One address we can send to (input_rules.normalise_address); the services normalise
    again, so what the CLI or the API passes meets the same rule."""

    def __call__(self, _form: Any, field: Field) -> None:
        if not field.data:
            return
        try:
            input_rules.normalise_address(field.data)
        except input_rules.AddressError as err:
            raise ValidationError(str(err)) from None


def email_validators(*, required: bool = True) -> list[Any]:
    """Length first, then presence, then the address itself."""
    return [
        MaxLength(input_rules.EMAIL_MAX_LENGTH),
        DataRequired() if required else Optional(),
        EmailAddress(),
    ]


# --- long lists of choices (the countries) ------------------------------------------------------


def _plain_choices(field: SelectField) -> tuple[tuple[str, str], ...] | None:
    """The field's choices as (value, label) strings, or None when some choice carries
    more (attributes of its own, a group): those are drawn by WTForms itself."""
    kept = getattr(field.choices, "plain", None)
    if kept is not None:
        return kept  # long_choices' own list: walking its 250 choices took longer than a query
    if not isinstance(field.choices, list | tuple):
        return None  # a dict of groups, or a function
    plain = []
    for choice in field.choices:
        if isinstance(choice, SelectChoice) and not choice.render_kw and not choice.optgroup:
            plain.append((str(choice.value), str(choice.label)))
        elif isinstance(choice, tuple) and len(choice) == 2:
            plain.append((str(choice[0]), str(choice[1])))
        else:
            return None
    return tuple(plain)


class _LongChoices(list[SelectChoice]):
    """`long_choices`' list, which knows its (value, label) pairs (`plain`). Not changed
    after it is made."""

    plain: tuple[tuple[str, str], ...]


@lru_cache(maxsize=64)
def _long_choices(
    placeholder: str, pairs: tuple[tuple[str, str], ...]
) -> tuple[tuple[SelectChoice, ...], tuple[tuple[str, str], ...]]:
    plain = (("", placeholder), *pairs)
    return tuple(SelectChoice(value, label) for value, label in plain), plain


def long_choices(placeholder: str, pairs: list[tuple[str, str]]) -> list[SelectChoice]:
    """A long list's choices (`templating.country_choices`): `placeholder` for none, then
    the (value, label) pairs, made into SelectChoices once per list (a language's)."""
    choices, plain = _long_choices(str(placeholder), tuple(pairs))
    made = _LongChoices(choices)
    made.plain = plain
    return made


@lru_cache(maxsize=64)
def _options_html(choices: tuple[tuple[str, str], ...]) -> str:
    return "".join(
        f'<option value="{escape(value)}">{escape(label)}</option>' for value, label in choices
    )


@lru_cache(maxsize=64)
def _values(choices: tuple[tuple[str, str], ...]) -> frozenset[str]:
    return frozenset(value for value, _label in choices)


class _ManyOptionsSelect(Select):
    """The options' HTML is made once per list (a language's countries) and kept; each
    render only marks the chosen one. WTForms' Select builds every option's attributes on
    every render: the account page's country list (257 options) was more than half of the
    page's time."""

    def __call__(self, field: Field, **kwargs: Any) -> Markup:
        choices = _plain_choices(field)  # type: ignore[arg-type]
        if choices is None or self.multiple or getattr(field, "coerce", None) is not str:
            return super().__call__(field, **kwargs)
        kwargs.setdefault("id", field.id)
        flags = getattr(field, "flags", None)
        if "required" not in kwargs and flags is not None and "required" in flags:
            kwargs["required"] = True
        options = _options_html(choices)
        chosen = field.data  # as WTForms marks it: the option whose value equals the data
        if isinstance(chosen, str) and chosen in _values(choices):
            mark = f'<option value="{escape(chosen)}">'
            options = options.replace(mark, f'<option selected value="{escape(chosen)}">', 1)
        return Markup(f"<select {html_params(name=field.name, **kwargs)}>{options}</select>")


class ManyOptionsSelectField(SelectField):
    """A SelectField for long lists of plain choices (the countries): drawn from HTML kept
    per list, and a submitted value checked against a set rather than by walking every
    choice (the registration POST's country: ~0.3 ms of its time)."""

    widget = _ManyOptionsSelect()

    def pre_validate(self, form: Any) -> None:
        choices = _plain_choices(self)
        if choices is None or self.coerce is not str or not self.validate_choice:
            super().pre_validate(form)
            return
        if self.process_errors:
            return
        if not isinstance(self.data, str) or self.data not in _values(choices):
            raise ValidationError(
                self.invalid_choice_message or self.gettext("Not a valid choice.")
            )
