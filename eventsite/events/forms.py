"""The listing's filter form (GET, no CSRF: it only reads)."""

from __future__ import annotations

from collections.abc import Sequence

from flask_babel import lazy_gettext as _l
from wtforms import DateField, HiddenField, SearchField, SelectField
from wtforms.validators import Optional

from eventsite import forms_common
from eventsite.events.listing import MAX_QUERY_LENGTH, ListingFilters, Period
from eventsite.events.models import EventFormat, EventKind, Topic
from eventsite.templating import FORMAT_LABELS, KIND_LABELS, country_name


class ListingFilterForm(forms_common.Form):
    """Renders the filters; `services.parse_listing_filters` is what reads them, so the
    form is filled from the parsed filters and never validated itself."""

    class Meta:
        csrf = False

    q = SearchField(
        _l("Search"),
        validators=[
            forms_common.MaxLength(MAX_QUERY_LENGTH),
            Optional(),
            forms_common.SingleLine(),
        ],
        render_kw={"maxlength": MAX_QUERY_LENGTH, "placeholder": _l("Title, speaker, subject…")},
    )
    topic = SelectField(_l("Topic"), validate_choice=False)
    kind = SelectField(_l("Kind"), validate_choice=False)
    format = SelectField(_l("Format"), validate_choice=False)
    country = SelectField(_l("Country"), validate_choice=False)
    date_from = DateField(_l("From"), name="from", validators=[Optional()])
    date_to = DateField(_l("To"), name="to", validators=[Optional()])
    when = HiddenField(validators=[forms_common.MaxLength(20)])

    @classmethod
    def for_filters(
        cls,
        filters: ListingFilters,
        *,
        period: Period,
        topics: Sequence[Topic],
        countries: Sequence[str],
        with_topic: bool = True,
    ) -> ListingFilterForm:
        form = cls(
            formdata=None,
            data={
                "q": filters.q or "",
                "topic": filters.topic or "",
                "kind": filters.kind.value if filters.kind else "",
                "format": filters.format.value if filters.format else "",
                "country": filters.country or "",
                "date_from": filters.date_from,
                "date_to": filters.date_to,
                "when": period.value if period == Period.PAST else "",
            },
        )
        form.topic.choices = [("", _l("All topics"))] + [(t.slug, t.name) for t in topics]
        form.kind.choices = [("", _l("All kinds"))] + [
            (kind.value, KIND_LABELS[kind]) for kind in EventKind
        ]
        form.format.choices = [("", _l("All formats"))] + [
            (fmt.value, FORMAT_LABELS[fmt]) for fmt in EventFormat
        ]
        codes = set(countries) | ({filters.country} if filters.country else set())
        named = sorted(((code, country_name(code)) for code in codes), key=lambda c: c[1])
        form.country.choices = [("", _l("All countries")), *named]
        if not with_topic:
            del form.topic
        return form
