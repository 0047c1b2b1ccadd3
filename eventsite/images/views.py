"""/images/<name>: a picture's file, cached for a year (its name is its content's hash)."""

from __future__ import annotations

from flask import Blueprint, current_app, request
from werkzeug.exceptions import NotFound
from werkzeug.wrappers import Response

from eventsite.images import storage

bp = Blueprint("images", __name__)

IMMUTABLE = "public, max-age=31536000, immutable"


@bp.get("/images/<name>")
def serve(name: str) -> Response:
    if not storage.is_valid_name(name):
        raise NotFound()
    stored = storage.current().get(name)
    if stored is None:
        raise NotFound()
    response = current_app.response_class(stored.data, mimetype=stored.content_type)
    response.headers["Cache-Control"] = IMMUTABLE
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'"
    response.set_etag(name.split(".")[0])
    return response.make_conditional(request)
