"""Development delivery: send the mail a request queued once its response has gone out."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from flask import Flask, Response, current_app, g

from eventsite.mail import sender


def register_after_request_delivery(app: Flask) -> None:
    """With MAIL_DELIVER_AFTER_REQUEST, deliver the messages this request queued.

    Delivery runs when the server closes the response, in a fresh app context and
    session: it sees the rows only if the request's transaction committed, and a
    rolled-back message simply is not there. Whatever goes wrong is logged; the response
    has already been sent, and what is left pending waits for `flask outbox send|work`.
    """

    @app.after_request
    def _deliver_after_response(response: Response) -> Response:
        ids = g.pop("queued_email_ids", None)
        if ids and current_app.config.get("MAIL_DELIVER_AFTER_REQUEST"):
            response.call_on_close(
                partial(_deliver_quietly, current_app._get_current_object(), ids)
            )
        return response


def _deliver_quietly(app: Flask, ids: Sequence[int]) -> None:
    try:
        with app.app_context():
            report = sender.deliver_messages(ids)
            if report.retried or report.failed:
                app.logger.warning("Email after the request: %s", report)
    except Exception:
        app.logger.exception("Email after the request failed; the outbox keeps the messages")
