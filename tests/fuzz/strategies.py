"""Hostile values for the fuzz suite, field by field: each kind of field has a strategy
for the random examples and a few canonical values every run sends (`Values`)."""

from __future__ import annotations

import string
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

# --- values ---------------------------------------------------------------------------------

# Control characters, line breaks, bidirectional marks, invisible and combining characters,
# markup, template and SQL syntax, and RFC 2047 encoded words.
NASTY_TEXT = (
    "",
    " ",
    "\t",
    "\x00",
    "a\x00b",
    "\r\n",
    "\r",
    "\n",
    "Title\r\nBcc: victim@example.org",
    "\x0b\x0c\x1b[31m\x7f",
    "\x85\x9f",
    "\u2028\u2029",
    "\u200b\u200c\u200d\ufeff",
    "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069",
    "\u202eevil.exe\u202dtxt",
    "\ufffd",
    "\U0001f600\U0001f1e8\U0001f1ed",
    "e\u0301\u0301\u0301",
    "İıßﬃ𝕏",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "{{ 7*7 }}{% raw %}",
    "%s%n%(x)s{0}",
    "' OR '1'='1' --",
    "\\",
    "%",
    "_",
    "../../etc/passwd",
    "%00%0d%0a",
    "=?utf-8?q?x?=",
    "=?utf-8?b?QUJD?=",
    "javascript:alert(1)",
    "https://evil.example/\u202e",
    "www.example.com",
    "[link](javascript:alert(1))",
)

NUMBERS = (
    "0",
    "-0",
    "1",
    "-1",
    "+5",
    " 7 ",
    "1.5",
    "1,5",
    "1_000",
    "0x1f",
    "1e3",
    "1e1000000",
    "-1e1000000",
    "1e-1000000",
    "inf",
    "-inf",
    "nan",
    "Infinity",
    "2147483647",
    "2147483648",
    "-2147483649",
    "4294967296",
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551616",
    "100000000000000000000",
    "-100000000000000000000",
    "9" * 400,
    "١٢٣",  # Arabic-Indic digits: int() reads them
    "１２３",  # fullwidth
    "²",
)

EMAILS = (
    "ada@example.org",
    "ADA@Example.ORG",
    " ada@example.org ",
    "ada+tag@example.org",
    "=?utf-8?q?x?=@example.org",
    "=?utf-8?b?QUJD?=@example.org",
    "=?iso-8859-1?q?=E9?=@example.org",
    "ada@=?utf-8?q?x?=.example.org",
    "ada@example.org\r\nBcc: victim@example.org",
    "ada@example.org\nBcc: victim@example.org",
    "ada@example.org, victim@example.org",
    "Ada <ada@example.org>",
    '"quoted local"@example.org',
    "ada@localhost",
    "ada@[127.0.0.1]",
    "a" * 64 + "@example.org",
    "a" * 65 + "@example.org",
    "ada@" + "a" * 63 + ".example.org",
    "ada@" + ("a" * 60 + ".") * 5 + "org",
    "ünïcode@exämple.org",
    "ада@пример.рф",
    "ada@xn--exmple-cua.org",
    "ada@@example.org",
    "@example.org",
    "ada@",
    "ada.@example.org",
    "ada@example.org\x00",
    "ada\u202e@example.org",
    "ada@example.org" + " " * 300,
)

LOCAL_DATETIMES = (
    "2027-05-12T09:00",
    "2027-05-12 09:00",
    "2027-05-12T09:00:00",
    "2027-05-12",
    "2027-03-28T02:30",  # a local time that does not exist in Europe (spring forward)
    "2027-10-31T02:30",  # ...and one that exists twice
    "0001-01-01T00:00",
    "1899-12-31T23:59",
    "1900-01-01T00:00",
    "2200-12-31T23:59",
    "2201-01-01T00:00",
    "9999-12-31T23:59",
    "10000-01-01T00:00",
    "2027-02-30T10:00",
    "2027-13-01T00:00",
    "2027-05-12T24:00",
    "2027-05-12T09:60",
    "2027-05-12T09:00Z",
    "2027-05-12T09:00+02:00",
    "2027-05-12T09:00:00.123456",
    "12/05/2027 09:00",
    "२०२७-०५-१२T09:00",  # Devanagari digits: strptime reads them
    "-2027-05-12T09:00",
)

BOOLEANS = ("y", "on", "1", "true", "True", "", "false", "0", "n", "off", "no")

# Fields a form does not have, sent anyway (prototype pollution, framework internals).
JUNK_NAMES = (
    "csrf_token",
    "__proto__",
    "_method",
    "id",
    "user_id",
    "is_admin",
    "organisation_id",
    "status",
    "next",
    "a" * 300,
    "x[]",
    "x.y",
    "",
    "\x00",
    "é",
)

REPEAT_PIECES = ("a", "ab ", "é", "\u202e", "x.com ", "\r\n", "0", "<b>", "\U0001f600", "a@b.c ")
LONG_LENGTHS = (255, 256, 501, 2_001, 5_001, 20_001, 65_536, 200_000)


@dataclass(frozen=True)
class Long:
    """A long string, kept as (piece, length) so a failing example prints short."""

    piece: str
    length: int

    @property
    def text(self) -> str:
        return (self.piece * (self.length // len(self.piece) + 1))[: self.length]


def long_text(max_size: int) -> SearchStrategy[Long]:
    lengths = [n for n in LONG_LENGTHS if n <= max_size] or [max_size]
    return st.builds(Long, st.sampled_from(REPEAT_PIECES), st.sampled_from(lengths))


def surrogate_escaped() -> SearchStrategy[str]:
    """Bytes that are not UTF-8, as Python holds them after a surrogateescape decode; sent,
    they are the raw bytes again."""
    return st.binary(min_size=1, max_size=12).map(
        lambda raw: raw.decode("utf-8", "surrogateescape")
    )


@dataclass(frozen=True)
class Values:
    """What a field takes: a strategy for the random examples, and the few hostile values
    every run sends, each alone in an otherwise valid form (`canonical_plans`)."""

    strategy: SearchStrategy[Any]
    canonical: tuple[Any, ...] = ()


# One line break, a header, a NUL: refused by a one-line field, and never a 500 anywhere
# (PostgreSQL refuses NUL in text: it must be caught before).
INJECTION = "Fuzz\r\nBcc: victim@example.org\x00"
ENCODED_WORD_EMAIL = "=?utf-8?q?x?=@example.org"


def any_text(max_size: int) -> SearchStrategy[Any]:
    """Text of every kind: the corpus above, any code point, control and format
    characters, bytes that are not UTF-8, and long runs up to `max_size`."""
    return st.one_of(
        st.sampled_from(NASTY_TEXT),
        st.text(max_size=40),  # every code point but surrogates, control characters included
        st.text(st.characters(categories=["Cc", "Cf", "Zl", "Zp", "Mn"]), max_size=10),
        surrogate_escaped(),
        long_text(max_size),
    )


def text(max_size: int = 200_000) -> Values:
    """Any text a person or a robot might type, from nothing to `max_size` characters."""
    return Values(any_text(max_size), (INJECTION,))


def buttons() -> Values:
    """A submit button's value: read for its presence only."""
    return Values(any_text(300))


def emails(max_size: int = 200_000) -> Values:
    strategy = st.one_of(
        st.sampled_from(EMAILS),
        st.emails(),
        st.builds(lambda local: f"{local}@example.org", st.text(max_size=20)),
        any_text(max_size),
    )
    return Values(strategy, (ENCODED_WORD_EMAIL, "ada@example.org\x00"))


def numbers(max_size: int = 200_000) -> Values:
    strategy = st.one_of(
        st.sampled_from(NUMBERS),
        st.integers().map(str),
        st.floats().map(repr),
        any_text(max_size),
    )
    # Past 32 bits (PostgreSQL's INTEGER) and past 64 (SQLite's).
    return Values(strategy, ("2147483648", "100000000000000000000"))


def local_datetimes(max_size: int = 200_000) -> Values:
    valid = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 12, 31)).map(
        lambda value: value.strftime("%Y-%m-%dT%H:%M")
    )
    strategy = st.one_of(st.sampled_from(LOCAL_DATETIMES), valid, any_text(max_size))
    return Values(strategy, ("9999-12-31T23:59",))


def choices(valid: Sequence[str], max_size: int = 200_000) -> Values:
    strategy = st.one_of(
        st.sampled_from(list(valid)),
        st.sampled_from([v.upper() for v in valid if v] + [f" {v}" for v in valid if v]),
        numbers(max_size).strategy,
        any_text(max_size),
    )
    return Values(strategy, ("\x00 none of them",))


def booleans(max_size: int = 200_000) -> Values:
    return Values(st.one_of(st.sampled_from(BOOLEANS), any_text(max_size)))


def urls(max_size: int = 200_000) -> Values:
    valid = ("https://example.org/live", "http://localhost:8080/x?y=1#z")
    hostile = (
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "https://exa mple.org",
        "https://example.org/\r\nX: y",
        "https://[::1",
        "https://" + "a" * 600 + ".org",
        "https://例え.テスト/パス",
        "//example.org",
        "ftp://example.org",
    )
    strategy = st.one_of(st.sampled_from(valid), st.sampled_from(hostile), any_text(max_size))
    return Values(strategy, ("https://example.org/a\x00b",))


def slugs(max_size: int = 200_000) -> Values:
    strategy = st.one_of(
        st.text(string.ascii_lowercase + string.digits + "-", max_size=20),
        st.sampled_from(("-", "--", "a--b", "Ünïcode", "a/b", "a?b", "a#b", ".", "..", "%2F")),
        any_text(max_size),
    )
    return Values(strategy, ("Ünïcode/..\x00",))


def dates(max_size: int = 200_000) -> Values:
    """A date as the listing's filters take it (YYYY-MM-DD)."""
    valid = st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31)).map(str)
    hostile = ("0001-01-01", "9999-12-31", "2027-02-30", "2027-1-5", "२०२७-०५-१२", "20270512")
    strategy = st.one_of(valid, st.sampled_from(hostile), any_text(max_size))
    return Values(strategy, ("9999-12-31",))


def path_segments(max_size: int = 5_000) -> Values:
    """A slug or token in the path."""
    strategy = st.one_of(slugs(max_size).strategy, st.sampled_from(("%00", "..", "a.ics")))
    return Values(strategy, ("a\x00b", Long("a", max_size)))


def next_paths() -> Values:
    """Where to go after logging in: only a path on this site may be followed."""
    hostile = (
        "//evil.example/",
        "/\\evil.example/",
        "/\\/evil.example",
        "https://evil.example/",
        "javascript:alert(1)",
        "/%0d%0aSet-Cookie:%20x=y",
        "/\r\nSet-Cookie: x=y",
        "/\x00",
        "/\u202e",
        "/manage/",
        "\t/evil.example",
        " //evil.example",
    )
    strategy = st.one_of(st.sampled_from(hostile), any_text(5_000))
    return Values(strategy, ("//evil.example/", "/\x00/" + "a" * 3_000))


# --- files -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FilePart:
    """A file part in a multipart body, where the form may expect text. The content is
    `piece` repeated, so that a large file prints short."""

    piece: bytes
    filename: str = "file.txt"
    content_type: str = "application/octet-stream"
    repeat: int = 1

    @property
    def content(self) -> bytes:
        return self.piece * self.repeat


# The smallest valid PNG (1×1 pixel): a logo that is accepted.
PNG_BYTES = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63606868f80f000384020057c9fa2e0000000049454e44ae426082"
)


def file_parts() -> SearchStrategy[FilePart]:
    return st.builds(
        FilePart,
        st.one_of(
            st.binary(max_size=64),
            st.sampled_from(
                (PNG_BYTES, b"GIF89a<script>", "plain text é".encode(), b"\xff\xfe\x00\x00")
            ),
        ),
        st.sampled_from(("file.txt", "", "../../etc/passwd", "a\x00.png", "é.png", "a" * 300)),
        st.sampled_from(("application/octet-stream", "text/plain", "image/png", "x/\r\ny")),
        st.sampled_from((1, 2, 100_000)),
    )


def files() -> Values:
    """A file field: files of every kind, and text where the file should be."""
    canonical = (
        FilePart(PNG_BYTES, "logo.png", "image/png"),
        FilePart(b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "l.svg"),
        FilePart(PNG_BYTES[:20], "truncated.png", "image/png"),
    )
    return Values(st.one_of(file_parts(), any_text(300)), canonical)
