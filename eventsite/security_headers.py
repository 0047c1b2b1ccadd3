"""Response headers that tell browsers to be strict with every page the site sends."""

from __future__ import annotations

from flask import Flask, Response, current_app, request

from eventsite import headers

# Everything the pages use comes from the site itself: one stylesheet, a few scripts, and
# the pictures, always served by its own /images/ route (even from an S3 store). No inline
# script or style attribute anywhere (JSON-LD is a data block, which CSP does not run).
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}
HSTS = "max-age=31536000"  # a year; with HSTS_ENABLED (production), only over HTTPS


def register_security_headers(app: Flask) -> None:
    """The page cache's after-request work runs last of all (it puts itself there), so
    these headers are on a page before the page cache keeps it, and every hit has them."""

    @app.after_request
    def _security_headers(response: Response) -> Response:
        if "token" in (request.view_args or {}):
            # A secret in the address (reset, confirmation, invitation, private feed): never
            # pass it on to another site in a Referer.
            response.headers["Referrer-Policy"] = "no-referrer"
        headers.set_defaults(response.headers, HEADERS.items())  # a view may be stricter
        if request.is_secure and current_app.config.get("HSTS_ENABLED"):
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        return response
