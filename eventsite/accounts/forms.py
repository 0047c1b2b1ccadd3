"""Input shapes of the account forms; rules that need the database live in services."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional, ValidationError

from eventsite.templating import country_choices


def single_line(_form: FlaskForm, field: Any) -> None:
    """No line breaks or other control characters (C0, DEL and C1, whose NEL is a line
    break too): the value may reach an email. A NUL would also make PostgreSQL refuse
    the query it reaches."""
    value = field.data or ""
    if any(ord(ch) < 32 or 127 <= ord(ch) < 160 for ch in value):
        raise ValidationError(_l("Keep this on one line, without special characters."))


def _country_field() -> SelectField:
    return SelectField(_l("Country"), validators=[Optional()], validate_choice=True)


def _fill_countries(field: SelectField) -> None:
    field.choices = [("", "—"), *country_choices()]


class SignupForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200), single_line])
    email = EmailField(_l("Email address"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(), Length(max=200)],
        description=_l("At least 10 characters; a few unusual words make a good password."),
    )
    affiliation = StringField(
        _l("Affiliation (optional)"), validators=[Optional(), Length(max=300), single_line]
    )
    country = _country_field()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _fill_countries(self.country)


class LoginForm(FlaskForm):
    email = EmailField(
        _l("Email address"), validators=[DataRequired(), Length(max=254), single_line]
    )
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    remember = BooleanField(_l("Keep me logged in on this device"))


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("Email address"), validators=[DataRequired(), Length(max=254)])


class ResetPasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField(
        _l("New password again"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )


class ResendVerificationForm(FlaskForm):
    """Only the CSRF token."""


class ProfileForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200), single_line])
    affiliation = StringField(
        _l("Affiliation (optional)"), validators=[Optional(), Length(max=300), single_line]
    )
    country = _country_field()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _fill_countries(self.country)


class ChangeEmailForm(FlaskForm):
    new_email = EmailField(_l("New email address"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Current password"), validators=[DataRequired()])


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired()])
    new_password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField(
        _l("New password again"),
        validators=[DataRequired(), EqualTo("new_password", message=_l("The passwords differ."))],
    )


class DeleteAccountForm(FlaskForm):
    password = PasswordField(_l("Current password"), validators=[DataRequired()])
