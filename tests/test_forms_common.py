"""The rules that keep input from ending in a 500: every form builds on
forms_common.Form, every text field checks its length first and its characters after, and
one function decides which email addresses we can send to."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import pytest
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField, TextAreaField

import eventsite
from eventsite import forms_common, input_rules
from eventsite.accounts import services as account_services
from eventsite.models import Question, QuestionKind
from eventsite.registration import forms as registration_forms

ENCODED = "=?utf-8?q?x?=@example.org"


@pytest.mark.parametrize(
    "address",
    [ENCODED, "=?utf-8?b?eA==?=@example.org", "a=?utf-8?q?x?=b@example.org"],
)
def test_the_shared_rule_refuses_encoded_words(app, address) -> None:
    with app.test_request_context("/"):
        with pytest.raises(input_rules.AddressError, match="cannot receive our messages"):
            input_rules.normalise_address(address)
        with pytest.raises(account_services.AccountError) as refused:
            account_services.normalise_email(address, field="new_email")
        assert refused.value.field == "new_email"
        assert input_rules.normalise_address(" Ada@Example.org ") == "Ada@example.org"


def _all_form_classes() -> list[type[FlaskForm]]:
    for module in pkgutil.walk_packages(eventsite.__path__, "eventsite."):
        if module.name.endswith("forms"):
            importlib.import_module(module.name)
    found: list[type[FlaskForm]] = []
    pending = list(FlaskForm.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__.startswith("eventsite.") and cls.__name__ != "EventRegistrationForm":
            found.append(cls)
    return found


def _instances(app) -> list[FlaskForm]:
    questions = [
        Question(id=n + 1, kind=kind, label=str(kind), options=["a", "b"], is_required=False)
        for n, kind in enumerate(QuestionKind)
    ]
    forms: list[FlaskForm] = []
    for cls in _all_form_classes():
        forms.append(cls(formdata=None))
    forms.append(registration_forms.registration_form_for(questions, formdata=None))
    return forms


def test_every_form_builds_on_the_shared_base(app) -> None:
    classes = _all_form_classes()
    assert len(classes) > 20
    assert [c for c in classes if not issubclass(c, forms_common.Form)] == []


def test_every_text_field_checks_its_length_first_then_its_characters(app) -> None:
    problems: list[str] = []
    with app.test_request_context("/"):
        for form in _instances(app):
            for field in form:
                if not isinstance(field, StringField):
                    continue
                where = f"{type(form).__name__}.{field.name}"
                validators: list[Any] = list(field.validators)
                if not validators or not isinstance(validators[0], forms_common.MaxLength):
                    problems.append(f"{where}: MaxLength is not first")
                kinds = {type(v) for v in validators}
                if isinstance(field, TextAreaField):
                    wanted = {forms_common.PlainText}
                elif isinstance(field, PasswordField) or field.type == "HiddenField":
                    wanted = set()  # never shown again nor sent anywhere; length only
                elif field.name in ("website",) and type(form).__name__.endswith(
                    "RegistrationForm"
                ):
                    wanted = set()  # the honeypot: anything in it is refused anyway
                else:
                    wanted = {forms_common.SingleLine, forms_common.EmailAddress}
                if wanted and not kinds & wanted:
                    problems.append(f"{where}: no {sorted(w.__name__ for w in wanted)}")
    assert problems == []


@pytest.mark.parametrize(
    "lang, tag, message",
    [
        ("en", "en", "This field is required."),
        ("fr", "fr", "Ce champ est requis."),
        ("ar", "ar", "هذا الحقل مطلوب."),
    ],
)
def test_wtforms_messages_are_in_the_pages_language(lang, tag, message, client) -> None:
    """WTForms' built-in messages come from its own catalogue in the page's language."""
    response = client.post(f"/login?lang={lang}", data={"email": "", "password": ""})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert f'<html lang="{tag}" ' in body
    assert message in body
