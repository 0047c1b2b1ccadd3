"""The workspace's form for a webhook endpoint: its address and the kinds of events it gets."""

from __future__ import annotations

from wtforms import SelectMultipleField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired

from eventsite import forms_common
from eventsite.forms_common import MaxLength, SingleLine
from eventsite.i18n import lazy_gettext as _l
from eventsite.webhooks.models import MAX_URL_LENGTH, EventType

EVENT_TYPE_LABELS = {
    EventType.REGISTRATION_CREATED: _l("Someone registered"),
    EventType.REGISTRATION_CHANGED: _l(
        "A registration changed (promoted, approved, rejected, answers edited…)"
    ),
    EventType.REGISTRATION_CANCELLED: _l("A registration was cancelled"),
    EventType.REGISTRATION_CHECKED_IN: _l("Someone was checked in"),
    EventType.EVENT_PUBLISHED: _l("An event was published"),
    EventType.EVENT_CHANGED: _l("A published event changed"),
    EventType.EVENT_CANCELLED: _l("An event was cancelled"),
}


class WebhookEndpointForm(forms_common.Form):
    url = StringField(
        _l("Address (URL)"),
        [MaxLength(MAX_URL_LENGTH), DataRequired(), SingleLine()],
        description=_l("We POST signed JSON to it. It must start with https://."),
    )
    event_types = SelectMultipleField(
        _l("Send"),
        choices=[SelectChoice(kind.value, label) for kind, label in EVENT_TYPE_LABELS.items()],
        default=[kind.value for kind in EventType],
    )
    submit = SubmitField(_l("Add endpoint"))
