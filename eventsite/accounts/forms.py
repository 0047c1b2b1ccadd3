"""Input shapes of the account forms; rules that need the database live in services."""

from __future__ import annotations

from typing import Any

from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Optional

from eventsite import forms_common, i18n
from eventsite.forms_common import MaxLength, SingleLine
from eventsite.i18n import lazy_gettext as _l
from eventsite.input_rules import EMAIL_MAX_LENGTH
from eventsite.templating import country_choices

# Longer than any password we let anyone choose (accounts.services.PASSWORD_MAX_LENGTH).
PASSWORD_FIELD_MAX = 200


def _country_field() -> SelectField:
    return forms_common.ManyOptionsSelectField(
        _l("Country"), validators=[Optional()], validate_choice=True
    )


def _fill_countries(field: SelectField, kept: str | None = None) -> None:
    field.choices = forms_common.long_choices("—", country_choices(kept))


class SignupForm(forms_common.Form):
    name = StringField(_l("Name"), validators=[MaxLength(200), DataRequired(), SingleLine()])
    email = EmailField(_l("Email address"), validators=forms_common.email_validators())
    password = PasswordField(
        _l("Password"),
        validators=[MaxLength(PASSWORD_FIELD_MAX), DataRequired()],
        description=_l("At least 10 characters; a few unusual words make a good password."),
    )
    affiliation = StringField(
        _l("Affiliation (optional)"), validators=[MaxLength(300), Optional(), SingleLine()]
    )
    country = _country_field()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _fill_countries(self.country)


class LoginForm(forms_common.Form):
    # Only the shape's basics: a log-in never says more than "wrong address or password".
    email = EmailField(
        _l("Email address"),
        validators=[MaxLength(EMAIL_MAX_LENGTH), DataRequired(), SingleLine()],
    )
    password = PasswordField(
        _l("Password"), validators=[MaxLength(PASSWORD_FIELD_MAX), DataRequired()]
    )
    remember = BooleanField(_l("Keep me logged in on this device"))


class LoginLinkRequestForm(forms_common.Form):
    """ "Email me a log-in link", on the log-in page beside the password form (prefix
    "link")."""

    email = EmailField(_l("Send the link to"), validators=forms_common.email_validators())


class LoginLinkForm(forms_common.Form):
    """The button that follows a log-in link (a GET only shows it: mail scanners that
    open links must not spend them)."""

    remember = BooleanField(_l("Keep me logged in on this device"))


class ForgotPasswordForm(forms_common.Form):
    email = EmailField(_l("Email address"), validators=forms_common.email_validators())


class ResetPasswordForm(forms_common.Form):
    password = PasswordField(
        _l("New password"), validators=[MaxLength(PASSWORD_FIELD_MAX), DataRequired()]
    )
    confirm = PasswordField(
        _l("New password again"),
        validators=[
            MaxLength(PASSWORD_FIELD_MAX),
            DataRequired(),
            EqualTo("password", message=_l("The passwords differ.")),
        ],
    )


class ResendVerificationForm(forms_common.Form):
    """Only the CSRF token."""


class ProfileForm(forms_common.Form):
    name = StringField(_l("Name"), validators=[MaxLength(200), DataRequired(), SingleLine()])
    affiliation = StringField(
        _l("Affiliation (optional)"), validators=[MaxLength(300), Optional(), SingleLine()]
    )
    country = _country_field()
    # Each language named in itself, as the switcher names them.
    language = SelectField(
        _l("Language of pages and emails"),
        choices=[
            SelectChoice(code, name, render_kw={"lang": i18n.html_lang(code)})
            for code, name in i18n.LANGUAGES.items()
        ],
        validators=[DataRequired()],
        validate_choice=True,
    )

    def __init__(self, *args: Any, kept_country: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _fill_countries(self.country, kept_country)


class ChangeEmailForm(forms_common.Form):
    new_email = EmailField(_l("New email address"), validators=forms_common.email_validators())
    password = PasswordField(
        _l("Current password"), validators=[MaxLength(PASSWORD_FIELD_MAX), DataRequired()]
    )


class ChangePasswordForm(forms_common.Form):
    current_password = PasswordField(
        _l("Current password"), validators=[MaxLength(PASSWORD_FIELD_MAX), DataRequired()]
    )
    new_password = PasswordField(
        _l("New password"), validators=[MaxLength(PASSWORD_FIELD_MAX), DataRequired()]
    )
    confirm = PasswordField(
        _l("New password again"),
        validators=[
            MaxLength(PASSWORD_FIELD_MAX),
            DataRequired(),
            EqualTo("new_password", message=_l("The passwords differ.")),
        ],
    )


class FirstPasswordForm(forms_common.Form):
    """A password for an account made without one (registered for an event in one step)."""

    new_password = PasswordField(
        _l("Choose a password"), validators=[MaxLength(PASSWORD_FIELD_MAX), DataRequired()]
    )
    confirm = PasswordField(
        _l("The password again"),
        validators=[
            MaxLength(PASSWORD_FIELD_MAX),
            DataRequired(),
            EqualTo("new_password", message=_l("The passwords differ.")),
        ],
    )


class DeleteAccountForm(forms_common.Form):
    password = PasswordField(
        _l("Current password"), validators=[MaxLength(PASSWORD_FIELD_MAX), DataRequired()]
    )
