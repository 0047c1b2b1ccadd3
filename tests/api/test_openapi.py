"""The OpenAPI document: valid OpenAPI 3.1, every API route in it, and its reference page."""

from __future__ import annotations

import re

from flask import Flask
from openapi_spec_validator import validate

DOCUMENTATION_ROUTES = {"/api/openapi.json", "/api/docs"}
METHODS = {"get", "post", "put", "patch", "delete"}


def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[a-z_]+:)?([a-z_]+)>", r"{\1}", rule)


def test_document_is_valid_openapi_3_1(client) -> None:
    response = client.get("/api/openapi.json")

    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"] == "3.1.0"
    validate(document)


def test_every_api_route_is_documented_with_its_methods(app: Flask, client) -> None:
    paths = client.get("/api/openapi.json").get_json()["paths"]
    routes = {
        (_openapi_path(rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/") and rule.rule not in DOCUMENTATION_ROUTES
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    documented = {
        (path, method) for path, item in paths.items() for method in item if method in METHODS
    }

    assert routes
    assert routes == documented


def test_nullable_fields_use_the_3_1_type_lists(client) -> None:
    schemas = client.get("/api/openapi.json").get_json()["components"]["schemas"]
    capacity = schemas["RegistrationState"]["properties"]["capacity"]

    assert capacity["type"] == ["integer", "null"]
    assert "nullable" not in str(schemas)


def test_reference_page_lists_every_operation_without_scripts(client) -> None:
    document = client.get("/api/openapi.json").get_json()
    response = client.get("/api/docs")
    html = response.get_data(as_text=True)

    assert response.status_code == 200
    for path, item in document["paths"].items():
        for method in METHODS & item.keys():
            assert f"{method.upper()} {path}" in html
    assert "<script" not in html.split("</header>", 1)[-1].split("<footer", 1)[0]
    assert 'href="/api/openapi.json"' in html
    assert "<main" in html
