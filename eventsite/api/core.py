"""The API's machinery: flask-smorest's Api without its app-wide error handler, blueprints
whose argument parser refuses unknown fields with a 400, and the public GETs' headers."""

from __future__ import annotations

from typing import Any

import flask_smorest
from flask import Flask, Response, current_app, request, url_for
from marshmallow import RAISE, Schema, ValidationError
from webargs.flaskparser import FlaskParser

from eventsite.extensions import limiter
from eventsite.i18n import gettext as _

PUBLIC_CACHE_CONTROL = "public, max-age=60"
MAX_PER_PAGE = 100


class Parser(FlaskParser):
    """Unknown query parameters and body fields are refused, not ignored (a misspelt filter
    would silently list everything), and any bad input is a 400 with the field's messages."""

    DEFAULT_UNKNOWN_BY_LOCATION: dict[str, str | None] = dict.fromkeys(
        FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, RAISE
    )
    DEFAULT_VALIDATION_STATUS = 400

    def handle_error(  # type: ignore[override]
        self,
        error: ValidationError,
        req: Any,
        schema: Schema,
        *,
        error_status_code: int | None,
        error_headers: dict[str, str] | None,
    ) -> None:
        flask_smorest.abort(
            400,
            message=_("The request has fields that are unknown or not valid."),
            errors=error.normalized_messages(),
            headers=error_headers,
        )


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = Parser()

    def arguments(self, schema: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        kwargs.setdefault("error_status_code", 400)
        return super().arguments(schema, **kwargs)


class Api(flask_smorest.Api):
    """flask-smorest's Api registers its JSON error handler for the whole app; the HTML
    pages keep theirs, and `errors.py` answers in JSON under /api/ instead."""

    def _register_error_handlers(self) -> None:
        pass


# The shape of every error under /api/ (errors.json_error), as flask-smorest documents it.
ErrorSchema = flask_smorest.error_handler.ErrorSchema


SPEC_INFO = {
    "description": (
        "Read the public catalogue (events, their agenda and speakers, topics, "
        "organisations) and, with a personal access token, manage one organisation's "
        "events and registrations."
    )
}


# Every address of the API, counted together per client address.
rate_limited = limiter.shared_limit(lambda: current_app.config["RATELIMIT_API"], scope="api")


def public_response(response: Response) -> Response:
    """A public GET: an ETag of the body (a 304 when the client has it), a short public
    cache lifetime and CORS for any site."""
    response.headers["Cache-Control"] = PUBLIC_CACHE_CONTROL
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Expose-Headers"] = "ETag"
    response.vary.add("Accept-Language")
    response.add_etag()
    return response.make_conditional(request)


def init_app(app: Flask, blueprints: list[Blueprint]) -> None:
    """One Api per app (its spec is built from this app's blueprints), kept in
    `app.extensions` where flask-smorest keeps it."""
    app.config.setdefault("API_TITLE", app.config.get("SITE_NAME") or "eventsite")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.1.0")
    app.config.setdefault("OPENAPI_URL_PREFIX", "/api")
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    api = Api(app, spec_kwargs={"info": SPEC_INFO})
    api.spec.components.security_scheme(
        "bearerAuth",
        {"type": "http", "scheme": "bearer", "description": "A personal access token."},
    )
    for blueprint in blueprints:
        api.register_blueprint(blueprint)


def spec() -> dict[str, Any]:
    """The current app's OpenAPI document."""
    return current_app.extensions["flask-smorest"]["apis"][""]["ext_obj"].spec.to_dict()


def paging(
    endpoint: str, args: dict[str, str], number: int, per_page: int, total: int
) -> dict[str, Any]:
    """A page's numbers and the links to its neighbours (the query kept); a page past the
    end is a 404 saying where the results end."""
    pages = max(1, -(-total // per_page))
    if total and number > pages:
        flask_smorest.abort(
            404,
            message=_(
                "There is no page %(number)d: the results end at page %(pages)d.",
                number=number,
                pages=pages,
            ),
        )

    def link(page: int) -> str:
        return url_for(endpoint, **args, page=page, per_page=per_page, _external=True)

    return {
        "page": number,
        "per_page": per_page,
        "total": total,
        "pages": pages,
        "next": link(number + 1) if number < pages else None,
        "previous": link(number - 1) if 1 < number <= pages else None,
    }
