"""Every message the site can show is translated in every catalogue, with the same
placeholders, the right number of plural forms, and compiles.

The messages are extracted here, in memory, exactly as `make messages` does (babel.cfg and
the Makefile's keywords), so a string added to the code without `make messages` and a
translation fails here, naming the message and the language.

Placeholders (`%(name)s`, `%(num)d`, `%s`, `%%`, `{name}`) must be the same in a translation
as in its source, counted, in any order. Every form of a plural message is compared with
msgid_plural (French's first form also says 0, Chinese's only form says every number: English's
singular is no guide); the one exception: **a plural form that the
language's rule uses for exactly one number** (Arabic's zero, one and two; Spanish's one)
may leave out the placeholders that say a number (integer ones: `%(num)d`, `%(max)d`…;
and `%(count)s`, the number as Babel formats it), as "one character" or "مكانان" say the
number in words. A form that covers several numbers (French's one is 0 and
1, Russian's one is 1, 21, 31…) keeps them. Which numbers a form covers is read off the
catalogue's own Plural-Forms expression, for n in 0…2000 and a few millions.

The number of plural forms of each catalogue is Babel's (`babel.messages.plurals`, what
`pybabel init` writes) and is the number of CLDR plural categories (`Locale.plural_form`)
that whole numbers fall in: Russian's CLDR "other" is only for fractions, which gettext's
integer n never is, so Russian has 3 forms for CLDR's 4 categories. Each form must stand
for exactly one CLDR category.
"""

from __future__ import annotations

import gettext
import io
import re
from collections import Counter
from pathlib import Path

import pytest
from babel import Locale
from babel.messages.catalog import Catalog, Message
from babel.messages.mofile import read_mo, write_mo
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po, write_po

from .translations_support import TRANSLATIONS, extract_messages

LOCALES = ("zh_Hans", "fr", "es", "ru", "ar")
PLACEHOLDER = re.compile(
    r"%\((?P<name>\w+)\)[#0 +-]*\d*(?:\.\d+)?(?P<conv>[diouxXeEfFgGcrsa])"
    r"|%(?:[#0 +-]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]|%)"
    r"|\{\w*\}"
)
INTEGER_CONVERSIONS = frozenset("diouxX")
# `%(count)s`: the number formatted by Babel for the language (registration.rules).
NUMBER_NAMES = frozenset({"num", "count"})
SAMPLE_NUMBERS = (*range(2001), 10**6, 2 * 10**6, 10**7)


def placeholders(text: str) -> Counter[str]:
    return Counter(match.group(0) for match in PLACEHOLDER.finditer(text))


def number_placeholders(text: str) -> Counter[str]:
    """The placeholders that say a number: integer ones, and `num`/`count` however formatted."""
    return Counter(
        m.group(0)
        for m in PLACEHOLDER.finditer(text)
        if m.group("conv") in INTEGER_CONVERSIONS or m.group("name") in NUMBER_NAMES
    )


def forms_for_one_number(catalog: Catalog) -> set[int]:
    """The plural forms the catalogue's rule picks for exactly one of SAMPLE_NUMBERS."""
    plural = gettext.c2py(catalog.plural_expr)
    numbers: dict[int, set[int]] = {}
    for n in SAMPLE_NUMBERS:
        numbers.setdefault(plural(n), set()).add(n)
    return {form for form, ns in numbers.items() if len(ns) == 1}


def read_catalogue(directory: Path, locale: str) -> Catalog:
    with (directory / locale / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return read_po(po, locale=locale)


def translation_problems(directory: Path, locale: str, source: Catalog) -> list[str]:
    """Every message of `source` that this catalogue lacks, leaves empty, marks fuzzy or
    keeps only as obsolete, and every translation whose placeholders differ."""
    catalog = read_catalogue(directory, locale)
    single_number_forms = forms_for_one_number(catalog)
    problems = []
    for message in source:
        if not message.id:
            continue
        key = message.id[0] if isinstance(message.id, tuple) else message.id
        translated = catalog.get(message.id, context=message.context)
        if translated is None or not translated.id:
            where = "only obsolete" if key in catalog.obsolete else "missing"
            problems.append(f"{locale}: {where}: {key!r}")
        elif translated.fuzzy:
            problems.append(f"{locale}: fuzzy: {key!r}")
        elif isinstance(message.id, tuple) != isinstance(translated.id, tuple):
            problems.append(f"{locale}: singular/plural differs from the source: {key!r}")
        else:
            problems.extend(
                f"{locale}: {problem}: {key!r}"
                for problem in _message_problems(message, translated, single_number_forms)
            )
    return problems


def _message_problems(source: Message, translated: Message, single: set[int]) -> list[str]:
    strings = translated.string if isinstance(translated.string, tuple) else (translated.string,)
    if not all(strings):
        return ["empty"]
    if not isinstance(source.id, tuple):
        wanted = placeholders(source.id)
        found = placeholders(strings[0])
        return [] if found == wanted else [f"placeholders {dict(found)} for {dict(wanted)}"]
    problems = []
    original = source.id[1]  # msgid_plural: a language's first form may cover many numbers
    for form, text in enumerate(strings):
        wanted, found = placeholders(original), placeholders(text)
        if found == wanted or (form in single and _says_number_in_words(original, text)):
            continue
        problems.append(f"form {form}: placeholders {dict(found)} for {dict(wanted)}")
    return problems


def _says_number_in_words(original: str, text: str) -> bool:
    """Only placeholders of numbers left out; nothing else missing, nothing added."""
    wanted_numbers, found_numbers = number_placeholders(original), number_placeholders(text)
    others_wanted = placeholders(original) - wanted_numbers
    others_found = placeholders(text) - found_numbers
    return others_found == others_wanted and not found_numbers - wanted_numbers


def plural_form_problems(directory: Path, locale: str) -> list[str]:
    catalog = read_catalogue(directory, locale)
    babel_locale = Locale.parse(locale)
    plural = gettext.c2py(catalog.plural_expr)
    problems = []
    expected = get_plural(babel_locale).num_plurals
    if catalog.num_plurals != expected:
        problems.append(f"{locale}: {catalog.num_plurals} plural forms, Babel says {expected}")
    categories: dict[int, set[str]] = {}
    for n in SAMPLE_NUMBERS:
        categories.setdefault(plural(n), set()).add(babel_locale.plural_form(n))
    whole_number_categories = set().union(*categories.values())
    if len(whole_number_categories) != catalog.num_plurals:
        problems.append(
            f"{locale}: {catalog.num_plurals} plural forms for the CLDR categories "
            f"{sorted(whole_number_categories)}"
        )
    for form, tags in sorted(categories.items()):
        if len(tags) != 1 or form >= catalog.num_plurals:
            problems.append(f"{locale}: plural form {form} stands for {sorted(tags)}")
    return problems


def compile_problems(directory: Path, locale: str) -> list[str]:
    """What `pybabel compile` would refuse; the compiled catalogue must read back."""
    catalog = read_catalogue(directory, locale)
    problems = [
        f"{locale}: {message.id!r}: {error}"
        for message, errors in catalog.check()
        for error in errors
        if not message.fuzzy  # not compiled; the translation check names it
    ]
    mo = io.BytesIO()
    write_mo(mo, catalog)
    mo.seek(0)
    compiled = read_mo(mo)
    translated = [m for m in catalog if m.id and m.string and not m.fuzzy]
    if len([m for m in compiled if m.id]) != len(translated):
        problems.append(f"{locale}: the compiled catalogue lost messages")
    return problems


# --- the site's catalogues ---------------------------------------------------------------


@pytest.mark.parametrize("locale", LOCALES)
def test_every_message_is_translated_with_the_same_placeholders(locale: str) -> None:
    problems = translation_problems(TRANSLATIONS, locale, extract_messages())
    assert problems == [], f"{len(problems)} problems:\n" + "\n".join(problems)


@pytest.mark.parametrize("locale", LOCALES)
def test_plural_forms_are_the_languages_own(locale: str) -> None:
    assert plural_form_problems(TRANSLATIONS, locale) == []


@pytest.mark.parametrize("locale", LOCALES)
def test_every_catalogue_compiles(locale: str) -> None:
    assert compile_problems(TRANSLATIONS, locale) == []


def test_there_is_a_catalogue_for_each_language_and_no_other() -> None:
    found = {p.parent.parent.name for p in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po")}
    assert found == set(LOCALES)


def test_every_template_that_translates_is_extracted() -> None:
    """Jinja's extractor silently skips a template it cannot parse (an unknown tag): every
    template calling gettext must give messages."""
    templates = TRANSLATIONS.parent.parent / "templates"
    extracted = {
        filename for message in extract_messages() for filename, _line in message.locations
    }
    calling = {
        str(path.relative_to(templates.parent))
        for path in templates.rglob("*")
        if path.is_file() and re.search(r"\b(_|gettext|ngettext)\(", path.read_text())
    }
    assert sorted(calling - extracted) == []


# --- the checks themselves, on a throwaway catalogue --------------------------------------


def _source(*messages: str | tuple[str, str]) -> Catalog:
    source = Catalog()
    for message in messages:
        source.add(message)
    return source


def _write(directory: Path, locale: str, entries: list[tuple[object, object, bool]]) -> None:
    catalog = Catalog(locale=Locale.parse(locale))
    for msgid, msgstr, fuzzy in entries:
        catalog.add(msgid, msgstr, flags=("fuzzy",) if fuzzy else ())
    target = directory / locale / "LC_MESSAGES"
    target.mkdir(parents=True)
    with (target / "messages.po").open("wb") as po:
        write_po(po, catalog)


def test_the_check_names_missing_empty_fuzzy_and_obsolete_messages(tmp_path: Path) -> None:
    source = _source("Missing one.", "Empty one.", "Fuzzy one.", "Gone one.", "Fine.")
    _write(
        tmp_path,
        "fr",
        [("Empty one.", "", False), ("Fuzzy one.", "Flou.", True), ("Fine.", "Bien.", False)],
    )
    po = tmp_path / "fr" / "LC_MESSAGES" / "messages.po"
    po.write_text(po.read_text() + '\n#~ msgid "Gone one."\n#~ msgstr "Parti."\n')
    assert translation_problems(tmp_path, "fr", source) == [
        "fr: missing: 'Missing one.'",
        "fr: empty: 'Empty one.'",
        "fr: fuzzy: 'Fuzzy one.'",
        "fr: only obsolete: 'Gone one.'",
    ]


def test_the_check_compares_placeholders(tmp_path: Path) -> None:
    source = _source("Hello %(name)s.", "100%% sure, %(n)d times.", "Use {slug}.")
    _write(
        tmp_path,
        "fr",
        [
            ("Hello %(name)s.", "Bonjour %(nom)s.", False),
            ("100%% sure, %(n)d times.", "%(n)d fois, sûr à 100 %.", False),
            ("Use {slug}.", "Utilisez {slug}.", False),
        ],
    )
    problems = translation_problems(tmp_path, "fr", source)
    assert [p.split(": ")[-1] for p in problems] == [
        "'Hello %(name)s.'",
        "'100%% sure, %(n)d times.'",
    ]


def test_only_a_form_for_one_number_may_say_the_number_in_words(tmp_path: Path) -> None:
    days = ("%(num)d day left.", "%(num)d days left.")
    source = _source(days)
    # Arabic: zero, one and two are each one number; few, many and other are not.
    _write(
        tmp_path,
        "ar",
        [
            (
                days,
                ("لا أيام", "يوم واحد", "يومان", "%(num)d أيام", "%(num)d يومًا", "%(num)d يوم"),
                False,
            )
        ],
    )
    # Russian: the first form is 1, 21, 31…: the number must stay.
    _write(tmp_path, "ru", [(days, ("Один день.", "%(num)d дня.", "%(num)d дней."), False)])
    assert translation_problems(tmp_path, "ar", source) == []
    assert translation_problems(tmp_path, "ru", source) == [
        "ru: form 0: placeholders {} for {'%(num)d': 1}: '%(num)d day left.'"
    ]


def test_the_plural_forms_must_be_the_languages(tmp_path: Path) -> None:
    _write(tmp_path, "ru", [])
    po = tmp_path / "ru" / "LC_MESSAGES" / "messages.po"
    header = re.sub(
        r"Plural-Forms: [^\\]*", "Plural-Forms: nplurals=2; plural=(n != 1);", po.read_text()
    )
    po.write_text(header)
    problems = plural_form_problems(tmp_path, "ru")
    assert problems[0] == "ru: 2 plural forms, Babel says 3"
    assert any("stands for" in problem for problem in problems)
