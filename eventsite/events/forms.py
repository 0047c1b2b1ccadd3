"""The listing's filter form: a GET form (no CSRF: it only reads) that parses and validates
the query string. A value that cannot be used is ignored, and `messages()` says so."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from functools import lru_cache
from operator import itemgetter
from typing import Any

from flask_babel import format_date
from werkzeug.datastructures import MultiDict
from wtforms import DateField, Field, IntegerField, SearchField, SelectField, StringField
from wtforms.validators import Optional, ValidationError

from eventsite import forms_common, input_rules, templating
from eventsite.events import listing
from eventsite.events.labels import FORMAT_LABELS, KIND_LABELS
from eventsite.events.listing import (
    MAX_PAGE,
    MAX_QUERY_LENGTH,
    MAX_SLUG_LENGTH,
    ListingFilters,
    Period,
)
from eventsite.events.models import EventFormat, EventKind
from eventsite.events.rules import MAX_YEAR, MIN_YEAR
from eventsite.i18n import QUERY as LANGUAGE_ARG
from eventsite.i18n import current_code
from eventsite.i18n import gettext as _
from eventsite.i18n import lazy_gettext as _l


def _clean(value: Any) -> Any:
    """Text without NUL bytes (PostgreSQL refuses them) or edge spaces."""
    return value.replace("\x00", "").strip() if isinstance(value, str) else value


def _squash(value: Any) -> Any:
    """Search text on one line, single spaces."""
    return " ".join(value.replace("\x00", "").split()) if isinstance(value, str) else value


class _OneOf:
    """The (normalised) value is one of `values`; empty means "all"."""

    def __init__(self, values: Collection[str]) -> None:
        self.values = values

    def __call__(self, _form: Any, field: Field) -> None:
        if field.data and field.data not in self.values:
            raise ValidationError()


class _YearInRange:
    def __call__(self, _form: Any, field: Field) -> None:
        # Outside this range a date is a typo, and near year 9999 date arithmetic overflows.
        if field.data is not None and not MIN_YEAR <= field.data.year <= MAX_YEAR:
            raise ValidationError()


class _PageNumber:
    """Plain digits, 1 or more. (int() also reads "٣", " 3" and "1_000"; and NumberRange
    turns a huge number into a float, an OverflowError.)"""

    def __call__(self, _form: Any, field: Field) -> None:
        raw = field.raw_data[0] if field.raw_data else ""
        # No int(): past 4,300 digits it raises a ValueError of its own.
        if not (isinstance(raw, str) and raw.isascii() and raw.isdigit() and raw.strip("0")):
            raise ValidationError()


class PageForm(forms_common.Form):
    """`?page=` of a paged list: 1 up to MAX_PAGE, 1 when unusable. (db.paginate's own
    reading takes any integer, and a huge one overflows the database's OFFSET.)"""

    class Meta:
        csrf = False

    page = IntegerField(validators=[Optional(), _PageNumber()])

    def page_number(self) -> int:
        """1 when absent or ignored; beyond MAX_PAGE, the last page there could be
        (after `validate()`)."""
        if self.page.errors or not self.page.data:
            return 1
        return min(self.page.data, MAX_PAGE)


class ListingFilterForm(PageForm):
    """The query string of the listing (and of the calendar feeds): build it with
    `formdata=request.args`, call `validate()`, then read `filters()`, `period()`,
    `page_number()` and `messages()`. Topic and organisation slugs are only checked for
    shape here: whether they exist is `listing.known_filters` (a database question)."""

    class Meta:
        csrf = False

    q = SearchField(
        _l("Search"),
        filters=[_squash],
        validators=[
            # Cuts the text at the limit: the search still runs, and says so.
            forms_common.MaxLength(
                MAX_QUERY_LENGTH, _l("The search text was shortened to %(max)d characters.")
            ),
            Optional(),
            forms_common.SingleLine(),
        ],
        render_kw={
            "maxlength": MAX_QUERY_LENGTH,
            "placeholder": _l("Title, speaker, place, organiser…"),
        },
    )
    topic = SelectField(
        _l("Topic"),
        validate_choice=False,
        filters=[_clean],
        validators=[forms_common.MaxLength(MAX_SLUG_LENGTH)],
    )
    organisation = StringField(
        filters=[_clean],
        validators=[forms_common.MaxLength(MAX_SLUG_LENGTH), forms_common.SingleLine()],
    )
    kind = SelectField(
        _l("Kind"),
        validate_choice=False,
        filters=[lambda v: _clean(v).lower() if v else v],
        validators=[_OneOf({kind.value for kind in EventKind})],
    )
    format = SelectField(
        _l("Format"),
        validate_choice=False,
        # "in-person" as people type it, "in_person" as it is stored.
        filters=[lambda v: _clean(v).lower().replace("-", "_") if v else v],
        validators=[_OneOf({fmt.value for fmt in EventFormat})],
    )
    country = SelectField(
        _l("Country"),
        validate_choice=False,
        filters=[lambda v: _clean(v).upper() if v else v],
        validators=[_OneOf(templating.COUNTRY_CODES)],
    )
    date_from = DateField(_l("From"), name="from", validators=[Optional(), _YearInRange()])
    date_to = DateField(_l("To"), name="to", validators=[Optional(), _YearInRange()])
    when = SelectField(
        validate_choice=False,
        filters=[lambda v: _clean(v).lower() if v else v],
        validators=[_OneOf({period.value for period in Period})],
    )
    # What an ignored value's message says, by field.
    _IGNORED = {
        "topic": _l("Unknown topic '%(value)s' was ignored."),
        "organisation": _l("Unknown organisation '%(value)s' was ignored."),
        "kind": _l("Unknown kind of event '%(value)s' was ignored."),
        "format": _l("Unknown format '%(value)s' was ignored."),
        "country": _l("Unknown country '%(value)s' was ignored."),
        "when": _l("Unknown period '%(value)s' was ignored."),
        "page": _l("Page number '%(value)s' was ignored."),
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._messages: list[str] = []

    def validate(self, extra_validators: Any = None) -> bool:
        """Validate, then drop what cannot be used (the page shows what it really
        filters by); the from/to pair is checked as a pair."""
        valid = super().validate(extra_validators)
        self._messages = []
        for field in self:
            if not field.errors:
                continue
            if field is self.q:
                # A shortened search runs; one with control characters does not.
                self._messages.extend(str(error) for error in field.errors)
                if not input_rules.is_single_line(field.data):
                    field.data = None
                continue
            self._messages.append(self._ignored_message(field))
            field.data, field.raw_data = None, []
        start, end = self.date_from.data, self.date_to.data
        if start is not None and end is not None and start > end:
            self._messages.append(_("The 'from' date was after the 'to' date; both were ignored."))
            self.date_from.data = self.date_to.data = None
            self.date_from.raw_data = self.date_to.raw_data = []
            valid = False
        return valid

    def _ignored_message(self, field: Field) -> str:
        raw = _clean(field.raw_data[0]) if field.raw_data else ""
        if field is self.date_from or field is self.date_to:
            return _(
                "The '%(label)s' date '%(value)s' was ignored; use the form YYYY-MM-DD.",
                label=_("from") if field is self.date_from else _("to"),
                value=listing.shorten(raw),
            )
        if field is self.country:
            raw = raw.upper()
        return str(self._IGNORED[field.short_name]) % {"value": listing.shorten(raw)}

    def messages(self) -> list[str]:
        """One sentence per ignored or changed value (after `validate()`)."""
        return list(self._messages)

    def filters(self) -> ListingFilters:
        """The usable filters (after `validate()`)."""
        return ListingFilters(
            topic=self.topic.data or None,
            organisation=self.organisation.data or None,
            kind=EventKind(self.kind.data) if self.kind.data else None,
            format=EventFormat(self.format.data) if self.format.data else None,
            country=self.country.data or None,
            q=self.q.data or None,
            date_from=self.date_from.data,
            date_to=self.date_to.data,
        )

    def period(self) -> Period:
        return Period(self.when.data) if self.when.data else Period.UPCOMING

    def show(
        self,
        filters: ListingFilters,
        *,
        topics: Sequence[tuple[str, str]],
        countries: Sequence[tuple[str, str]],
        with_topic: bool = True,
    ) -> None:
        """Fill the choices to render, showing the filters the page really uses: `topics`
        and `countries` are (value, name) pairs (listing.topic_choices, country_choices)."""
        self.topic.data = filters.topic or ""
        if self.when.data != Period.PAST:
            self.when.data = ""
        self.topic.choices = [("", _l("All topics")), *topics]
        self.kind.choices = [("", _l("All kinds"))] + [
            (kind.value, KIND_LABELS[kind]) for kind in EventKind
        ]
        self.format.choices = [("", _l("All formats"))] + [
            (fmt.value, FORMAT_LABELS[fmt]) for fmt in EventFormat
        ]
        self.country.choices = [("", _l("All countries")), *countries]
        if not with_topic:
            del self.topic

    def summary(self) -> list[str]:
        """The filters in use, in words, for the collapsed "Filter" control on a phone
        (after `show()`): the search text, the chosen labels, the dates."""
        words = [f"“{listing.shorten(self.q.data)}”"] if self.q.data else []
        chosen = [self.kind, self.format, self.country]
        if "topic" in self:
            chosen.insert(0, self.topic)
        for field in chosen:
            if field.data:
                words.append(str(dict(field.choices).get(field.data, field.data)))
        if self.date_from.data:
            words.append(_("from %(date)s", date=format_date(self.date_from.data)))
        if self.date_to.data:
            words.append(_("to %(date)s", date=format_date(self.date_to.data)))
        return words


# --- the listing's query string, read once --------------------------------------------------

QueryArgs = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class ListingQuery:
    """What a listing's query string asks for, as `ListingFilterForm` reads it: the usable
    filters (topic and organisation checked for shape only), the sentences about what was
    ignored or changed, the period and the page number."""

    filters: ListingFilters
    messages: tuple[str, ...]
    period: Period
    page_number: int


def query_args(args: MultiDict[str, str]) -> QueryArgs:
    """A query string as a key: its arguments by name (the values of one name in their
    order: the form reads the first), without the language choice, which the page's
    language stands for."""
    items = (item for item in args.items(multi=True) if item[0] != LANGUAGE_ARG)
    return tuple(sorted(items, key=itemgetter(0)))


def read_listing_query(args: QueryArgs) -> ListingQuery:
    """`args` (see `query_args`) read by the filter form: once per query string and
    language in each process (building and validating the form was a tenth of a filtered
    listing's time, and the same filters are asked for over and over)."""
    return _read(args, current_code())


@lru_cache(maxsize=512)
def _read(args: QueryArgs, _language: str) -> ListingQuery:
    # The messages are in the language being rendered: `_language`, part of the key.
    form = ListingFilterForm(formdata=MultiDict(args))
    form.validate()
    return ListingQuery(form.filters(), tuple(form.messages()), form.period(), form.page_number())
