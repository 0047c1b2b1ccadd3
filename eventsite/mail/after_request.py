"""Development delivery: send the mail a request queued, beside the response, not in it."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from flask import Flask, current_app, g

from eventsite.mail import sender

_running: set[threading.Thread] = set()
_running_lock = threading.Lock()


def register_after_request_delivery(app: Flask) -> None:
    """With MAIL_DELIVER_AFTER_REQUEST, deliver the messages this request queued.

    Delivery starts on a thread when the request is torn down, after the view has
    committed or rolled back, in a fresh app context and session: it sees the rows only if
    the request's transaction committed, and a rolled-back message simply is not there.
    It does not wait for the server to close the response: Werkzeug's development server
    can hold a connection open after a browser's form POST until the browser gives up on
    it, so a hook on the response's close would leave the mail sitting there. Whatever
    goes wrong is logged; what is left pending waits for `flask outbox send|work`.
    """

    @app.teardown_request
    def _deliver_beside_the_response(error: BaseException | None) -> None:
        ids = g.pop("queued_email_ids", None)
        if ids and error is None and current_app.config.get("MAIL_DELIVER_AFTER_REQUEST"):
            thread = threading.Thread(
                target=_deliver_quietly,
                args=(current_app._get_current_object(), list(ids)),
                name="eventsite-mail-after-request",
                daemon=True,
            )
            with _running_lock:
                _running.add(thread)
            thread.start()


def wait_for_deliveries(timeout: float = 10.0) -> None:
    """Wait for the after-request deliveries still running (tests; a clean shutdown)."""
    with _running_lock:
        threads = list(_running)
    for thread in threads:
        thread.join(timeout)


def _deliver_quietly(app: Flask, ids: Sequence[int]) -> None:
    try:
        with app.app_context():
            report = sender.deliver_messages(ids)
            if report.retried or report.failed:
                app.logger.warning("Email after the request: %s", report)
    except Exception:
        app.logger.exception("Email after the request failed; the outbox keeps the messages")
    finally:
        with _running_lock:
            _running.discard(threading.current_thread())
