"""The "send this to a friend" form: plain text only, short, one line where it matters."""

from __future__ import annotations

import re
from typing import Any

from wtforms import EmailField, StringField, TextAreaField
from wtforms.validators import DataRequired, Optional, ValidationError

from eventsite import forms_common
from eventsite.forms_common import MaxLength, PlainText, SingleLine
from eventsite.i18n import lazy_gettext as _l

NOTE_MAX_LENGTH = 500
NAME_MAX_LENGTH = 80

# Web addresses in what a stranger types would turn our message into their advert.
# Linear in the text, whatever it holds (tests/test_regex_safety.py): a scheme is
# recognised by its last character before "://"; a domain-like word is tried only where a
# run of word characters starts (the look-behind) and is taken whole (the possessive
# `++`: a run has no dot, so giving characters back could never find one). The old
# `\b[\w-]+\.` tried every position inside a long run and rescanned it: quadratic.
_LINK_PATTERN = re.compile(
    r"[a-z0-9+.-]://|www\.|@|(?<![\w-])[\w-]++\.(?:com|net|org|info|biz|io|co|ru|cn|xyz|top|"
    r"ly|me|app|site|online|click|link|shop)\b",
    re.IGNORECASE,
)


def no_links(_form: forms_common.Form, field: Any) -> None:
    if field.data and _LINK_PATTERN.search(field.data):
        raise ValidationError(_l("Please leave out web and email addresses."))


class ShareForm(forms_common.Form):
    email = EmailField(
        _l("Your friend's email address"), validators=forms_common.email_validators()
    )
    name = StringField(
        _l("Your name"),
        validators=[MaxLength(NAME_MAX_LENGTH), DataRequired(), SingleLine(), no_links],
    )
    note = TextAreaField(
        _l("A short note (optional)"),
        validators=[MaxLength(NOTE_MAX_LENGTH), Optional(), PlainText(), no_links],
        description=_l("Plain text, up to 500 characters, without links."),
    )
