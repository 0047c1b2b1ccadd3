"""The translation lookups (`i18n.gettext` and the templates' `_()`), found once per request
and language: the same text as Flask-Babel's, and the language a message is forced into."""

from __future__ import annotations

import flask_babel
from flask import render_template_string

from eventsite import i18n


def test_the_same_text_as_flask_babel_in_every_language(app) -> None:
    for code in i18n.LANGUAGES:
        # Each request its own context, as in production (the tests keep one app context).
        with app.app_context(), app.test_request_context(f"/?lang={code}"):
            assert i18n.current_code() == code
            for message in ("Upcoming events", "Log in", "Calendar feed"):
                assert i18n.gettext(message) == flask_babel.gettext(message)
            assert i18n.ngettext(
                "%(num)d upcoming event", "%(num)d upcoming events", 3
            ) == flask_babel.ngettext("%(num)d upcoming event", "%(num)d upcoming events", 3)
            assert i18n.format_number(1234567) == flask_babel.format_number(1234567)


def test_a_forced_language_is_followed_and_given_back(app) -> None:
    with app.app_context(), app.test_request_context("/?lang=fr"):
        assert i18n.gettext("Log in") == "Se connecter"
        with flask_babel.force_locale("es"):  # an email in its recipient's language
            assert i18n.current_code() == "es"
            assert i18n.gettext("Log in") == flask_babel.gettext("Log in") != "Se connecter"
            assert render_template_string("{{ _('Log in') }}") == flask_babel.gettext("Log in")
        assert i18n.gettext("Log in") == "Se connecter"
        assert render_template_string("{{ _('Log in') }}") == "Se connecter"


def test_templates_escape_what_they_format_and_count(app) -> None:
    with app.app_context(), app.test_request_context("/?lang=en"):
        page = render_template_string(
            "{{ _('Website of %(name)s', name=name) }}|{{ ngettext('%(num)d past event',"
            " '%(num)d past events', 2) }}|{% trans count=1 %}{{ count }} place{% pluralize %}"
            "{{ count }} places{% endtrans %}",
            name="<b>Lab</b>",
        )
        assert page == "Website of &lt;b&gt;Lab&lt;/b&gt;|2 past events|1 place"
    label = i18n.lazy_gettext("Log in")  # defined once, translated where it is shown
    with app.app_context(), app.test_request_context("/?lang=fr"):
        assert render_template_string("{{ label }}", label=label) == "Se connecter"
        assert str(label) == "Se connecter"


def test_outside_a_request_the_default_language(app) -> None:
    with app.app_context():
        assert i18n.gettext("Log in") == "Log in"
        assert i18n.current_code() == i18n.DEFAULT
