"""Error pages and the DomainError base that services raise when a rule says no."""

from __future__ import annotations

from typing import Any

from flask import Flask, flash, render_template, request
from flask.globals import request_ctx
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable


class DomainError(Exception):
    """A business rule refused the action; str(err) is a sentence for the user.

    `field` names the form field the message belongs to, when there is one.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def attach_to_form(form: Any, err: DomainError) -> None:
    """A rule's message next to the field it is about, or as a flash when the form has
    no such field."""
    field = getattr(form, err.field, None) if err.field else None
    if field is not None and hasattr(field, "errors"):
        field.errors = [*field.errors, str(err)]
    else:
        flash(str(err), "error")


# How long a client should wait after a 503 for a database that did not answer.
RETRY_AFTER_DATABASE_SECONDS = 30

TITLES = {
    400: _l("Bad request"),
    403: _l("Not allowed"),
    404: _l("Page not found"),
    405: _l("Method not allowed"),
    413: _l("Too large"),
    422: _l("Cannot process this"),
    429: _l("Too many requests"),
    500: _l("Something went wrong"),
    503: _l("Service unavailable"),
}
# Any other status: Werkzeug's names and descriptions are English only.
OTHER_CLIENT_ERROR = _l("This request cannot be answered")
# Flask-WTF says why a form's CSRF token was refused in English; the visitor reads ours.
CSRF_REASONS = {
    "The CSRF token is missing.": _l(
        "This form was sent without its security token. Please reload the page and send it again."
    ),
    "The CSRF session token is missing.": _l(
        "This form was sent without its security token. Please reload the page and send it again."
    ),
    "The CSRF token has expired.": _l(
        "This form has expired. Please reload the page and send it again."
    ),
}
CSRF_OTHER = _l("This form could not be verified. Please reload the page and send it again.")
PLAIN = {"Content-Type": "text/plain; charset=utf-8"}
# Under this path every error is JSON (the API's clients read no HTML).
API_PREFIX = "/api/"


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def _http_error(err: HTTPException):  # type: ignore[no-untyped-def]
        code = err.code or 500
        if request.path.startswith(API_PREFIX):
            return json_error(err)
        # No URL adapter: the host is not one of TRUSTED_HOSTS, and no page can link.
        plain = request.path.endswith(".ics") or request.path.startswith("/healthz")
        if plain or request_ctx.url_adapter is None:
            return f"{code} {err.name}\n", code, PLAIN
        if code == 413:
            return too_large_page()
        response = render_template(
            "errors/error.html", code=code, title=title(code), description=_description(err)
        )
        return response, code, _retry_after(err)

    @app.errorhandler(OperationalError)
    def _database_unavailable(err: OperationalError):  # type: ignore[no-untyped-def]
        # Refused, timed out (DATABASE_CONNECT_TIMEOUT / DATABASE_STATEMENT_TIMEOUT), locked
        # or gone: an outage to wait out, not a fault of this page.
        from eventsite.extensions import db

        app.logger.error(
            "Database unavailable for %s %s: %s", request.method, request.path, err.orig or err
        )
        message = _("The site cannot load this page just now. Please try again in a moment.")
        retry = {"Retry-After": str(RETRY_AFTER_DATABASE_SECONDS)}
        if request.path.startswith(API_PREFIX):
            db.session.rollback()
            body, code, headers = json_error(ServiceUnavailable(message))
            return body, code, {**headers, **retry}
        try:
            db.session.rollback()
            # The page's header asks who is logged in, which may need the database too.
            body, code, headers = _http_error(ServiceUnavailable(message))
        except Exception as page_err:
            app.logger.warning("The 503 page failed too (%s); answering in plain text", page_err)
            return f"503 {message}\n", 503, {**retry, **PLAIN}
        return body, code, {**headers, **retry}

    @app.errorhandler(500)
    def _server_error(_err: Exception):  # type: ignore[no-untyped-def]
        # The failed request may have left the transaction broken; the page itself
        # (the header asks who is logged in) needs a usable session.
        from eventsite.extensions import db

        try:
            db.session.rollback()
            if request.path.startswith(API_PREFIX):
                return json_error(InternalServerError())
            return render_template("errors/error.html", code=500, title=title(500)), 500
        except Exception:  # the database or a template is down too: say so plainly
            app.logger.exception("The error page itself failed")
            return (
                "500 Something went wrong. Please try again in a moment.\n",
                500,
                {"Content-Type": "text/plain; charset=utf-8"},
            )


def json_error(err: HTTPException) -> tuple[dict[str, Any], int, dict[str, str]]:
    """An error as the API sends it: `{"code", "status", "message", "errors"?}`. The
    message is the one the code passed (flask-smorest's `abort(message=...)` or a
    DomainError's sentence), else the status's own description."""
    code = err.code or 500
    data = getattr(err, "data", None) or {}
    message = data.get("message") or (err.description if code != 500 else None)
    payload: dict[str, Any] = {
        "code": code,
        "status": err.name,
        "message": str(message or TITLES.get(code, err.name)),
    }
    errors = data.get("errors") or data.get("messages")
    if errors:
        payload["errors"] = errors
    headers = {**_retry_after(err), **dict(data.get("headers") or {})}
    allowed = getattr(err, "valid_methods", None)  # a 405 names what the URL takes
    if allowed:
        headers["Allow"] = ", ".join(allowed)
    return payload, code, headers


def title(code: int) -> str:
    """The error page's heading, in the visitor's language."""
    if code in TITLES:
        return str(TITLES[code])
    return str(OTHER_CLIENT_ERROR if code < 500 else TITLES[500])


def _description(err: HTTPException) -> str | None:
    """Our own sentence for the page, never Werkzeug's English default."""
    if isinstance(err, CSRFError):
        return str(CSRF_REASONS.get(err.description or "", CSRF_OTHER))
    if err.code == 500 or err.description == type(err).description:
        return None
    return err.description


def too_large_page(description: str | None = None) -> tuple[str, int]:
    """The 413 page: the request body was over MAX_CONTENT_LENGTH (or a form part over
    MAX_FORM_MEMORY_SIZE), refused before it was read."""
    if description is None:
        limit = request.max_content_length
        description = (
            _(
                "What you sent is too large: this page accepts at most %(kb)d kB. "
                "Please shorten it and try again.",
                kb=limit // 1024,
            )
            if limit
            else _("What you sent is too large. Please shorten it and try again.")
        )
    page = render_template("errors/error.html", code=413, title=title(413), description=description)
    return page, 413


def _retry_after(err: HTTPException) -> dict[str, str]:
    headers = {}
    if err.code == 429 and err.response is not None:
        retry = err.response.headers.get("Retry-After")
        if retry:
            headers["Retry-After"] = retry
    return headers
