"""The "send this to a friend" form: plain text only, short, one line where it matters."""

from __future__ import annotations

import re
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from eventsite.accounts.forms import single_line

NOTE_MAX_LENGTH = 500
NAME_MAX_LENGTH = 80

# Web addresses in what a stranger types would turn our message into their advert.
_LINK_PATTERN = re.compile(
    r"[a-z][a-z0-9+.-]*://|www\.|\b[\w-]+\.(?:com|net|org|info|biz|io|co|ru|cn|xyz|top|ly|me|"
    r"app|site|online|click|link|shop)\b|@",
    re.IGNORECASE,
)


def no_links(_form: FlaskForm, field: Any) -> None:
    if field.data and _LINK_PATTERN.search(field.data):
        raise ValidationError(_l("Please leave out web and email addresses."))


def no_control_characters_except_newlines(_form: FlaskForm, field: Any) -> None:
    value = field.data or ""
    if any((ord(ch) < 32 and ch not in "\r\n\t") or ord(ch) == 127 for ch in value):
        raise ValidationError(_l("Please use plain text."))


class ShareForm(FlaskForm):
    email = EmailField(
        _l("Your friend's email address"), validators=[DataRequired(), Length(max=254)]
    )
    name = StringField(
        _l("Your name"),
        validators=[DataRequired(), Length(max=NAME_MAX_LENGTH), single_line, no_links],
    )
    note = TextAreaField(
        _l("A short note (optional)"),
        validators=[
            Optional(),
            Length(max=NOTE_MAX_LENGTH),
            no_control_characters_except_newlines,
            no_links,
        ],
        description=_l("Plain text, up to 500 characters, without links."),
    )
