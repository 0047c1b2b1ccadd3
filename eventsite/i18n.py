"""The site's languages: which ones, how a request's language is chosen and remembered.

Order of choice: `?lang=` in the address → the logged-in account's language → the `lang`
cookie (set by a `?lang=` choice) → the browser's `Accept-Language` → English. The page
cache's fast path resolves the same way from the raw WSGI environment (`resolve`), so a
cached page is always the one Flask-Babel would render.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any, TypeVar

from babel import numbers
from babel.support import NullTranslations
from flask import Flask, Response, current_app, g, has_request_context, request
from flask.globals import _cv_app
from flask_babel import get_locale, get_translations
from flask_babel.speaklater import LazyString
from flask_login import current_user
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import dump_cookie, parse_accept_header

from eventsite import headers

DEFAULT = "en"
# Each language named in itself (the switcher shows these names).
LANGUAGES: dict[str, str] = {
    "en": "English",
    "zh_Hans": "简体中文",
    "fr": "Français",
    "es": "Español",
    "ru": "Русский",
    "ar": "العربية",
}
RIGHT_TO_LEFT = frozenset({"ar"})
# BCP 47 tags for `lang`, `hreflang` and Content-Language (Babel names: zh_Hans).
TAGS: dict[str, str] = {code: code.replace("_", "-") for code in LANGUAGES}
# What `?lang=` and Accept-Language may say for each language, lower-cased, "-" for "_".
ALIASES: dict[str, str] = {
    **{tag.lower(): code for code, tag in TAGS.items()},
    "zh": "zh_Hans",
    "zh-cn": "zh_Hans",
    "zh-sg": "zh_Hans",
    "zh-hans-cn": "zh_Hans",
}
COOKIE = "lang"
COOKIE_MAX_AGE = 365 * 24 * 3600
QUERY = "lang"
PRIVATE = "private, no-store"
# Longer values are nobody's language: not looked at (nor remembered in the memo).
MAX_VALUE = 35
MAX_HEADER = 500
# The offers Accept-Language is matched against (werkzeug falls back to primary subtags:
# "fr-CH" finds "fr", "zh-TW" finds "zh").
_OFFERS = [*TAGS.values(), "zh"]

# Where the request's language came from (g.language_source): the query ("?lang=") makes
# the page the same for everyone; the others depend on the visitor's headers.
FROM_QUERY = "query"

T = TypeVar("T")


def normalise(value: str | None) -> str | None:
    """The language code a `?lang=` or cookie value names ("zh-CN" → "zh_Hans", "FR" →
    "fr"), or None when it names none of ours."""
    if not value or len(value) > MAX_VALUE:
        return None
    tag = value.strip().replace("_", "-").lower()
    code = ALIASES.get(tag)
    if code is None and "-" in tag:
        code = ALIASES.get(tag.split("-", 1)[0])  # "fr-CA" → fr; "zh-TW" → zh_Hans
    return code


@lru_cache(maxsize=512)
def from_accept_language(header: str) -> str | None:
    """The best of our languages for an Accept-Language header, or None. Remembered: a
    site sees few different headers, and parsing one costs more than a cache hit."""
    match = parse_accept_header(header[:MAX_HEADER], LanguageAccept).best_match(_OFFERS)
    return normalise(match) if match else None


def resolve(
    query: str | None, account: str | None, cookie: str | None, accept_language: str | None
) -> tuple[str, str]:
    """(language code, where it came from), from what a request says, in order of choice."""
    for source, value in (("query", query), ("account", account), ("cookie", cookie)):
        code = normalise(value)
        if code is not None:
            return code, source
    if accept_language:
        # Bounded here, not in the memo: a 5 KB header costs no more than a short one.
        code = from_accept_language(accept_language[:MAX_HEADER])
        if code is not None:
            return code, "header"
    return DEFAULT, "default"


def query_language() -> str | None:
    """The language this request's `?lang=` chooses, or None."""
    return normalise(request.args.get(QUERY))


def cookie_language() -> str | None:
    """The language this browser chose before (the `lang` cookie), or None."""
    return normalise(request.cookies.get(COOKIE))


def _account_language() -> str | None:
    # The logged-in account's language (accounts.User.language); anonymous: None.
    if current_user and current_user.is_authenticated:
        return getattr(current_user, "language", None)
    return None


def select_locale() -> str | None:
    """Flask-Babel's locale selector. Outside a request (the mail worker, the command line)
    None: the default, unless the caller forces the recipient's (`flask_babel.force_locale`)."""
    if not has_request_context():
        return None
    code, source = resolve(
        request.args.get(QUERY),
        _account_language(),
        request.cookies.get(COOKIE),
        request.headers.get("Accept-Language"),
    )
    g.language_source = source
    return code


@lru_cache(maxsize=32)
def cookie_header(code: str, *, secure: bool) -> str:
    """The Set-Cookie value remembering a choice: a year, SameSite=Lax, Secure in production.
    Remembered: the fast path sends it with every newcomer's `?lang=` hit."""
    return dump_cookie(
        COOKIE, code, max_age=COOKIE_MAX_AGE, path="/", secure=secure, samesite="Lax"
    )


def secure_cookie(app: Flask) -> bool:
    return bool(app.config.get("SESSION_COOKIE_SECURE"))


def vary_on_visitor(source: str) -> bool:
    """Whether a page in a language from this source differs with the visitor's headers
    (then `Vary: Accept-Language, Cookie`): all but a `?lang=` choice."""
    return source != FROM_QUERY


def html_lang(code: str) -> str:
    return TAGS.get(code, code.replace("_", "-"))


def direction(code: str) -> str:
    return "rtl" if code in RIGHT_TO_LEFT else "ltr"


def current_code() -> str:
    """The language of the request (or of the message being rendered)."""
    return _for_language("eventsite_code", _locale_code)


def _locale_code() -> str:
    locale = get_locale()
    return str(locale) if locale is not None else DEFAULT


@lru_cache(maxsize=4096)
def _number(number: int, code: str) -> str:
    return numbers.format_decimal(number, locale=code)


def format_number(number: int) -> str:
    """A count in the language being rendered ("1,234", "1 234"): cards and counters show
    the same few numbers over and over."""
    return _number(number, current_code())


def vary_header(source: str) -> str:
    """The Vary of a page the same for every anonymous visitor with the same headers."""
    return "Accept-Language, Cookie" if vary_on_visitor(source) else "Cookie"


def _say_language(response: Response) -> Response:
    """Every page says its language (and what it varies with), before the page cache keeps
    it, so a cached copy says the same."""
    source = g.get("language_source")
    if source is None:  # nothing asked for the language: no text in one
        return response
    response.headers["Content-Language"] = html_lang(current_code())
    if vary_on_visitor(source):
        headers.add_vary(response.headers, "Accept-Language", "Cookie")
    return response


def _remember_choice(response: Response) -> Response:
    """A `?lang=` choice is remembered in the browser. Last of all after-request work, after
    the page cache kept the page: what it keeps carries no visitor's cookie."""
    cookie = choice_to_remember(request.args.get(QUERY), request.cookies.get(COOKIE))
    if cookie is not None:
        response.headers.add("Set-Cookie", cookie_header(cookie, secure=secure_cookie(current_app)))
        # This answer is this visitor's now (the cookie): nobody else may keep it.
        response.headers["Cache-Control"] = PRIVATE
        response.headers.pop("ETag", None)
    return response


def remember_in_browser(response: Response, code: str) -> None:
    """The browser keeps `code` as its language (an account's choice, say)."""
    if code != cookie_language():
        response.headers.add("Set-Cookie", cookie_header(code, secure=secure_cookie(current_app)))


def choice_to_remember(query: str | None, cookie: str | None) -> str | None:
    """The language a `?lang=` value chooses when the browser does not remember it yet."""
    chosen = normalise(query)
    return chosen if chosen is not None and chosen != normalise(cookie) else None


# --- Translating ---------------------------------------------------------------------------------
# Flask-Babel's gettext finds the catalogue anew on every call (the domain, the context,
# the locale, its name: some 4 µs), and a page asks a few hundred times. These find it once
# per request and language, and give the same text.


def _for_language(name: str, compute: Callable[[], T]) -> T:
    """`compute()` for the language being rendered (the request's, or the one
    `flask_babel.force_locale` forces: an email in its recipient's language), worked out
    once per context and language, kept beside Flask-Babel's own choice."""
    context = _cv_app.get(None)  # what `g` stands for, without the proxy's lookups
    state = context.g.__dict__.get("_flask_babel") if context is not None else None
    locale = getattr(state, "babel_locale", None)
    if locale is None:  # no context, or no language chosen in it yet
        return compute()
    kept = state.__dict__.get(name)
    if kept is None or kept[0] is not locale:
        kept = (locale, compute())
        setattr(state, name, kept)
    return kept[1]


def translations() -> NullTranslations:
    """The catalogue of the language being rendered."""
    return _for_language("eventsite_catalogue", get_translations)


def gettext(string: str, **variables: Any) -> str:
    text = translations().ugettext(string)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, num: int, **variables: Any) -> str:
    variables.setdefault("num", num)
    return translations().ungettext(singular, plural, num) % variables


def lazy_gettext(string: str, **variables: Any) -> LazyString:
    """Translated when shown (labels and messages defined at import time)."""
    return LazyString(gettext, string, **variables)


def lazy_ngettext(singular: str, plural: str, num: int, **variables: Any) -> LazyString:
    return LazyString(ngettext, singular, plural, num, **variables)


# Jinja's new-style gettext (`_()`, `gettext`, `ngettext`, `{% trans %}`): the text is
# always a format string, and is escaped where the template autoescapes.


def _formatted(context: Context, text: str, variables: dict[str, Any]) -> str:
    return (Markup(text) if context.eval_ctx.autoescape else text) % variables


@pass_context
def _template_gettext(context: Context, string: str, /, **variables: Any) -> str:
    return _formatted(context, translations().ugettext(string), variables)


@pass_context
def _template_ngettext(
    context: Context, singular: str, plural: str, num: int, /, **variables: Any
) -> str:
    variables.setdefault("num", num)
    return _formatted(context, translations().ungettext(singular, plural, num), variables)


@pass_context
def _template_pgettext(
    context: Context, message_context: str, string: str, /, **variables: Any
) -> str:
    return _formatted(context, translations().upgettext(message_context, string), variables)


@pass_context
def _template_npgettext(
    context: Context,
    message_context: str,
    singular: str,
    plural: str,
    num: int,
    /,
    **variables: Any,
) -> str:
    variables.setdefault("num", num)
    text = translations().unpgettext(message_context, singular, plural, num)
    return _formatted(context, text, variables)


def init_app(app: Flask) -> None:
    """Answer every page with its language's headers, and remember `?lang=` choices. Call
    after the page cache is set up (see `_remember_choice`). Flask-Babel is given
    `select_locale` where the extensions are initialised."""
    app.after_request(_say_language)
    app.after_request_funcs.setdefault(None, []).insert(0, _remember_choice)
    # In place of Flask-Babel's (and of the i18n extension's `_`, which looks `gettext` up
    # again on every call). Flask-Babel has set the environment up for new-style gettext.
    assert app.jinja_env.newstyle_gettext  # type: ignore[attr-defined]
    app.jinja_env.globals.update(
        _=_template_gettext,
        gettext=_template_gettext,
        ngettext=_template_ngettext,
        pgettext=_template_pgettext,
        npgettext=_template_npgettext,
        html_lang=lambda: html_lang(current_code()),
        text_direction=lambda: direction(current_code()),
    )
