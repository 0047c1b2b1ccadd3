"""The fuzz suite covers the whole app: every POST and GET endpoint of the URL map has a
target, and every field of every form the pages show is one the target fuzzes. A new
route or a new field fails here until the suite learns it."""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from werkzeug.exceptions import HTTPException

from eventsite import create_app

from .harness import Site
from .test_public_forms import PUBLIC_TARGETS
from .test_query_params import QUERY_TARGETS
from .test_workspace_forms import WORKSPACE_TARGETS

pytestmark = pytest.mark.fuzz

FORM_TARGETS = {target.endpoint: target for target in PUBLIC_TARGETS + WORKSPACE_TARGETS}
PAGE_TARGETS = {target.endpoint: target for target in QUERY_TARGETS}

# Endpoints deliberately left out of the form and page fuzzing, with the reason. Add one only
# with a reason a reviewer accepts.
API_FUZZED = "the JSON API: schemathesis fuzzes it from its OpenAPI document (test_api_schema.py)"
ORGANISER_API = (
    "organiser_api.publish_event",
    "organiser_api.cancel_event",
    "organiser_api.approve_registration",
    "organiser_api.cancel_registration",
    "organiser_api.check_in_registration",
    "organiser_api.check_in_ticket",
    "organiser_api.create_event",
    "organiser_api.create_session",
    "organiser_api.reject_registration",
    "organiser_api.undo_check_in",
)
POST_NOT_FUZZED: dict[str, str] = dict.fromkeys(ORGANISER_API, API_FUZZED)
GET_NOT_FUZZED: dict[str, str] = {
    "organiser_api.events": API_FUZZED,
    "organiser_api.event": API_FUZZED,
    "organiser_api.registrations": API_FUZZED,
    "public_api.events": API_FUZZED,
    "public_api.event": API_FUZZED,
    "public_api.topics": API_FUZZED,
    "public_api.organisations": API_FUZZED,
    "api-docs.openapi_json": API_FUZZED,
    "api.reference": "no input: the reference page made from the OpenAPI document",
}

# Fields every form may carry without the target naming them.
IMPLICIT_FIELDS = {"csrf_token"}


@pytest.fixture(scope="module")
def url_map_app() -> Flask:
    return create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "x" * 32})


def endpoints(app: Flask, method: str) -> set[str]:
    return {rule.endpoint for rule in app.url_map.iter_rules() if method in rule.methods}


def test_every_post_endpoint_is_fuzzed(url_map_app: Flask) -> None:
    posts = endpoints(url_map_app, "POST")
    assert sorted(posts - FORM_TARGETS.keys() - POST_NOT_FUZZED.keys()) == []
    assert sorted(FORM_TARGETS.keys() - posts) == [], "targets of routes that are gone"


def test_every_get_endpoint_is_fuzzed(url_map_app: Flask) -> None:
    gets = endpoints(url_map_app, "GET")
    assert sorted(gets - PAGE_TARGETS.keys() - GET_NOT_FUZZED.keys()) == []
    assert sorted(PAGE_TARGETS.keys() - gets) == [], "targets of routes that are gone"


class FormFinder(HTMLParser):
    """The forms of a page: (method, action, field names)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, str, set[str]]] = []
        self._current: tuple[str, str, set[str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "form":
            method = (values.get("method") or "get").upper()
            self._current = (method, values.get("action") or "", set())
            self.forms.append(self._current)
        elif tag in ("input", "select", "textarea", "button") and values.get("name"):
            form = self._current
            owner = values.get("form")  # a field outside its form, tied by id: rare here
            if form is not None and owner is None:
                form[2].add(str(values["name"]))


def forms_on(html: str) -> list[tuple[str, str, set[str]]]:
    finder = FormFinder()
    finder.feed(html)
    return finder.forms


def page_forms(site: Site) -> Iterator[tuple[str, str, str, set[str]]]:
    """(page, method, endpoint the form sends to, its fields) for every form of every page."""
    adapter = site.app.url_map.bind("localhost")
    for target in QUERY_TARGETS:
        prepared = target.prepare(site)
        url = prepared.url.format(path=prepared.base.get("path", ""))
        response = site.client(prepared.user).get(url)
        body = response.get_data()  # to the end: the exports stream
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        for method, action, fields in forms_on(body.decode()):
            path = urlsplit(action).path or urlsplit(url).path
            try:
                endpoint, _args = adapter.match(path, method=method)
            except HTTPException as err:  # pragma: no cover - a broken form is a failure
                raise AssertionError(f"the form on {url} sends to {action}: {err}") from err
            yield url, method, endpoint, fields


def fuzzed_fields(site: Site, method: str, endpoint: str) -> set[str]:
    if method == "GET":
        target: Any = PAGE_TARGETS[endpoint]
        return set(target.params)
    target = FORM_TARGETS[endpoint]
    aliases = target.prepare(site).aliases
    return {aliases.get(name, name) for name in target.fields}


def test_every_field_of_every_form_is_fuzzed(site: Site, backend: str) -> None:
    if backend != "sqlite":
        pytest.skip("the pages' forms are the same on every database")
    missing = {}
    seen = set()
    for url, method, endpoint, fields in page_forms(site):
        seen.add(endpoint)
        unknown = fields - fuzzed_fields(site, method, endpoint) - IMPLICIT_FIELDS
        if unknown:
            missing[f"{method} {endpoint} (form on {url})"] = sorted(unknown)
    assert missing == {}
    # The walk did find the forms (a template change cannot empty this test).
    assert len(seen) >= 30, sorted(seen)
