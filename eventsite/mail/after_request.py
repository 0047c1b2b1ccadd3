"""Development delivery: one thread per process sends what requests committed, beside them."""

from __future__ import annotations

import logging
import os
import threading
from collections import deque
from collections.abc import Sequence

from flask import Flask, current_app, has_request_context
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from eventsite.extensions import db
from eventsite.mail import sender, services

log = logging.getLogger("eventsite.mail")


def register_after_request_delivery(app: Flask) -> None:
    """With MAIL_DELIVER_AFTER_REQUEST, deliver the messages a request queued once its
    transaction has committed.

    The session's `after_commit` event hands the ids over: a rolled-back message is never
    handed over, and mail queued outside a request (the worker, a command) is left to
    `flask outbox send|work`. One thread per process sends them, in the order they came;
    its queue holds MAIL_AFTER_REQUEST_QUEUE_SIZE messages, and what does not fit while
    the mail server is slow simply stays in the outbox for the worker. Nothing the request
    does waits for it, and the sender holds no database lock while it talks to the server
    (see `sender`). Whatever goes wrong is logged; what is left pending waits for
    `flask outbox send|work`.
    """
    if not event.contains(db.session, "after_commit", _hand_over_committed):
        event.listen(db.session, "after_commit", _hand_over_committed)
        event.listen(db.session, "after_transaction_end", _forget_uncommitted)


def _hand_over_committed(session: Session) -> None:
    ids = session.info.pop(services.QUEUED_IDS, None) or []
    pending = session.info.pop(services.QUEUED_PENDING, None) or []
    if not (ids or pending) or not has_request_context():
        return
    app = current_app._get_current_object()
    if app.config.get("MAIL_DELIVER_AFTER_REQUEST"):
        limit = int(app.config["MAIL_AFTER_REQUEST_QUEUE_SIZE"])
        _deliveries.submit(app, [*ids, *pending], limit)


def _forget_uncommitted(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outermost transaction ended without a commit
        session.info.pop(services.QUEUED_IDS, None)
        session.info.pop(services.QUEUED_PENDING, None)


def wait_for_deliveries(timeout: float = 10.0) -> bool:
    """Wait until the delivery thread has nothing left to do (tests; a clean shutdown)."""
    return _deliveries.wait_idle(timeout)


class _DeliveryThread:
    """One daemon thread and a bounded queue of (app, message ids); started on first use,
    and again in a process forked after it started (threads do not survive a fork)."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._condition = threading.Condition()
        self._batches: deque[tuple[Flask, list[int | tuple[str, int]]]] = deque()
        self._queued = 0  # messages in the batches
        self._busy = False
        self._thread: threading.Thread | None = None

    def submit(self, app: Flask, ids: Sequence[int | tuple[str, int]], limit: int) -> None:
        with self._condition:
            room = max(limit - self._queued, 0)
            taken, left = list(ids[:room]), len(ids) - room
            if taken:
                self._batches.append((app, taken))
                self._queued += len(taken)
                self._start()
                self._condition.notify()
        if left > 0:
            log.warning(
                "Email after the request: the delivery queue is full (%s messages); %s "
                "message(s) stay in the outbox for `flask outbox send|work`",
                limit,
                left,
            )

    def _start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(
                target=self._run, name="eventsite-mail-after-request", daemon=True
            )
            self._thread.start()

    def _run(self) -> None:
        while True:
            with self._condition:
                self._busy = False
                while not self._batches:
                    self._condition.notify_all()  # wait_idle()
                    self._condition.wait()
                app, ids = self._batches.popleft()
                self._queued -= len(ids)
                self._busy = True
            _deliver_quietly(app, ids)

    def wait_idle(self, timeout: float) -> bool:
        with self._condition:
            return self._condition.wait_for(
                lambda: not self._batches and not self._busy, timeout=timeout
            )


def _deliver_quietly(app: Flask, items: Sequence[int | tuple[str, int]]) -> None:
    """Deliver the outbox rows (ids) and the messages written on other rows ((source,
    key): moved to the outbox first, `services.queue_pending`)."""
    try:
        with app.app_context():
            try:
                ids = [item for item in items if isinstance(item, int)]
                pending = [item for item in items if not isinstance(item, int)]
                if pending:
                    ids += services.queue_pending(keys=pending)
                    db.session.commit()
                report = sender.deliver_messages(ids)
                if report.retried or report.failed:
                    app.logger.warning("Email after the request: %s", report)
            finally:
                db.session.remove()  # hand the connection back to the pool
    except Exception:
        app.logger.exception("Email after the request failed; the outbox keeps the messages")


_deliveries = _DeliveryThread()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_deliveries._reset)
