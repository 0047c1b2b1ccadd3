"""The "notify me" email box."""

from __future__ import annotations

from wtforms import EmailField

from eventsite import forms_common
from eventsite.i18n import lazy_gettext as _l


class NotifyForm(forms_common.Form):
    email = EmailField(_l("Your email address"), validators=forms_common.email_validators())


class LinkActionForm(forms_common.Form):
    """The one button behind an emailed link (confirm, unsubscribe): the address is in the
    link, the CSRF token is the only field."""
