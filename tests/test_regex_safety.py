"""Every regular expression that sees what a visitor or an organiser types, fed the worst
input we could think of at 100 kB: each finishes well within a second (they are linear),
and where a form is in front, the form refuses the input by its length before any pattern
runs.

A run that does not finish is stopped (it runs in a forked child), so a pattern that
backtracks fails its test in a second instead of hanging the suite. The last test keeps
this list complete: a new pattern in eventsite/ fails it until it is listed here.
"""

from __future__ import annotations

import contextlib
import functools
import multiprocessing
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from slugify import slugify
from werkzeug.datastructures import MultiDict
from wtforms.validators import URL, ValidationError

from eventsite.events import forms
from eventsite.organiser import exports
from eventsite.registration import forms as registration_forms
from eventsite.sharing import forms as sharing_forms

ROOT = Path(__file__).resolve().parents[1]
SIZE = 100_000
BOUND_SECONDS = 1.0


def _run(fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    fn(*args)


def finishes_within(seconds: float, fn: Callable[..., Any], *args: Any) -> bool:
    """Run fn(*args) in a forked child; False when it is still running after `seconds`
    (Python's re holds the GIL and cannot be interrupted, so a thread would not do)."""
    child = multiprocessing.get_context("fork").Process(target=_run, args=(fn, args))
    started = time.perf_counter()
    child.start()
    child.join(seconds)
    if child.is_alive():
        child.kill()
        child.join()
        return False
    assert child.exitcode == 0, f"{fn} raised in the child"
    assert time.perf_counter() - started < seconds
    return True


# --- sharing/forms.py: _LINK_PATTERN (the name and note of "send this to a friend") -------
# Safe: one alternative per position with no nested or overlapping quantifiers; the domain
# word is tried only where a run of word characters starts and taken whole (possessive).
# The old `\b[\w-]+\.` rescanned a long run from each position in it: ~45 s at 100 kB.

LINK_WORST_CASES = {
    "one long word": "a" * SIZE,
    "hyphenated word": "a-" * (SIZE // 2),
    "scheme characters, no ://": "a+" * (SIZE // 2),
    "dots without a domain": "a." * (SIZE // 2),
    "www without a dot": "www" * (SIZE // 3),
}


@pytest.mark.parametrize("text", LINK_WORST_CASES.values(), ids=LINK_WORST_CASES.keys())
def test_the_link_pattern_is_linear(text: str) -> None:
    assert finishes_within(BOUND_SECONDS, sharing_forms._LINK_PATTERN.search, text)


@pytest.mark.parametrize(
    ("text", "is_link"),
    [
        ("visit https://spam.example now", True),
        ("svn+ssh://host", True),
        ("go to www.spam.example", True),
        ("spam.com is great", True),
        ("my-site.org", True),
        ("x.y.io", True),
        ("write to me@example.org", True),
        ("See you there!\nBring a hat.", False),
        ("a.b.c and a-b-c", False),
        ("version 2.0 of it", False),
        ("com.example", False),
    ],
)
def test_the_link_pattern_still_finds_links(text: str, is_link: bool) -> None:
    assert bool(sharing_forms._LINK_PATTERN.search(text)) is is_link


def test_the_share_form_refuses_a_huge_note_by_its_length_alone(app) -> None:
    data = MultiDict({"email": "friend@example.org", "name": "a" * SIZE, "note": "a-" * SIZE})

    def validate() -> None:
        with app.test_request_context("/", method="POST", data=data):
            form = sharing_forms.ShareForm()
            assert not form.validate()
            assert form.name.errors == ["Field cannot be longer than 80 characters."]
            assert form.note.errors == ["Field cannot be longer than 500 characters."]

    assert finishes_within(BOUND_SECONDS, validate)


# --- input_rules.py: _NOT_ONE_LINE, _NOT_PLAIN, _SOFT_BREAKS, _DROPPED (every text field,
# event services). Safe: one character class, one step per character.


@pytest.mark.parametrize("name", ["_NOT_ONE_LINE", "_NOT_PLAIN", "_SOFT_BREAKS", "_DROPPED"])
def test_the_control_character_classes_are_linear(name: str) -> None:
    from eventsite import input_rules

    pattern = getattr(input_rules, name)
    assert finishes_within(BOUND_SECONDS, pattern.search, "a" * SIZE + "\x00")


# --- registration/forms.py: parse_number (number answers) ------------------------------
# No pattern: Babel's parse_decimal reads the number, after parse_number refuses more than
# MAX_NUMBER_LENGTH (40) characters.


def test_a_long_number_is_refused_by_its_length_first(app) -> None:
    with app.test_request_context("/"), pytest.raises(ValueError, match="Please enter a number"):
        registration_forms.parse_number("1" * SIZE, "en")


# --- events/forms.py: the listing's from/to go through WTForms' DateField (strptime) -----
# strptime's %Y-%m-%d pattern is fixed-width: it gives up within the first 5 characters.


def test_the_listing_date_parsing_is_linear(app) -> None:
    def parse(raw: str) -> forms.ListingFilterForm:
        form = forms.ListingFilterForm(formdata=MultiDict({"from": raw}))
        form.validate()
        return form

    assert finishes_within(BOUND_SECONDS, parse, "2" * SIZE)
    form = parse("2" * SIZE)
    assert form.filters().date_from is None and form.messages()


# --- markup.py: <(/?)h1> and \n{3,} (event and organisation descriptions) ----------------
# Safe: a literal with one optional character, and one repeated character; each position
# is tried once. (Descriptions are at most 50,000 characters by the form in any case.)


def test_the_markup_patterns_are_linear() -> None:
    assert finishes_within(BOUND_SECONDS, re.sub, r"<(/?)h1>", r"<\1h3>", "<h1" * SIZE)
    assert finishes_within(BOUND_SECONDS, re.sub, r"\n{3,}", "\n\n", "\n\n a" * SIZE)


# --- organiser/exports.py: UNSTORABLE_RE (every cell of the CSV and XLSX exports) ---------
# Safe: alternatives of single character classes, one step per character.


def test_the_export_cleaning_pattern_is_linear() -> None:
    text = ("a\x01\ud800" * SIZE)[:SIZE]
    assert finishes_within(BOUND_SECONDS, exports.cell, text)


# --- libraries that run patterns on what is typed -----------------------------------------
# WTForms' URL() (online address, organisation website): urlparse, then a hostname check of
# at most 253 characters; the fields put MaxLength(500) in front of it.
# email-validator (every email field, through input_rules.normalise_address): refused past
# 254 characters before it is called.
# python-slugify (event and organisation addresses): character classes and literals.


def test_the_url_validator_is_linear_and_the_fields_bound_it_first(app) -> None:
    def validate(value: str) -> None:
        field = type("F", (), {"data": value, "gettext": lambda self, s: s})()
        with contextlib.suppress(ValidationError):
            URL(require_tld=False)(None, field)

    for value in (
        "http://" + "a-" * SIZE,
        "http://a:" + "1" * SIZE + "x",
        "http://a/" + "?" * SIZE,
    ):
        assert finishes_within(BOUND_SECONDS, validate, value)

    from eventsite.organiser import forms as organiser_forms

    for form_class in (organiser_forms.EventForm, organiser_forms.OrganisationForm):
        name = "online_url" if form_class is organiser_forms.EventForm else "website"
        with app.test_request_context("/"):
            first = form_class(formdata=None)[name].validators[0]
        assert type(first).__name__ == "MaxLength" and first.max == 500


def test_email_addresses_are_bounded_before_the_validator(app) -> None:
    from eventsite import input_rules

    with app.test_request_context("/"), pytest.raises(input_rules.AddressError):
        input_rules.normalise_address("a" * SIZE + "@example.org")
    from email_validator import EmailNotValidError, validate_email

    def validate(value: str) -> None:
        with contextlib.suppress(EmailNotValidError):
            validate_email(value, check_deliverability=False)

    # Linear, but slow per character (about 0.5 s for 100 kB here): a second bound would
    # be flaky on a busy machine; what matters is the length check in front of it.
    assert finishes_within(3 * BOUND_SECONDS, validate, "a." * (SIZE // 2) + "@example.org")
    assert finishes_within(3 * BOUND_SECONDS, validate, "a@" + "a-" * (SIZE // 2) + ".org")


def test_slugify_is_linear() -> None:
    assert finishes_within(BOUND_SECONDS, slugify, "&#" + "1" * SIZE)
    assert finishes_within(BOUND_SECONDS, functools.partial(slugify, max_length=120), "a-" * SIZE)


# --- ical/content.py: _BREAKS, _CONTROLS, _SPACES (text cleaned for calendar files) ----------
# Safe: one character class each (or CRLF, a fixed pair, before it), _SPACES one class
# repeated once; nothing nested or overlapping, and the values are stored fields.


def test_calendar_text_cleaning_is_linear() -> None:
    from eventsite.ical import content

    for text in ("\r\n\x0b\t \x07" * (SIZE // 6), "\r" * SIZE, "\t\n" * (SIZE // 2)):
        assert finishes_within(BOUND_SECONDS, content.clean_line, text)
        assert finishes_within(BOUND_SECONDS, content.clean_cn, text)


# --- organiser/badges.py: _SIMPLE (which badge text needs no shaping engine) ---------------
# Safe: one character class repeated once, nothing nested; the values are stored names.


def test_badge_text_check_is_linear() -> None:
    from eventsite.organiser import badges

    for text in ("a" * SIZE + "ل", "王" * SIZE, "ل" * SIZE):
        assert finishes_within(BOUND_SECONDS, badges._needs_shaping, text)


# --- events/cards.py: \x1e(\w+)\x1e (a kept card's HTML, made of organisers' text) ---------


def test_card_slots_split_in_linear_time() -> None:
    from eventsite.events import cards

    for text in ("\x1e" + "a" * SIZE, "\x1ea" * (SIZE // 2), "a\x1e" * (SIZE // 2)):
        assert finishes_within(BOUND_SECONDS, cards._SLOT_PATTERN.split, text)


# --- picture names from addresses (/images/<name>) ------------------------------------------


def test_the_picture_name_pattern_is_linear() -> None:
    """No repetition over a repetition: a fixed count of hex digits, then one extension."""
    from eventsite.images import storage

    for text in ("a" * SIZE, "0" * SIZE + ".jpg", "0" * 64 + "." + "j" * SIZE):
        assert finishes_within(BOUND_SECONDS, storage.is_valid_name, text)
        assert not storage.is_valid_name(text)


# --- api/schemas.py: SINGLE_LINE, PLAIN_TEXT, SLUG and the country code -----------------------
# Safe: SINGLE_LINE and PLAIN_TEXT are each one negated class repeated, the country code two
# fixed characters, and SLUG's groups each start with a "-" that the class before them
# cannot match: one way to read any input (a query string is at most the server's 8 kB
# request line, a body MAX_CONTENT_LENGTH).


def test_api_argument_patterns_are_linear() -> None:
    from eventsite.api import schemas

    for pattern in (schemas.SINGLE_LINE, schemas.SLUG, schemas.PLAIN_TEXT):
        for text in ("a" * SIZE + "\x00", "a-" * (SIZE // 2) + "-", "a" * SIZE + "!"):
            assert finishes_within(BOUND_SECONDS, pattern.regex.match, text)


# --- mail/mime.py: _PLAIN_ADDRESS (a recipient, stored on an account or typed in a form) ----
# Safe: each repeated group starts with a "." that the class before it cannot match, and the
# "@" splits the two halves: one way to read any input.


def test_the_plain_address_pattern_is_linear() -> None:
    from eventsite.mail import mime

    for text in (
        "a" * SIZE,
        "a." * (SIZE // 2),
        "a" * SIZE + "@",
        "a@" + "b." * (SIZE // 2),
        "a.b" * (SIZE // 3) + "@example.org!",
        "a@" + "b" * SIZE + "!",
    ):
        assert finishes_within(BOUND_SECONDS, mime._PLAIN_ADDRESS.fullmatch, text)
        assert not mime._PLAIN_ADDRESS.fullmatch(text)


# --- the list above is complete ------------------------------------------------------------

# (file, how the line starts) for each pattern and each use of one.
LISTED = {
    ("eventsite/sharing/forms.py", "_LINK_PATTERN = re.compile("),
    ("eventsite/input_rules.py", "_NOT_ONE_LINE = re.compile("),
    ("eventsite/input_rules.py", "_NOT_PLAIN = re.compile("),
    ("eventsite/input_rules.py", "_SOFT_BREAKS = re.compile("),
    ("eventsite/input_rules.py", "_DROPPED = re.compile("),
    ("eventsite/input_rules.py", 'value = _DROPPED.sub("", value)'),
    ("eventsite/input_rules.py", 'return _SOFT_BREAKS.sub("\\n" if multiline else " ", value)'),
    ("eventsite/markup.py", 'raw = re.sub(r"<(/?)h1>", r"<\\1h3>", raw)'),
    ("eventsite/markup.py", 'return re.sub(r"\\n{3,}", "\\n\\n", "\\n".join(lines)).strip()'),
    ("eventsite/organiser/exports.py", "UNSTORABLE_RE = re.compile("),
    ("eventsite/organiser/exports.py", "value = UNSTORABLE_RE.sub(REPLACEMENT, value)"),
    ("eventsite/sharing/forms.py", "if field.data and _LINK_PATTERN.search(field.data):"),
    ("eventsite/input_rules.py", "return not value or _NOT_ONE_LINE.search(value) is None"),
    ("eventsite/input_rules.py", "return not value or _NOT_PLAIN.search(value) is None"),
    ("eventsite/ical/content.py", "_BREAKS = re.compile("),
    ("eventsite/api/schemas.py", "SINGLE_LINE = validate.Regexp("),
    ("eventsite/api/schemas.py", "SLUG = validate.Regexp("),
    ("eventsite/api/schemas.py", "PLAIN_TEXT = validate.Regexp("),
    ("eventsite/api/schemas.py", "validate=validate.Regexp("),
    ("eventsite/ical/content.py", "_CONTROLS = re.compile("),
    ("eventsite/ical/content.py", "_SPACES = re.compile("),
    ("eventsite/ical/content.py", 'return _CONTROLS.sub("", _BREAKS.sub("\\n", value))'),
    ("eventsite/ical/content.py", 'return _SPACES.sub(" ", clean_text(value)).strip()'),
    ("eventsite/organiser/badges.py", "_SIMPLE = re.compile("),
    ("eventsite/organiser/badges.py", "return _SIMPLE.fullmatch(text) is None"),
    ("eventsite/events/cards.py", "_SLOT_PATTERN = re.compile("),
    ("eventsite/events/cards.py", "self.parts = _SLOT_PATTERN.split(with_slots)"),
    ("eventsite/images/storage.py", "NAME = re.compile("),
    ("eventsite/images/storage.py", "return NAME.fullmatch(name) is not None"),
    ("eventsite/mail/mime.py", "_PLAIN_ADDRESS = re.compile("),
    ("eventsite/mail/mime.py", "if _PLAIN_ADDRESS.fullmatch(value):"),
}
_USES = re.compile(
    r"\bre\.(?:compile|match|fullmatch|search|sub|subn|split|findall|finditer)\(|Regexp\("
    r"|\b[A-Z_][A-Z0-9_]*\.(?:match|fullmatch|search|sub|subn|split|findall|finditer)\("
)


def test_every_pattern_in_eventsite_is_listed_here() -> None:
    found = [
        (str(path.relative_to(ROOT)), line.strip())
        for path in sorted((ROOT / "eventsite").rglob("*.py"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if _USES.search(line)
    ]
    unlisted = [
        (file, line)
        for file, line in found
        if not any(file == f and line.startswith(start) for f, start in LISTED)
    ]
    gone = [
        (f, start)
        for f, start in LISTED
        if not any(file == f and line.startswith(start) for file, line in found)
    ]
    assert unlisted == [], "a new pattern sees input: list it here, with why it is safe"
    assert gone == []
