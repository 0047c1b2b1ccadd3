"""The rules that keep input from ending in a 500: every form builds on
forms_common.Form, every text field checks its length first and its characters after, and
one function decides which email addresses we can send to."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField, TextAreaField
from wtforms.i18n import messages_path

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


def test_wtforms_messages_come_from_our_catalogue(pseudo_locale, client) -> None:
    """WTForms' built-in messages are looked up in the site's catalogue, in the page's
    language (here the pseudo-locale, where every message reads ⟦msgid⟧)."""
    response = client.post(
        "/login", data={"email": "", "password": ""}, headers={"Accept-Language": "ru"}
    )
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert '<html lang="ru"' in body
    assert "⟦This field is required.⟧" in body


def test_wtforms_messages_are_listed_as_wtforms_writes_them() -> None:
    """forms_common.WTFORMS_MESSAGES gets WTForms' messages into our catalogue: each must be
    WTForms' own msgid, word for word (an upgrade that rewords one fails here)."""
    with Path(messages_path(), "wtforms.pot").open() as pot:
        wtforms_ids = {message.id for message in read_po(pot) if message.id}
    tree = ast.parse(Path(forms_common.__file__).read_text())
    listing = next(
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        and any(getattr(target, "id", None) == "WTFORMS_MESSAGES" for target in node.targets)
    )
    assert isinstance(listing, ast.Tuple)
    listed = [
        call.args[0].value if len(call.args) == 1 else (call.args[0].value, call.args[1].value)
        for call in listing.elts
        if isinstance(call, ast.Call)
    ]
    assert len(listed) == len(forms_common.WTFORMS_MESSAGES)
    assert [m for m in listed if m not in wtforms_ids] == []


# --- long lists of choices --------------------------------------------------------------------


def _country_forms(pairs: list[tuple[str, str]]) -> tuple[type, type]:
    from wtforms import SelectField
    from wtforms.validators import InputRequired

    class Kept(forms_common.Form):
        country = forms_common.ManyOptionsSelectField("Country", validators=[InputRequired()])

    class Plain(forms_common.Form):
        country = SelectField("Country", validators=[InputRequired()])

    return Kept, Plain


@pytest.mark.parametrize("chosen", [None, "", "KE", "X&<Y>", "not listed"])
def test_a_long_list_draws_what_wtforms_draws(app, chosen) -> None:
    from werkzeug.datastructures import MultiDict

    pairs = [("CH", "Switzerland"), ("KE", "Kenya"), ("X&<Y>", "Odd <b>name</b> & co")]
    kept_form, plain_form = _country_forms(pairs)
    with app.test_request_context("/", method="POST"):
        formdata = MultiDict() if chosen is None else MultiDict({"country": chosen})
        kept, plain = kept_form(formdata=formdata), plain_form(formdata=formdata)
        for form in (kept, plain):
            form.country.choices = forms_common.long_choices("—", pairs)
        assert str(kept.country(class_="wide")) == str(plain.country(class_="wide"))
        assert kept.validate() == plain.validate()
        assert kept.country.errors == plain.country.errors
