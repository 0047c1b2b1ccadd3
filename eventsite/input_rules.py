"""What the site accepts as typed text and as an email address: one set of rules that the
forms (through `forms_common`) and the services (for the CLI and the API) both apply."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from email_validator import EmailNotValidError, validate_email

from eventsite.i18n import gettext as _
from eventsite.i18n import lazy_gettext as _l
from eventsite.mail import mime

EMAIL_MAX_LENGTH = 254  # RFC 5321's limit on a path, the longest address that can be sent to

# Invisible characters break what we build from text: a line break in a subject or a
# name starts a header of its own, and CSV, spreadsheets and calendar lines trip on the
# rest. C0 (tabs and line breaks included), DEL, C1 (NEL among them) and Unicode's line
# and paragraph separators. One character class: linear in the text, never backtracks.
_NOT_ONE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# The same without tab, LF and CR, which a text of several lines legitimately has.
_NOT_PLAIN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")

# What word processors and terminals put into pasted text, mended instead of refused:
# Word's soft line break (U+000B, vertical tab), form feed and Unicode's line and paragraph
# separators are line breaks (a space on one line); BEL, BS, ESC and DEL are dropped. RFC
# 5545 forbids them all in a calendar's text, where one would break the whole feed.
_SOFT_BREAKS = re.compile("[\x0b\x0c\u2028\u2029]")
_DROPPED = re.compile("[\x07\x08\x1b\x7f]")

SINGLE_LINE_MESSAGE = _l(
    "Please keep this on one line: no line breaks, tabs or invisible control characters."
)
PLAIN_TEXT_MESSAGE = _l("Please remove the invisible control characters from this text.")


def clean_typed_text(value: str, *, multiline: bool) -> str:
    """`value` with the soft breaks turned into line breaks (or spaces, on one line) and
    BEL, BS, ESC and DEL removed. Any other control character stays, for the rules below
    to refuse with a message."""
    value = _DROPPED.sub("", value)
    return _SOFT_BREAKS.sub("\n" if multiline else " ", value)


def clean_text_fields(
    values: dict[str, object], single_line: Iterable[str] = (), multi_line: Iterable[str] = ()
) -> None:
    """Mend the typed text of these fields in `values` in place (clean_typed_text): the
    services apply it to what the CLI or an API passes, as the forms do to what is typed."""
    for names, multiline in ((single_line, False), (multi_line, True)):
        for name in names:
            value = values.get(name)
            if isinstance(value, str):
                values[name] = clean_typed_text(value, multiline=multiline)


def is_single_line(value: str | None) -> bool:
    return not value or _NOT_ONE_LINE.search(value) is None


def is_plain_text(value: str | None) -> bool:
    """Several lines are fine; other control characters are not."""
    return not value or _NOT_PLAIN.search(value) is None


def first_not_single_line(values: Mapping[str, object], names: Iterable[str]) -> str | None:
    """The first of `names` whose value (a string) is not one line of plain text."""
    for name in names:
        value = values.get(name)
        if isinstance(value, str) and not is_single_line(value):
            return name
    return None


def first_not_plain_text(values: Mapping[str, object], names: Iterable[str]) -> str | None:
    for name in names:
        value = values.get(name)
        if isinstance(value, str) and not is_plain_text(value):
            return name
    return None


class AddressError(ValueError):
    """The address cannot be used; str(err) is a sentence for the person who typed it."""


def normalise_address(raw: str | None) -> str:
    """A single, syntactically valid address we can send to (not lower-cased), or
    AddressError saying what to change.

    email-validator accepts RFC 2047 encoded words ("=?utf-8?q?x?=@example.org"), but a
    mail header decodes them into something else, so the message could never be built:
    such addresses are refused here, before anything is stored.
    """
    raw = (raw or "").strip()
    if len(raw) > EMAIL_MAX_LENGTH:
        raise AddressError(_("Enter a valid email address."))
    if not is_single_line(raw):
        raise AddressError(_("Enter a single email address."))
    if "=?" in raw:
        raise AddressError(
            _(
                "Email addresses containing “=?” cannot receive our messages; "
                "please use another address."
            )
        )
    try:
        address = validate_email(raw, check_deliverability=False).normalized
        mime.check_address_header(address, single=True)  # what the outbox will build
    except (EmailNotValidError, ValueError) as err:
        raise AddressError(_("Enter a valid email address.")) from err
    return address
