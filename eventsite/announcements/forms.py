"""The "notify me" email box."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField
from wtforms.validators import DataRequired, Length


class NotifyForm(FlaskForm):
    email = EmailField(_l("Your email address"), validators=[DataRequired(), Length(max=254)])


class LinkActionForm(FlaskForm):
    """The one button behind an emailed link (confirm, unsubscribe): the address is in the
    link, the CSRF token is the only field."""
