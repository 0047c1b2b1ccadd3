"""icalendar stays the reference: the feeds' lean VEVENT writer (vevent.feed_vevent,
lines.py) must write exactly the bytes of `event_component(...).to_ical()`, for every
kind of event, text and way it appears."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from icalendar import vText
from icalendar.parser import Contentline

from eventsite import timeutil
from eventsite.ical import builders, content, lines, vevent
from eventsite.models import EventFormat, EventStatus

from .ics_check import check_export

# Pure functions: many examples are cheap. Derandomized, as the fuzz suite: the same
# examples every run.
LEAN = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=400,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Every character class the writers treat specially: TEXT escapes, the fold's backslash
# and caret rule, line breaks and other controls (cleaned), quotes (CN, parameters), the
# typographic apostrophe icalendar quotes parameters for, and multi-byte characters of
# two, three and four octets (Latin, Chinese, Arabic, emoji) for folding.
SPECIALS = list(",;:\\^\"'’`~!@#$%&*()[]{}|<>?/.=+-_ \t\n\r\x0b\x0c\x85\u2028\u2029")
CONTROLS = [chr(c) for c in range(0x20)] + [chr(c) for c in range(0x7F, 0xA0)]
MULTIBYTE = list("éüßøÑ東京科学与社会気候変動مرحبابالعالم🚀🎉👩‍🔬🇨🇭")
CHARACTERS = st.one_of(
    st.sampled_from(SPECIALS + CONTROLS + MULTIBYTE),
    st.characters(blacklist_categories=("Cs",)),
)
TEXT = st.text(CHARACTERS, max_size=40) | st.text(CHARACTERS, min_size=60, max_size=400)

# Zones of every class the tests use: DST north and south, the repeated hour and the gap
# (New York, Zurich, London, Sydney), no DST (Tokyo), half- and quarter-hour offsets,
# local mean time before standard offsets (New York before 1883), UTC and its aliases,
# a POSIX-style Etc zone.
ZONES = [
    "Europe/Zurich",
    "America/New_York",
    "Europe/London",
    "Australia/Sydney",
    "Asia/Tokyo",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "America/St_Johns",
    "Pacific/Kiritimati",
    "America/Argentina/Buenos_Aires",
    "UTC",
    "Etc/UTC",
    "Etc/GMT+5",
]
NEW_YORK_SECOND_HALF_PAST_ONE = datetime(2027, 11, 7, 6, 30, tzinfo=UTC)  # repeated hour
ZURICH_AFTER_THE_JUMP = datetime(2027, 3, 28, 1, 0, tzinfo=UTC)  # 03:00, the gap just before
INSTANTS = st.one_of(
    st.sampled_from(
        [
            NEW_YORK_SECOND_HALF_PAST_ONE,
            NEW_YORK_SECOND_HALF_PAST_ONE - timedelta(hours=1),  # the first 01:30
            ZURICH_AFTER_THE_JUMP,
            datetime(2027, 10, 31, 0, 30, tzinfo=UTC),  # Zurich's repeated 02:30
            datetime(1880, 6, 1, 12, tzinfo=UTC),  # local mean time
            datetime(1, 1, 1, tzinfo=UTC),
            datetime(1, 1, 2, 12, tzinfo=UTC),
            datetime(9999, 12, 30, 20, tzinfo=UTC),
        ]
    ),
    st.datetimes(
        min_value=datetime(1, 1, 1),
        max_value=datetime(9999, 12, 30),
        timezones=st.just(UTC),
    ),
)
LAST = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
COORDINATES = st.one_of(
    st.none(),
    st.sampled_from([0.0, -0.0, 0.00001, -0.00005, 46.2044, -33.8688, 1e-300, math.nan, math.inf]),
    st.floats(min_value=-90, max_value=90),
)


@st.composite
def times(draw: st.DrawFn) -> tuple[str, bool, datetime, datetime]:
    """A zone, whether all-day, and stored start and end: timed events (short, multi-day,
    at the edges of the years) or all-day ones stored as their local midnights."""
    zone = draw(st.sampled_from(ZONES))
    if draw(st.booleans()):
        first = draw(st.dates(min_value=date(1, 1, 2), max_value=date(9999, 12, 20)))
        last = first + timedelta(days=draw(st.integers(0, 6)))
        try:
            starts_at, ends_at = timeutil.all_day_bounds(first, last, zone)
        except OverflowError:
            starts_at, ends_at = datetime(9999, 12, 30, tzinfo=UTC), LAST
        return zone, True, starts_at, ends_at
    starts_at = draw(INSTANTS)
    length = draw(
        st.sampled_from([timedelta(0), timedelta(hours=2), timedelta(days=3, hours=5)])
        | st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=40))
    )
    ends_at = starts_at + length if LAST - starts_at > length else LAST
    return zone, False, starts_at, ends_at


@st.composite
def feed_events(draw: st.DrawFn) -> content.FeedEvent:
    zone, is_all_day, starts_at, ends_at = draw(times())
    stamps = st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    )
    return content.FeedEvent(
        id=draw(st.integers(1, 10**9)),
        slug=draw(st.text(CHARACTERS, min_size=1, max_size=80)),
        title=draw(TEXT),
        summary=draw(TEXT),
        starts_at=starts_at,
        ends_at=ends_at,
        timezone=zone,
        is_all_day=is_all_day,
        venue_name=draw(TEXT),
        venue_address=draw(TEXT),
        city=draw(TEXT),
        country=draw(st.sampled_from([None, "", "CH", "JP", "EG", "XX", "zz"])),
        latitude=draw(COORDINATES),
        longitude=draw(COORDINATES),
        format=draw(st.sampled_from(list(EventFormat))),
        online_url=draw(
            st.none()
            | st.sampled_from(
                ["https://meet.example.org/j/123?pwd=a,b;c", "https://x.org/" + "a" * 90]
            )
            | st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=150).map(
                "https://meet.example.org/".__add__
            )
        ),
        status=draw(st.sampled_from(list(EventStatus))),
        cancellation_reason=draw(TEXT),
        revision=draw(st.integers(0, 10**6)),
        created_at=draw(stamps),
        updated_at=draw(stamps),
        description_text=draw(TEXT),
        organisation_name=draw(st.none() | TEXT),
        topic_names=tuple(draw(st.lists(TEXT, max_size=8))),
    )


VARIANTS = st.one_of(
    st.sampled_from(
        [
            content.PUBLIC,
            content.Variant(status="TENTATIVE", summary_prefix="[Draft] ", show_online_url=True),
            content.Variant(status="CONFIRMED", show_online_url=True),
            content.Variant(show_online_url=True),
        ]
    ),
    st.builds(
        content.Variant,
        status=st.sampled_from([None, "CONFIRMED", "TENTATIVE"]),
        summary_prefix=TEXT,
        show_online_url=st.booleans(),
    ),
)
ENGLISH = content.Words(
    online="Online",
    and_online="and online",
    cancelled_prefix="Cancelled:",
    cancelled_notice="This event is cancelled.",
    join_online="Join online: %(url)s",
    join="Join online",
)
# Translations put anything in the phrases; the join link's label is a parameter (quoted
# for , ; : ’ and RFC 6868 for ^ and line breaks).
WORDS = st.one_of(
    st.just(ENGLISH),
    st.builds(
        content.Words,
        online=TEXT,
        and_online=TEXT,
        cancelled_prefix=TEXT,
        cancelled_notice=TEXT,
        join_online=st.sampled_from(["Join online: %(url)s", "Rejoindre en ligne : %(url)s"]),
        join=st.sampled_from(["Rejoindre l’appel", 'Join: "video"; now, ^here^']) | TEXT,
    ),
)
SETTINGS = st.sampled_from(
    [
        content.CalendarSettings("http://localhost", "localhost", "no-reply@eventsite.test"),
        content.CalendarSettings(
            "https://events.example.org/sub",
            "events." + "long-subdomain-" * 5 + "example.org",
            "calendar-organiser@" + "very-long-domain-" * 4 + "example.org",
        ),
    ]
)


def _library(event, settings_, variant, words, private) -> bytes:
    return vevent.event_component(
        event, settings_, variant=variant, words=words, private=private
    ).to_ical()


@LEAN
@given(
    event=feed_events(), variant=VARIANTS, words=WORDS, settings_=SETTINGS, private=st.booleans()
)
def test_lean_vevent_is_icalendars_bytes(event, variant, words, settings_, private):
    lean = vevent.feed_vevent(event, settings_, variant, words, private)
    assert lean == _library(event, settings_, variant, words, private)


@LEAN
@given(line=st.text(CHARACTERS, max_size=600).map(lambda s: s.replace("\n", "")))
def test_folding_is_icalendars(line):
    assert lines.fold(line).encode() == Contentline(line).to_ical()


@LEAN
@given(value=TEXT)
def test_text_escaping_is_icalendars(value):
    assert lines.escape_text(value).encode() == vText(value).to_ical()


def test_folds_at_every_boundary_of_multibyte_and_escaped_characters():
    """Deterministic cases around the 74-octet limit: each character class just before,
    on and after it, a backslash or caret at the end of a segment, and runs of them."""
    for filler in range(60, 80):
        for tail in ["é", "東", "🚀", "\\,", "\\\\", "^", "^^", "\\" * 5, "a"]:
            line = "SUMMARY:" + "x" * filler + tail * 3 + "y" * 80
            assert lines.fold(line).encode() == Contentline(line).to_ical(), (filler, tail)
    line = "DESCRIPTION:" + "\\" * 300
    assert lines.fold(line).encode() == Contentline(line).to_ical()


def test_orm_and_feed_events_of_every_kind_are_icalendars_bytes(make_event, make_topic):
    """The rows the app stores, read as ORM events and as feed rows, in every variant."""
    all_day = timeutil.all_day_bounds(date(2027, 5, 12), date(2027, 5, 14), "Asia/Tokyo")
    topics = [make_topic("Zürich"), make_topic("Climate, energy; policy"), make_topic("تغير")]
    events = [
        make_event(
            title="Zürich–東京 Forum 🚀 气候与社会 — المناخ " * 3,
            summary="Two days; on rivers,\r\nlakes\x0band seas.",
            description="## Programme\n\n- **Talks** by experts\n- [a link](https://x.org)",
            latitude=46.2044,
            longitude=6.1432,
            topics=topics,
            revision=3,
        ),
        make_event(
            timezone="America/New_York",
            starts_at=NEW_YORK_SECOND_HALF_PAST_ONE,
            ends_at=NEW_YORK_SECOND_HALF_PAST_ONE + timedelta(days=2),
            format=EventFormat.HYBRID,
            online_url="https://meet.example.org/secret",
        ),
        make_event(
            timezone="Europe/Zurich",
            starts_at=ZURICH_AFTER_THE_JUMP,
            ends_at=ZURICH_AFTER_THE_JUMP + timedelta(hours=1),
            format=EventFormat.ONLINE,
            online_url="https://meet.example.org/online",
            venue_name="",
            city="",
        ),
        make_event(
            timezone="Asia/Tokyo", is_all_day=True, starts_at=all_day[0], ends_at=all_day[1]
        ),
        make_event(status=EventStatus.CANCELLED, cancellation_reason="Storm; sorry.", country=None),
        make_event(status=EventStatus.DRAFT, description="", summary="", latitude=0.0),
    ]
    settings_ = content.current_settings()
    words = content.current_words()
    variants = [
        content.PUBLIC,
        content.Variant(status="TENTATIVE", summary_prefix="[Draft] ", show_online_url=True),
        content.Variant(status="CONFIRMED", show_online_url=True),
    ]
    for event in events:
        for item in (event, content.FeedEvent.from_event(event)):
            for variant in variants:
                for private in (False, True):
                    expected = _library(item, settings_, variant, words, private)
                    assert vevent.feed_vevent(item, settings_, variant, words, private) == expected
    check_export(builders.build_feed(events, name="Every kind", private=True))


@LEAN
@given(value=TEXT)
def test_the_cleaning_shortcut_for_clean_text_changes_nothing(value):
    """clean_text and clean_line skip their patterns when the text has nothing to clean;
    the result is the patterns' own."""
    patterns = content._CONTROLS.sub("", content._BREAKS.sub("\n", value))
    assert content.clean_text(value) == patterns
    assert content.clean_line(value) == content._SPACES.sub(" ", patterns).strip()
