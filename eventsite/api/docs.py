"""The API's reference page: rendered on the server from the OpenAPI document, so it needs
no script, no CDN and nothing the strict CSP would refuse."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from eventsite.api import core

bp = Blueprint("api", __name__, url_prefix="/api")

METHODS = ("get", "post", "put", "patch", "delete")


def _resolve(spec: dict[str, Any], node: Any) -> Any:
    """A `$ref` followed to the component it names (one level: enough for a reference)."""
    if isinstance(node, dict) and "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        return spec.get("components", {}).get("schemas", {}).get(name, {})
    return node


def operations(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """Every operation of the document, in path order: method, path, summary, its
    parameters and its responses with their schema's fields."""
    found = []
    for path, item in spec.get("paths", {}).items():
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            responses = []
            for status, response in operation.get("responses", {}).items():
                schema = _resolve(
                    spec, response.get("content", {}).get("application/json", {}).get("schema")
                )
                responses.append(
                    {
                        "status": status,
                        "description": response.get("description", ""),
                        "fields": sorted((schema or {}).get("properties", {})),
                    }
                )
            body = _resolve(
                spec,
                operation.get("requestBody", {})
                .get("content", {})
                .get("application/json", {})
                .get("schema"),
            )
            found.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "id": f"{method}-{path}".replace("/", "-").replace("{", "").replace("}", ""),
                    "summary": operation.get("summary", ""),
                    "description": operation.get("description", ""),
                    "tags": operation.get("tags", []),
                    "parameters": [
                        _resolve(spec, p)
                        for p in [*item.get("parameters", []), *operation.get("parameters", [])]
                    ],
                    "body": (body or {}).get("properties", {}),
                    "responses": responses,
                }
            )
    return found


@bp.get("/docs")
def reference() -> str:
    spec = core.spec()
    return render_template(
        "api/reference.html", spec=spec, operations=operations(spec), tags=spec.get("tags", [])
    )
