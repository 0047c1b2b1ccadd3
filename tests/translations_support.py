"""The site's messages extracted as `make messages` does, and a pseudo-locale built from
them: every message shown as ⟦msgid⟧, so a page rendered with it shows at a glance (and to
a test) which text never went through gettext."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from babel import Locale
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_keywords, parse_mapping_cfg
from babel.messages.mofile import write_mo

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "eventsite" / "translations"
BABEL_CFG = TRANSLATIONS / "babel.cfg"
# The Makefile's `-k` options (on top of Babel's default keywords).
KEYWORDS = {
    **DEFAULT_KEYWORDS,
    **parse_keywords(["_l", "ngettext:1,2", "lazy_ngettext:1,2"]),
}
OPEN, CLOSE = "⟦", "⟧"


@lru_cache(maxsize=1)
def extract_messages() -> Catalog:
    """Every message of the Python code and the templates, as `make messages` finds them."""
    with BABEL_CFG.open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    catalog = Catalog(project="eventsite", fuzzy=False)
    for filename, lineno, message, comments, context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def pseudo(text: str) -> str:
    return f"{OPEN}{text}{CLOSE}"


def write_pseudo_catalogue(directory: Path, locale: str = "fr") -> Path:
    """`directory/<locale>/LC_MESSAGES/messages.mo` with every msgstr = ⟦msgid⟧ (each plural
    form ⟦msgid_plural⟧ but the first), placeholders kept; returns `directory`."""
    source = extract_messages()
    catalog = Catalog(locale=Locale.parse(locale), fuzzy=False)
    for message in _messages(source):
        if isinstance(message.id, tuple):
            singular, plural = message.id
            forms = [pseudo(singular)] + [pseudo(plural)] * (catalog.num_plurals - 1)
            catalog.add(message.id, tuple(forms), context=message.context)
        else:
            catalog.add(message.id, pseudo(message.id), context=message.context)
    target = directory / locale / "LC_MESSAGES"
    target.mkdir(parents=True, exist_ok=True)
    with (target / "messages.mo").open("wb") as mo:
        write_mo(mo, catalog)
    return directory


def _messages(catalog: Catalog) -> Iterable:
    return (message for message in catalog if message.id)
